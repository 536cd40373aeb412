"""What an analyzer reads (a day of repositories) and writes (a draft of the report), as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from newsletter.analysis.diffs import Snippet
from newsletter.analysis.triage import Triage
from newsletter.models import Commit, Issue, Repository


@dataclass
class RepoDay:
    repository: Repository
    commits: list[Commit]  # the day's commits, oldest first
    new_issues: list[Issue]  # issues (not pull requests) opened during the day
    triage: Triage
    stats: dict

    def commit(self, sha: str) -> Commit:
        return next(c for c in self.commits if c.sha == sha)


@dataclass
class DayInput:
    day: date
    language: str
    repos: list[RepoDay]

    def find_commit(self, sha: str) -> tuple[RepoDay, Commit] | None:
        for repo in self.repos:
            for commit in repo.commits:
                if commit.sha == sha:
                    return repo, commit
        return None


@dataclass
class ItemDraft:
    sha: str
    category: str
    title: str
    details: str
    impact: str
    risk: str  # low, medium, high
    breaking: bool
    code: Snippet | None
    score: int
    related: list[dict] = field(default_factory=list)  # [{"sha", "role"}]
    source: str = "heuristic"


@dataclass
class IssueDraft:
    number: int
    title: str
    why: str


@dataclass
class SectionDraft:
    repository: Repository
    assessment: str
    highlights: list[ItemDraft]
    listed: list[str]  # SHAs of the day's table, in commit order
    issues: list[IssueDraft]
    stats: dict


@dataclass
class Statement:
    """A sentence of the summary or the conclusions and what it cites: SHAs or OWNER/NAME#N."""

    text: str
    cites: list[str]


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.calls += other.calls
        self.cost_usd += other.cost_usd


@dataclass
class ReportDraft:
    analyzer: str
    sections: list[SectionDraft]
    summary: list[Statement]
    conclusions: list[Statement]
    warnings: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_ids: dict = field(default_factory=dict)
    prompt_version: str = ""
