"""Normalized, immutable records of what a source read from a repository.

Everything here is plain Python: the Django side turns these into rows, the source side builds
them from API answers, and neither needs to know about the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

# Squash merges on GitHub end the title with the pull request number: "Fix x (#1234)".
_PR_NUMBER_AT_END = re.compile(r"\(#(\d+)\)\s*$")
# C0 controls but tab and line feed: PostgreSQL refuses NUL, mail headers and terminals misread
# the rest, and Markdown takes a lone CR for a line ending (it could end a code block early).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


class SourceError(Exception):
    """A repository could not be read; the message is meant for the operator, in one line."""


def clean_text(text: str) -> str:
    """Text as every record holds it: LF line endings, no control characters but tab and LF."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _clean_fields(record, *names: str) -> None:
    for name in names:
        value = getattr(record, name)
        if isinstance(value, str):
            object.__setattr__(record, name, clean_text(value))
        elif isinstance(value, tuple):
            object.__setattr__(record, name, tuple(clean_text(v) if isinstance(v, str) else v for v in value))


def parse_pr_number(title: str) -> int | None:
    match = _PR_NUMBER_AT_END.search(title)
    return int(match.group(1)) if match else None


def split_message(message: str) -> tuple[str, str]:
    """Return (title, body) of a commit message: git's first line is the title."""
    title, _, body = message.strip().partition("\n")
    return title.strip(), body.strip("\n")


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str
    additions: int
    deletions: int
    # GitHub omits the patch of binary files and of very large diffs.
    patch: str | None = None
    previous_path: str | None = None

    def __post_init__(self):
        _clean_fields(self, "path", "status", "patch", "previous_path")

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "additions": self.additions,
            "deletions": self.deletions,
            "patch": self.patch,
            "previous_path": self.previous_path,
        }


@dataclass(frozen=True)
class CommitRecord:
    sha: str
    message: str
    author_name: str
    author_login: str
    authored_at: datetime
    committed_at: datetime
    html_url: str
    additions: int
    deletions: int
    files: tuple[FileChange, ...] = field(default=())

    def __post_init__(self):
        _clean_fields(self, "message", "author_name", "author_login")

    @property
    def title(self) -> str:
        return split_message(self.message)[0]

    @property
    def pr_number(self) -> int | None:
        return parse_pr_number(self.title)


@dataclass(frozen=True)
class IssueRecord:
    number: int
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    author_login: str
    comments: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    html_url: str
    is_pull_request: bool

    def __post_init__(self):
        _clean_fields(self, "title", "body", "state", "labels", "author_login")


@dataclass(frozen=True)
class RepositoryInfo:
    full_name: str
    default_branch: str


@dataclass(frozen=True)
class RepositorySnapshot:
    """What one fetch of one repository returned, with the cost of getting it."""

    full_name: str
    default_branch: str
    since: datetime
    until: datetime
    commits: tuple[CommitRecord, ...]
    issues: tuple[IssueRecord, ...]
    requests: int = 0
    not_modified: int = 0
    retries: int = 0
