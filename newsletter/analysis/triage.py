"""Rank a repository's commits of a day by significance, before any model sees them.

Deterministic: the score comes from the repositories' own title conventions ([Bugfix], feat:, …),
the paths touched and the diff (removed or renamed public symbols). Reverts, [Critical], security
and breaking changes never rank low; bot commits, auto-syncs, CI/test/docs-only and typo fixes
never rank high. A change, its revert and its redo in the same day form one story, told once.
Every commit ends up exactly once: in a highlighted story, or in the day's table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from newsletter.analysis.diffs import SymbolChanges, file_role, symbol_changes


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


# Report categories, most telling first: when a title carries several tags, the first wins.
CATEGORIES = [
    "Revert", "Critical", "Security", "Breaking", "Deprecation", "Perf", "Bugfix", "Model", "Kernel",
    "Hardware", "Core", "Feature", "Refactor", "Misc", "Docs", "CI", "Test",
]  # fmt: skip
BASE_SCORE = {
    "Revert": 60, "Critical": 90, "Security": 85, "Breaking": 70, "Deprecation": 55, "Perf": 45,
    "Kernel": 40, "Model": 38, "Core": 38, "Feature": 35, "Bugfix": 33, "Hardware": 28, "Refactor": 22,
    "Misc": 12, "Docs": 6, "CI": 6, "Test": 6,
}  # fmt: skip
NEVER_LOW = 60  # the floor of reverts, criticals, security and breaking changes
NOISE_CAP = 15  # the ceiling of noise
HIGHLIGHT_MIN = 20  # below this a commit goes to the table even if there is room

TAGS = {
    "revert": "Revert", "critical": "Critical", "security": "Security", "cve": "Security",
    "breaking": "Breaking", "breaking change": "Breaking", "deprecation": "Deprecation", "deprecate": "Deprecation",
    "perf": "Perf", "performance": "Perf", "optimization": "Perf", "optim": "Perf", "speedup": "Perf",
    "bugfix": "Bugfix", "bug fix": "Bugfix", "fix": "Bugfix", "bug": "Bugfix", "hotfix": "Bugfix", "fixes": "Bugfix",
    "model": "Model", "models": "Model", "new model": "Model", "multimodal": "Model", "vlm": "Model",
    "kernel": "Kernel", "kernels": "Kernel", "jit kernel": "Kernel", "cuda": "Kernel", "triton": "Kernel",
    "amd": "Hardware", "rocm": "Hardware", "hardware": "Hardware", "npu": "Hardware", "xpu": "Hardware",
    "intel gpu": "Hardware", "cpu": "Hardware", "tpu": "Hardware", "musa": "Hardware", "ascend": "Hardware",
    "hpu": "Hardware", "gaudi": "Hardware", "neuron": "Hardware", "mps": "Hardware", "blackwell": "Hardware",
    "core": "Core", "scheduler": "Core", "engine": "Core", "v1": "Core", "model runner v2": "Core",
    "modelrunner v2": "Core", "torch.compile": "Core", "spec decode": "Core", "attention": "Core",
    "feature": "Feature", "feat": "Feature", "frontend": "Feature", "api": "Feature", "pd": "Feature",
    "quantization": "Feature", "lora": "Feature", "ux": "Feature",
    "refactor": "Refactor", "chore": "Refactor", "cleanup": "Refactor", "style": "Refactor",
    "misc": "Misc", "ez": "Misc", "minor": "Misc", "benchmark": "Misc", "bench": "Misc", "backport": "Misc",
    "doc": "Docs", "docs": "Docs", "documentation": "Docs",
    "ci": "CI", "ci/build": "CI", "build": "CI", "release": "CI", "ci fix": "CI",
    "test": "Test", "tests": "Test", "testing": "Test",
}  # fmt: skip
# "word:" / "word(scope)!:" prefixes, alone or after the bracket tags.
_PREFIX = re.compile(r"^([a-z][a-z /-]*?)(\([^)]*\))?(!)?\s*:\s+", re.I)
_BRACKETS = re.compile(r"^\s*\[([^\]]{1,40})\]\s*:?\s*")
_REVERT = re.compile(r'^revert\s+"(?P<title>.+)"', re.I)
_REDO = re.compile(r"^(reapply|re-apply|reland|re-land|redo|re-do|restore)\b[\s:\"]*(?P<rest>.*)$", re.I)
_REVERTS_SHA = re.compile(r"This reverts commit ([0-9a-f]{7,40})", re.I)
_PR_REF = re.compile(r"#(\d+)")
_PR_SUFFIX = re.compile(r"\s*\(#\d+\)\s*$")

_BOT = re.compile(r"(\[bot\]$|^dependabot|^github-actions|^renovate|^pre-commit-ci|^mergify|-bot$)", re.I)
_SYNC = re.compile(
    r"\bauto[- ]?sync\b|\bsync(ing)? (from|with|to) (upstream|internal|main)\b|^bump\b|\bbump (the )?version\b"
    r"|\bupdate (the )?(ci|docker) (image|tags?)\b|docker[- ]tags|\bci image\b|^update codeowners|codeowners",
    re.I,
)
_TYPO = re.compile(r"\btypos?\b|\b(fix|fixes|fixing|correct)( the)? (grammar|spelling|wording)\b|\bmisspell", re.I)
_TOOLING = re.compile(r"\b(ruff|mypy|flake8|pylint|lint|linter|pre-commit|isort|clang-format|yapf|codespell)\b", re.I)
_SECURITY = re.compile(r"\b(security|vulnerab\w*|cve-\d{4}-\d+|exploit|rce|injection|sanitiz\w*)\b", re.I)
_PERF_CLAIM = re.compile(r"\d+(\.\d+)?\s*%|\d+(\.\d+)?x\b|\bspeed ?up\b|\bfaster\b", re.I)

_VERBS = [
    (re.compile(r"^(fix|fixes|fixed|bugfix|resolve|correct|handle|guard)\b", re.I), "Bugfix"),
    (re.compile(r"^(optimi[sz]e|speed up|accelerate|tune|reduce (latency|overhead|memory))\b", re.I), "Perf"),
    (re.compile(r"^(remove|delete|drop|deprecate)\b", re.I), "Refactor"),
    (re.compile(r"^(refactor|clean ?up|simplify|consolidate|make .* (modular|cleaner)|rename|move)\b", re.I),
     "Refactor"),
    (re.compile(r"^(adds?|added|supports?|enables?|introduces?|implements?|allows?|integrat\w*)\b", re.I), "Feature"),
    (re.compile(r"^(update|improve|use|pass|relax|make)\b", re.I), "Misc"),
]  # fmt: skip
_MODEL_WORDS = re.compile(
    r"\b(model|models|llm|vl|vlm|asr|ocr|tts|qwen\w*|llama\w*|deepseek\w*|glm\w*|kimi\w*)\b", re.I
)


@dataclass(frozen=True)
class TitleParts:
    tags: tuple[str, ...]  # lower-cased bracket tags and conventional prefixes, in order
    text: str  # the title without tags, prefixes and the (#N) suffix


def parse_title(title: str) -> TitleParts:
    tags: list[str] = []
    rest = title.strip()
    while True:
        bracket = _BRACKETS.match(rest)
        if bracket:
            tags.extend(t.strip().lower() for t in re.split(r"\]\s*\[", bracket.group(1)) if t.strip())
            rest = rest[bracket.end() :]
            continue
        prefix = _PREFIX.match(rest)
        if prefix and (prefix.group(1).lower() in TAGS or prefix.group(1).lower().split("/")[0] in TAGS):
            tags.append(prefix.group(1).lower())
            if prefix.group(3):
                tags.append("breaking")
            rest = rest[prefix.end() :]
            continue
        break
    return TitleParts(tuple(tags), _PR_SUFFIX.sub("", rest).strip())


def _tag_categories(tags: Sequence[str]) -> list[str]:
    found = []
    for tag in tags:
        # "model runner v2" is Core as a whole; "ci/build" or "rocm ci" only in pieces.
        pieces = [tag] if tag in TAGS else re.split(r"[/ ,]+", tag)
        for piece in pieces:
            category = TAGS.get(piece)
            if category and category not in found:
                found.append(category)
    return found


@dataclass(frozen=True)
class Verdict:
    sha: str
    category: str
    score: int
    breaking: bool
    noise: bool
    reasons: tuple[str, ...]
    roles: tuple[str, ...]  # the distinct roles of the files touched (kernel, source, test, …)
    symbols: SymbolChanges
    reverts_pr: int | None = None  # the PR a revert undoes, when the title names it
    reverts_title: str = ""


@dataclass
class Story:
    lead: str  # the SHA the story is told under
    members: list[tuple[str, str]]  # (sha, role) in time order; role: change, revert, redo


@dataclass
class Triage:
    verdicts: dict[str, Verdict]
    highlighted: list[str]  # story leads, most significant first
    listed: list[str]  # the rest, in commit order
    stories: dict[str, Story] = field(default_factory=dict)  # by lead; single commits have none

    def story_of(self, sha: str) -> Story | None:
        return self.stories.get(sha)


def judge(commit: CommitLike) -> Verdict:
    """Category, score and signals of one commit, on its own."""
    parts = parse_title(commit.title)
    reasons: list[str] = []
    categories = _tag_categories(parts.tags)
    revert = _REVERT.match(commit.title) or _REVERTS_SHA.search(commit.message or "")
    if revert:
        categories.insert(0, "Revert")
    if _SECURITY.search(commit.title) and "Security" not in categories:
        categories.append("Security")
    roles = tuple(sorted({file_role(f["path"]) for f in commit.files}))
    symbols = symbol_changes(commit.files)
    if not categories:
        categories = [category for pattern, category in _VERBS if pattern.match(parts.text)][:1]
        if categories and categories[0] in ("Feature", "Misc") and _MODEL_WORDS.search(parts.text):
            categories = ["Model"]
        if not categories and "kernel" in roles:
            categories = ["Kernel"]
    category = min(categories, key=CATEGORIES.index) if categories else "Misc"

    only = set(roles)
    if category not in ("Revert", "Critical", "Security"):
        if only and (only <= {"docs"} or ("Docs" in categories and only <= {"docs", "tooling", "ci", "test"})):
            category = "Docs"
        elif (only and only <= {"ci", "test", "tooling"}) or _TOOLING.search(parts.text):
            category = "Test" if only == {"test"} else "CI"

    score = float(BASE_SCORE[category])
    reasons.append(f"category {category}")
    touched = {file_role(f["path"]) for f in commit.files if f.get("additions", 0) + f.get("deletions", 0)}
    if "kernel" in touched:
        score += 8
        reasons.append("touches kernels")
    core_paths = [f["path"] for f in commit.files if file_role(f["path"]) in ("source", "kernel")]
    if any(re.search(r"(^|/)(core|sched\w*|engine|managers|model_runner|worker)(/|_|\.)", p) for p in core_paths):
        score += 8
        reasons.append("touches the scheduler/engine core")
    if any(re.search(r"(^|/)(entrypoints|openai|server_args|api)(/|\.|_)", p) for p in core_paths):
        score += 5
        reasons.append("touches the public API")
    breaking = symbols.breaking or "breaking" in parts.tags or category in ("Breaking", "Deprecation")
    if symbols.breaking:
        score += 20
        reasons.append("removes or renames public symbols")
    code_lines = sum(
        f.get("additions", 0) + f.get("deletions", 0)
        for f in commit.files
        if file_role(f["path"]) in ("source", "kernel")
    )
    score += min(10.0, math.log2(1 + code_lines))
    if _PERF_CLAIM.search(commit.title):
        score += 8
        reasons.append("claims a measured speed-up")

    noise_reason = _noise(commit, parts, roles)
    never_low = category in ("Revert", "Critical", "Security", "Breaking") or bool(revert) or symbols.breaking
    if never_low:
        score = max(score, NEVER_LOW)
        reasons.append("never ranks low")
    elif noise_reason:
        score = min(score, NOISE_CAP)
        reasons.append(noise_reason)
    reverted = _REVERT.match(commit.title)
    inner = reverted.group("title") if reverted else ""
    pr = _PR_REF.search(inner)
    return Verdict(
        sha=commit.sha,
        category=category,
        score=round(score),
        breaking=breaking,
        noise=bool(noise_reason) and not never_low,
        reasons=tuple(reasons),
        roles=roles,
        symbols=symbols,
        reverts_pr=int(pr.group(1)) if pr else None,
        reverts_title=_PR_SUFFIX.sub("", inner).strip(),
    )


def _noise(commit: CommitLike, parts: TitleParts, roles: tuple[str, ...]) -> str:
    if _BOT.search(commit.author_login or ""):
        return "bot commit"
    if _SYNC.search(commit.title):
        return "automatic sync or version bump"
    if _TYPO.search(commit.title):
        return "typo or grammar fix"
    only = set(roles)
    if only and only <= {"docs"}:
        return "documentation only"
    if only and only <= {"ci", "test", "tooling"}:
        return "CI, tests or tooling only"
    if _TOOLING.search(parts.text):
        return "lint or tooling configuration"
    if commit.files and all(f["path"].endswith("CODEOWNERS") for f in commit.files):
        return "code owners only"
    return ""


def _stories(commits: Sequence[CommitLike], verdicts: dict[str, Verdict]) -> dict[str, Story]:
    """Link each revert to the change it undoes and to a redo of that change, when they are here."""
    by_pr = {c.pr_number: c for c in commits if c.pr_number}
    by_title = {parse_title(c.title).text.lower(): c for c in commits}
    stories: dict[str, Story] = {}
    for commit in commits:
        verdict = verdicts[commit.sha]
        if verdict.category != "Revert":
            continue
        original = by_pr.get(verdict.reverts_pr) if verdict.reverts_pr else None
        if original is None and verdict.reverts_title:
            original = by_title.get(parse_title(verdict.reverts_title).text.lower())
        if original is None:
            reverted_sha = _REVERTS_SHA.search(commit.message or "")
            if reverted_sha:
                original = next((c for c in commits if c.sha.startswith(reverted_sha.group(1))), None)
        members = [(original.sha, "change")] if original and original.sha != commit.sha else []
        members.append((commit.sha, "revert"))
        original_text = parse_title(original.title).text.lower() if original else verdict.reverts_title.lower()
        for later in commits:
            if later.committed_at <= commit.committed_at or later.sha in (commit.sha, *(m[0] for m in members)):
                continue
            redo = _REDO.match(parse_title(later.title).text)
            names_it = redo and (
                (verdict.reverts_pr and f"#{verdict.reverts_pr}" in later.title)
                or (original_text and original_text in redo.group("rest").lower())
            )
            same_again = original is not None and parse_title(later.title).text.lower() == original_text
            if names_it or same_again:
                members.append((later.sha, "redo"))
                break
        if len(members) > 1:
            stories[commit.sha] = Story(lead=commit.sha, members=members)
    return stories


def triage(commits: Sequence[CommitLike], limit: int) -> Triage:
    """Judge every commit, link stories, and pick at most `limit` stories to highlight."""
    ordered = sorted(commits, key=lambda c: c.committed_at)
    verdicts = {c.sha: judge(c) for c in ordered}
    stories = _stories(ordered, verdicts)
    in_story = {sha for story in stories.values() for sha, _ in story.members if sha != story.lead}
    sizes = {c.sha: c.additions + c.deletions for c in ordered}
    candidates = [
        sha
        for sha, verdict in verdicts.items()
        if sha not in in_story and not verdict.noise and verdict.score >= HIGHLIGHT_MIN
    ]
    candidates.sort(key=lambda sha: (-verdicts[sha].score, -sizes[sha], sha))
    highlighted = candidates[:limit]
    covered = set(highlighted) | {sha for lead in highlighted if lead in stories for sha, _ in stories[lead].members}
    listed = [c.sha for c in ordered if c.sha not in covered]
    # A story whose lead did not make the cut is listed commit by commit, so it is no longer a story.
    stories = {lead: story for lead, story in stories.items() if lead in highlighted}
    return Triage(verdicts=verdicts, highlighted=highlighted, listed=listed, stories=stories)
