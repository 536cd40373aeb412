"""Normalized, immutable records of what a source read from a repository.

Everything here is plain Python: the Django side turns these into rows, the source side builds
them from API answers, and neither needs to know about the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

# Squash merges on GitHub end the title with the pull request number: "Fix x (#1234)".
_PR_SUFFIX = re.compile(r"\(#(\d+)\)\s*$")


class SourceError(Exception):
    """A repository could not be read; the message is meant for the operator, in one line."""


def parse_pr_number(title: str) -> int | None:
    match = _PR_SUFFIX.search(title)
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
