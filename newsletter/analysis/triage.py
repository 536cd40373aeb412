"""Rank a repository's commits of a day by significance, before any model sees them.

This is where commits are ranked. Deterministic and pure (no database: gather.py hands in the
day's commits, earlier commits that stories may refer to, and pull requests). For each commit:

1. a category from the repositories' own title conventions ([Bugfix], feat:, …) and the paths;
2. the named rules of signals.py (new model, new kernel or backend, hardware enablement,
   correctness fix, changed default, new option, performance claim with numbers; demotions for
   bots, syncs, typos, tests/CI/docs-only, tooling, message-only edits and pure renames);
3. breaking only when a public surface changed (surfaces.py), with the surface named;
4. stories (stories.py): a change, its revert and its redo, on this day or earlier ones, told
   once under the newest commit of the day.

Then the selection: reverts and redos, [Critical], security and breaking changes form the floor
and never rank low; a repository with three commits or fewer has all of them analyzed; the rest
fill up to `limit` (HIGHLIGHTS_PER_REPO) by score. Every commit of the day ends up exactly once:
highlighted, inside a highlighted story, or in the day's table (`listed`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from newsletter.analysis.diffs import SymbolChanges, file_role, symbol_changes
from newsletter.analysis.references import Reference, reference_of
from newsletter.analysis.signals import FLOORS, Facts, fire
from newsletter.analysis.stories import Story, link_stories
from newsletter.analysis.surfaces import Surface, surface_changes
from newsletter.analysis.titles import CATEGORIES, FIXES, candidate_categories, parse_title, settle_category
from newsletter.analysis.topics import topics_for

__all__ = ["CATEGORIES", "Story", "Triage", "Verdict", "judge", "parse_title", "triage"]


class CommitLike(Protocol):
    sha: str
    title: str
    message: str
    files: list[dict]
    author_login: str
    additions: int
    deletions: int
    pr_number: int | None
    committed_at: datetime


class PullRequestLike(Protocol):
    body: str
    labels: tuple[str, ...]


BASE_SCORE = {
    "Revert": 60, "Critical": 90, "Security": 85, "Breaking": 70, "Deprecation": 55, "Perf": 45,
    "Kernel": 40, "Model": 38, "Core": 38, "Feature": 35, "Bugfix": 33, "Hardware": 28, "Refactor": 22,
    "Misc": 12, "Docs": 6, "CI": 6, "Test": 6,
}  # fmt: skip
NEVER_LOW = 60  # the floor of reverts, redos, criticals, security and breaking changes
NOISE_CAP = 15  # the ceiling of noise
HIGHLIGHT_MIN = 20  # below this a commit goes to the table even if there is room
ANALYZE_ALL_UP_TO = 3  # a repository-day with this many commits or fewer has every one analyzed

_CORE_PATH = re.compile(r"(^|/)(core|sched\w*|engine|managers|model_runner|worker)(/|_|\.)")
_API_PATH = re.compile(r"(^|/)(entrypoints|openai|server_args|api)(/|\.|_)")


@dataclass(frozen=True)
class Verdict:
    sha: str
    category: str
    score: int
    breaking: bool  # a public surface changed (see `surface`), or the commit says it breaks
    noise: bool
    reasons: tuple[str, ...]  # every consideration, in English, for prompts and the editor
    roles: tuple[str, ...]  # the distinct roles of the files touched (kernel, source, test, …)
    symbols: SymbolChanges
    reverts_pr: int | None = None  # the PR a revert undoes, when known (never its own)
    reverts_title: str = ""  # the title of what a revert undoes, without tags and "(#N)"
    reverts_sha: str = ""  # the commit a revert undoes, when it was collected
    surfaces: tuple[Surface, ...] = ()  # the public surfaces that changed, when breaking
    signals: tuple[str, ...] = ()  # names of the rules of signals.py that fired
    reason: str = ""  # one line: why this score
    floor: bool = False  # never ranks low: revert, redo, [Critical], security, breaking
    topics: tuple[str, ...] = ()  # of draft.TOPICS
    reference: Reference | None = None  # what a revert or redo names

    @property
    def surface(self) -> str:
        """The breaking surfaces as one English line for prompts and the editor: the first two named."""
        line = "; ".join(str(surface) for surface in self.surfaces[:2])
        more = len(self.surfaces) - 2
        return f"{line} (and {more} more)" if more > 0 else line


@dataclass
class Triage:
    verdicts: dict[str, Verdict]  # by SHA, in commit order (oldest first)
    highlighted: list[str]  # story leads and single commits to analyze, most significant first
    listed: list[str]  # the rest, in commit order
    stories: dict[str, Story] = field(default_factory=dict)  # by lead, every story of the day
    floor: list[str] = field(default_factory=list)  # leads that must be highlighted, best first
    ranked: list[str] = field(default_factory=list)  # every lead and single commit, best first

    def story_of(self, sha: str) -> Story | None:
        return self.stories.get(sha)


def judge(commit: CommitLike, pull_request: PullRequestLike | None = None, repository: str = "") -> Verdict:
    """Category, score, signals and breaking surface of one commit, on its own.

    `pull_request` (the PR the commit was merged from) adds its body and labels to what the rules
    read; `repository` (OWNER/NAME) tells references to this repository from others.
    """
    parts = parse_title(commit.title)
    roles = tuple(sorted({file_role(f["path"]) for f in commit.files}))
    reference = reference_of(
        commit.title, commit.message or "", own_pr=commit.pr_number, own_sha=commit.sha, repository=repository
    )
    if reference is None and pull_request is not None:
        reference = reference_of(
            commit.title, pull_request.body or "", own_pr=commit.pr_number, own_sha=commit.sha, repository=repository
        )
    categories = candidate_categories(parts, roles, reference)
    notes = "\n".join([commit.message or "", pull_request.body if pull_request else ""])
    facts = Facts(
        title=commit.title,
        text=parts.text,
        tags=parts.tags,
        message=commit.message or "",
        author_login=commit.author_login or "",
        files=commit.files,
        surfaces=surface_changes(
            commit.files,
            tags=parts.tags,
            title_text=parts.text,
            notes=notes,
            labels=pull_request.labels if pull_request else (),
        ),
        reference=reference,
        pr_body=pull_request.body if pull_request else "",
        pr_labels=tuple(pull_request.labels) if pull_request else (),
        fix="Bugfix" in categories or "Critical" in categories or bool(FIXES.search(parts.text)),
        roles=roles,
    )
    fired = fire(facts)
    names = {rule.name for rule, _ in fired}
    category = settle_category(categories, parts, roles, names)

    score = float(BASE_SCORE[category])
    reasons = [f"category {category}"]
    touched = {file_role(f["path"]) for f in commit.files if f.get("additions", 0) + f.get("deletions", 0)}
    code_paths = [f["path"] for f in commit.files if file_role(f["path"]) in ("source", "kernel")]
    for present, points, reason in (
        ("kernel" in touched, 8, "touches kernels"),
        (any(_CORE_PATH.search(p) for p in code_paths), 8, "touches the scheduler/engine core"),
        (any(_API_PATH.search(p) for p in code_paths), 5, "touches the public API"),
    ):
        if present:
            score += points
            reasons.append(reason)
    code_lines = sum(
        f.get("additions", 0) + f.get("deletions", 0)
        for f in commit.files
        if file_role(f["path"]) in ("source", "kernel")
    )
    score += min(10.0, math.log2(1 + code_lines))
    for rule, evidence in fired:
        score += rule.weight
        reasons.append(f"{rule.name}: {evidence}")

    floor = category in ("Revert", "Critical", "Security") or bool(names & set(FLOORS))
    demoted = [evidence for rule, evidence in fired if rule.demotes]
    if floor:
        score = max(score, NEVER_LOW)
        reasons.append("never ranks low")
    elif demoted:
        score = min(score, NOISE_CAP)
    breaking = "breaking" in names
    shown = [f"{rule.name} ({evidence})" for rule, evidence in fired]
    verdict = Verdict(
        sha=commit.sha,
        category=category,
        score=min(100, round(score)),
        breaking=breaking,
        noise=bool(demoted) and not floor,
        reasons=tuple(reasons),
        roles=roles,
        symbols=symbol_changes(commit.files),
        reverts_pr=reference.prs[0] if reference and reference.kind == "revert" and reference.prs else None,
        reverts_title=reference.titles[-1] if reference and reference.kind == "revert" and reference.titles else "",
        surfaces=facts.surfaces.breaking if breaking else (),
        signals=tuple(rule.name for rule, _ in fired),
        reason="; ".join(shown) or f"{category}, no signal beyond its tags and paths",
        floor=floor,
        reference=reference,
    )
    return replace(verdict, topics=tuple(topics_for(commit, verdict)))


def triage(
    commits: Sequence[CommitLike],
    limit: int,
    *,
    earlier: Sequence[CommitLike] = (),
    pull_requests: Mapping[int, PullRequestLike] | None = None,
    repository: str = "",
    zone: tzinfo = UTC,
) -> Triage:
    """Judge every commit of a day, link stories, and pick at most `limit` stories to highlight.

    `earlier`: commits of earlier days that reverts or redos of this day may name (dated in
    `zone`); `pull_requests`: by number, the PRs the commits were merged from.
    """
    ordered = sorted(commits, key=lambda c: (c.committed_at, c.sha))
    prs = pull_requests or {}
    verdicts = {c.sha: judge(c, prs.get(c.pr_number) if c.pr_number else None, repository) for c in ordered}

    def reference(commit: CommitLike) -> Reference | None:
        if commit.sha in verdicts:
            return verdicts[commit.sha].reference
        return reference_of(
            commit.title, commit.message or "", own_pr=commit.pr_number, own_sha=commit.sha, repository=repository
        )

    stories, undone = link_stories(ordered, earlier, reference, zone)
    for sha, original in undone.items():
        verdict = verdicts[sha]
        if verdict.category == "Revert":
            verdicts[sha] = replace(
                verdict,
                reverts_pr=verdict.reverts_pr or original.pr_number,
                reverts_title=verdict.reverts_title or parse_title(original.title).text,
                reverts_sha=original.sha,
            )
    for lead, story in stories.items():
        roles = {role for _, role in story.members} | {m.role for m in story.earlier}
        verdict = verdicts[lead]
        best = max(verdicts[sha].score for sha, _ in story.members)
        floor = verdict.floor or bool(roles & {"revert", "redo"})
        told = len(story.members) + len(story.earlier)
        verdicts[lead] = replace(
            verdict,
            score=max(best, NEVER_LOW) if floor else best,
            floor=floor,
            noise=verdict.noise and not floor,
            reasons=(*verdict.reasons, f"tells the story of {told} commits"),
        )

    in_story = {sha for story in stories.values() for sha, _ in story.members if sha != story.lead}
    sizes = {c.sha: c.additions + c.deletions for c in ordered}
    ranked = [c.sha for c in ordered if c.sha not in in_story]
    ranked.sort(key=lambda sha: (-verdicts[sha].score, -sizes[sha], sha))
    floor = [sha for sha in ranked if verdicts[sha].floor]
    if len(ordered) <= ANALYZE_ALL_UP_TO:  # few commits: every one is analyzed, within the limit
        rest = [sha for sha in ranked if sha not in floor][: max(0, limit - len(floor))]
        floor = [sha for sha in ranked if sha in floor or sha in rest]
    picked = list(floor)  # what never ranks low is never cut, even past the limit
    for sha in ranked:
        if len(picked) >= limit:
            break
        if sha not in picked and not verdicts[sha].noise and verdicts[sha].score >= HIGHLIGHT_MIN:
            picked.append(sha)
    highlighted = [sha for sha in ranked if sha in picked]
    covered = set(highlighted) | {sha for lead in highlighted if lead in stories for sha, _ in stories[lead].members}
    listed = [c.sha for c in ordered if c.sha not in covered]
    # Every story is kept, highlighted or not: a selection may still pick a lead the rules did not
    # (selection.apply keeps only the chosen ones; until then a listed story's members are listed).
    return Triage(
        verdicts=verdicts, highlighted=highlighted, listed=listed, stories=stories, floor=floor, ranked=ranked
    )
