"""What an analyzer reads (a day of repositories) and writes (a draft of the report), as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from newsletter.analysis.diffs import Snippet
from newsletter.analysis.references import linked_issues
from newsletter.analysis.triage import Triage
from newsletter.models import Commit, Issue, Repository


@dataclass(frozen=True)
class PullRequest:
    """The pull request a commit was merged from, joined to it by number."""

    number: int
    title: str
    body: str
    labels: tuple[str, ...]
    linked_issues: tuple[int, ...]  # "Fixes #N", "Closes #N", ... in the body
    html_url: str


@dataclass(frozen=True)
class PastHighlight:
    """A commit highlighted in an earlier issue of the same repository (the last 7 days)."""

    day: date
    sha: str
    title: str
    category: str
    url: str  # the archive page of the issue that told it


@dataclass
class RepoDay:
    repository: Repository
    commits: list[Commit]  # the day's commits, oldest first
    new_issues: list[Issue]  # issues (not pull requests) opened during the day
    triage: Triage
    stats: dict
    pull_requests: dict[int, PullRequest] = field(default_factory=dict)  # by number
    history: list[PastHighlight] = field(default_factory=list)  # newest first
    # Commits of earlier days that a story of this day refers to (the change a revert undoes).
    earlier_commits: list[Commit] = field(default_factory=list)
    # What is derived from a commit once and read by several parts of an analyzer (its facts).
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def commit(self, sha: str) -> Commit:
        return next(c for c in self.commits if c.sha == sha)

    def pull_request(self, sha: str) -> PullRequest | None:
        number = self.commit(sha).pr_number
        return self.pull_requests.get(number) if number else None

    def fixing_commit(self, issue_number: int) -> str | None:
        """The SHA of the day's first commit that fixes an issue: its pull request links the issue
        ("Fixes #N", "Closes ...", "Resolves <issue URL>") or its message says so; None otherwise."""
        for commit in self.commits:
            pull_request = self.pull_request(commit.sha)
            linked = set(pull_request.linked_issues) if pull_request else set()
            linked.update(linked_issues(commit.message, self.repository.full_name))
            if issue_number in linked:
                return commit.sha
        return None


@dataclass
class DayInput:
    day: date
    language: str
    repos: list[RepoDay]


VERDICTS = ("positive", "watch", "risk")  # 正面 / 需关注 / 风险
TOPICS = ("hardware", "model", "kernel", "quantization", "speculative", "distributed", "scheduling", "api")


@dataclass
class ItemDraft:
    sha: str
    category: str
    title: str  # the headline, in the report's language
    details: str  # 变更详情: the mechanism
    impact: str  # 影响: who is affected, on which hardware or models, what to do on upgrade
    risk: str  # low, medium, high
    breaking: bool
    snippets: list[Snippet]  # 0-3 verbatim excerpts of the diff, each with a note
    score: int
    related: list[dict] = field(default_factory=list)  # [{"sha", "role"}]
    source: str = "heuristic"
    verdict: str = ""  # one of VERDICTS, or "" when nothing can be said
    verdict_reason: str = ""
    breaking_surface: str = ""  # which public surface changed, when breaking
    topics: list[str] = field(default_factory=list)  # of TOPICS
    selection_reason: str = ""  # why this commit was picked, for the editor


@dataclass
class IssueDraft:
    number: int
    title: str
    why: str
    fixed_by: str = ""  # the SHA of a commit of the day that fixes it


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
    lead: str = ""  # a few words shown in bold before the sentence (a theme), or ""


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
    dropped: dict[str, int] = field(default_factory=dict)  # sentences dropped by check: name -> count
    usage: Usage = field(default_factory=Usage)
    model_ids: dict = field(default_factory=dict)
    prompt_version: str = ""
