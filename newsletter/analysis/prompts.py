"""Build the model prompts: pure functions from plain data to (guide, task, user) text.

Templates live in templates/prompts/<version>/<language>/; PROMPT_VERSION names them and is part
of the per-commit cache key, so editing a template means a new version directory.

Every call's system prompt is the same style guide (the report's structure, the rules of
selection, breaking changes, grounding and style) followed by the task of its kind. The guide is
long on purpose: together with the task it passes the minimum length a model caches, so every call
of a kind after the first reads it from the cache.

What each prompt leaves out, and why:
- selection: diffs. Titles, sizes, the rules' signals and the pull request's first lines are what
  a reader's editor would judge from; noise commits (CI, docs, bots) get one line without their
  pull request, since the rules already keep them out.
- per commit: diffs beyond a per-file and a total budget (the manifest still lists every file,
  so the model never mistakes an omitted diff for a missing file); test, docs and CI diffs come
  last because they rarely change what a reader must do. A pull request body that repeats the
  commit message is not sent twice. The archive links of earlier days: links are code's.
- per repository and for the whole issue: all diffs; the model sees only the checked items, so
  anything it says can be traced to an item it was given.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from django.conf import settings

from newsletter.analysis import selection
from newsletter.analysis.diffs import NOT_SHIPPED, file_role
from newsletter.analysis.draft import IssueDraft, ItemDraft, RepoDay, SectionDraft
from newsletter.analysis.messages import clean_body, shorten
from newsletter.analysis.schemas import COMMIT_ITEM, ISSUE_SYNTHESIS, REPOSITORY_SYNTHESIS, SELECTION
from newsletter.render.escape import fence

PROMPT_VERSION = "v2"
PER_FILE_BUDGET = 4000
TOTAL_BUDGET = 16000
MESSAGE_BUDGET = 3000
PULL_BODY_BUDGET = 2000
ISSUE_BODY_BUDGET = 600
SELECTION_PULL_BUDGET = 160  # the first lines of a pull request body in the selection prompt
HISTORY_LIMIT = 24  # earlier highlights shown per commit, newest first
SHORT = 12  # SHA characters in the selection prompt: unambiguous in a day, cheap to repeat

_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)  # PR templates' instructions to the author

TASKS = {SELECTION: "select", COMMIT_ITEM: "item", REPOSITORY_SYNTHESIS: "repository", ISSUE_SYNTHESIS: "issue"}


@dataclass(frozen=True)
class Prompt:
    kind: str
    guide: str  # the same for every call in a language
    task: str  # the same for every call of this kind
    user: str

    @property
    def system(self) -> str:
        return self.guide + "\n\n" + self.task


@cache
def _prompt_file(language: str, name: str) -> str:
    path = Path(settings.BASE_DIR) / "templates" / "prompts" / PROMPT_VERSION / language / f"{name}.txt"
    return path.read_text(encoding="utf-8")


def template(language: str, name: str) -> Template:
    return Template(_prompt_file(language, name))


def guide(language: str) -> str:
    return _prompt_file(language, "guide").strip()


def task(language: str, name: str) -> str:
    """The instructions of one kind of call: with the guide, the stable prefix that is cached."""
    return _prompt_file(language, f"{name}_task").strip()


def _prompt(kind: str, language: str, **values) -> Prompt:
    name = TASKS[kind]
    user = template(language, f"{name}_user").substitute(**values)
    return Prompt(kind, guide(language), task(language, name), user)


def _pull_body(pull, limit: int) -> str:
    """A pull request body without template sections and trailers (clean_body skips a first line,
    the title of a commit message; a body has none)."""
    return clean_body("-\n" + (pull.body or ""), limit)


def _one_line(text: str, limit: int) -> str:
    return shorten(" ".join((text or "").split()), limit)


# --- selection ------------------------------------------------------------------------------------
def _selection_line(repo: RepoDay, sha: str, rank: int | None, marks: list[str]) -> str:
    commit = repo.commit(sha)
    verdict = repo.triage.verdicts[sha]
    marks = [f"score {verdict.score}"] + ([f"rank {rank}"] if rank else []) + marks
    signals = ", ".join(verdict.signals) or "-"
    line = (
        f"- {sha[:SHORT]} [{verdict.category}] {', '.join(marks)} | {commit.title} | "
        f"+{commit.additions}/-{commit.deletions}, {len(commit.files)} files | signals: {signals}"
    )
    if verdict.noise and "floor" not in marks:
        return line
    line += f" | reason: {_one_line(verdict.reason, 160)}"
    pull = repo.pull_request(sha)
    if pull:
        labels = ", ".join(pull.labels)
        summary = _one_line(_pull_body(pull, SELECTION_PULL_BUDGET), SELECTION_PULL_BUDGET)
        if summary:
            line += f"\n  PR #{pull.number} (labels: {labels or '-'}): {summary}"
        elif labels:  # an empty body is not worth a line of its own
            line += f" | PR labels: {labels}"
    return line


def selection_prompt(repo: RepoDay, day: str, language: str, cap: int) -> Prompt:
    """Every commit of the day, best first; a story's other members right after its lead."""
    triage = repo.triage
    floor = set(triage.floor)
    picked = set(triage.highlighted)
    lines, shown = [], set()
    for rank, sha in enumerate(triage.ranked, start=1):
        if sha in shown:
            continue
        marks = ["floor"] if sha in floor else ["rule pick"] if sha in picked else []
        lines.append(_selection_line(repo, sha, rank, marks))
        shown.add(sha)
        for member in selection.members_of(triage, sha):
            if member not in shown and any(c.sha == member for c in repo.commits):
                lines.append(_selection_line(repo, member, None, [f"story of {sha[:SHORT]}"]))
                shown.add(member)
    for commit in repo.commits:  # whatever the ranking left out still has a line
        if commit.sha not in shown:
            lines.append(_selection_line(repo, commit.sha, None, []))
    return _prompt(
        SELECTION,
        language,
        repository=repo.repository.full_name,
        day=day,
        commit_count=len(repo.commits),
        cap=cap,
        commits="\n".join(lines),
    )


# --- one commit -----------------------------------------------------------------------------------
def _ranked_files(files: list[dict]) -> list[dict]:
    """Kernels and shipped sources first, biggest first; tests, docs and CI last."""

    def rank(change: dict):
        role = file_role(change["path"])
        tier = 0 if role == "kernel" else 1 if role in ("source", "other") else 2 if role not in NOT_SHIPPED else 3
        return tier, -(change["additions"] + change["deletions"]), change["path"]

    return sorted(files, key=rank)


def diff_budget(files: list[dict]) -> tuple[list[str], list[str]]:
    """(manifest lines, diff blocks): every file is in the manifest; diffs fill the budgets in rank order."""
    manifest, diffs, spent = [], [], 0
    for change in _ranked_files(files):
        patch = change.get("patch")
        line = f"- {change['path']} ({change['status']}, +{change['additions']}/-{change['deletions']})"
        if patch is None:
            manifest.append(line + ": GitHub shows no diff (binary or too large)")
            continue
        room = min(PER_FILE_BUDGET, TOTAL_BUDGET - spent)
        if room < 200:
            manifest.append(line + ": diff left out to stay within the budget")
            continue
        shown = patch if len(patch) <= room else patch[:room].rsplit("\n", 1)[0]
        spent += len(shown)
        cut = "" if shown == patch else f"\n[... cut after {len(shown)} of {len(patch)} characters]"
        manifest.append(line + (": diff below" if not cut else ": diff below, cut to the budget"))
        # A fence longer than any backtick run in the diff: a "```" line in a patch cannot end it.
        diffs.append(f"### {change['path']}\n{fence(shown, 'diff')}{cut}")
    return manifest, diffs


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip().lower()


def _pull_request_text(repo: RepoDay, sha: str, message: str) -> str:
    pull = repo.pull_request(sha)
    if pull is None:
        return "-"
    head = f"#{pull.number} {pull.title} (labels: {', '.join(pull.labels) or '-'})"
    cleaned = _normalized(_pull_body(pull, 100_000))
    if not cleaned:
        return head + "\n(no description beyond template and trailers)"
    # Squash merges copy the body into the commit message: the same text twice teaches nothing.
    if cleaned[:300] in _normalized(clean_body(message, 100_000)):
        return head + "\n(body: the same text as the commit message)"
    body = _HTML_COMMENT.sub("", pull.body).strip()
    return f"{head}\n<pull_request_body>\n{shorten(body, PULL_BODY_BUDGET)}\n</pull_request_body>"


def _linked_issues_text(issues) -> str:
    return (
        "\n".join(
            f"- #{issue.number} {issue.title} ({issue.state}; labels: {', '.join(issue.labels) or '-'})\n"
            f"  {_one_line(issue.body, ISSUE_BODY_BUDGET)}"
            for issue in issues
        )
        or "-"
    )


def _find_commit(repo: RepoDay, sha: str):
    return next((c for c in [*repo.commits, *repo.earlier_commits] if c.sha == sha), None)


def _story_text(repo: RepoDay, sha: str) -> str:
    """The story's members, dated, oldest first: earlier days' ones (the triage found them in the
    archive) and the day's own."""
    story = repo.triage.story_of(sha)
    if not story:
        return "-"
    lines = [
        f"- {member.sha[:SHORT]} {member.role}, {member.day.isoformat()} (an earlier day): {member.title or '-'}"
        for member in getattr(story, "earlier", ())
    ]
    for member, role in story.members:
        commit = _find_commit(repo, member)
        when = commit.committed_at.date().isoformat() if commit else "?"
        title = commit.title if commit else "-"
        this = " (this commit)" if member == sha else ""
        lines.append(f"- {member[:SHORT]} {role}, {when}: {title}{this}")
    return "\n".join(lines)


def _history_text(repo: RepoDay) -> str:
    return (
        "\n".join(
            f"- {past.day.isoformat()} {past.sha[:SHORT]} [{past.category}] {past.title}"
            for past in repo.history[:HISTORY_LIMIT]
        )
        or "-"
    )


def item_prompt(repo: RepoDay, sha: str, language: str, linked_issues=()) -> Prompt:
    commit = repo.commit(sha)
    verdict = repo.triage.verdicts[sha]
    manifest, diffs = diff_budget(commit.files)
    surface = verdict.surface
    return _prompt(
        COMMIT_ITEM,
        language,
        repository=repo.repository.full_name,
        sha=commit.sha,
        title=commit.title,
        author=commit.author_login or commit.author_name or "-",
        category=verdict.category,
        signals=", ".join(verdict.signals) or "-",
        reason=_one_line(verdict.reason, 300),
        surface=f"; public surface: {surface}" if surface else "",
        message=shorten(commit.message.strip(), MESSAGE_BUDGET),
        pull_request=_pull_request_text(repo, sha, commit.message),
        linked_issues=_linked_issues_text(linked_issues),
        story=_story_text(repo, sha),
        history=_history_text(repo),
        file_count=len(commit.files),
        additions=commit.additions,
        deletions=commit.deletions,
        manifest="\n".join(manifest),
        per_file_budget=PER_FILE_BUDGET,
        total_budget=TOTAL_BUDGET,
        diffs="\n\n".join(diffs) or "-",
    )


# --- syntheses ------------------------------------------------------------------------------------
def _item_line(item: ItemDraft, topics: bool = False) -> str:
    parts = [f"- {item.sha} [{item.category}] {item.title}"]
    if topics and item.topics:
        parts.append(f"topics: {', '.join(item.topics)}")
    if item.verdict:
        parts.append(f"verdict: {item.verdict}" + (f" ({item.verdict_reason})" if item.verdict_reason else ""))
    if item.breaking:
        parts.append(f"breaking: {item.breaking_surface or 'yes'}")
    parts.append(f"risk {item.risk}")
    parts.append(f"impact: {item.impact}")
    return " | ".join(parts)


def repository_prompt(
    repo: RepoDay, highlights: list[ItemDraft], day: str, language: str, fixed_by: dict[int, str] | None = None
) -> Prompt:
    fixed_by = fixed_by or {}
    covered = {item.sha for item in highlights} | {r["sha"] for item in highlights for r in item.related}
    others = Counter(repo.triage.verdicts[c.sha].category for c in repo.commits if c.sha not in covered)
    others_text = (
        ", ".join(f"{category} {count}" for category, count in others.most_common()) + f" ({sum(others.values())})"
        if others
        else "-"
    )
    issues = []
    for issue in repo.new_issues:
        fixed = f"; fixed by today's commit {fixed_by[issue.number][:SHORT]}" if issue.number in fixed_by else ""
        issues.append(
            f"- #{issue.number} {issue.title} (labels: {', '.join(issue.labels) or '-'}; "
            f"{issue.comments} comments{fixed})\n  {_one_line(issue.body, ISSUE_BODY_BUDGET)}"
        )
    stats = repo.stats
    return _prompt(
        REPOSITORY_SYNTHESIS,
        language,
        repository=repo.repository.full_name,
        display_name=repo.repository.display_name,
        day=day,
        commits=stats["commits"],
        additions=stats["additions"],
        deletions=stats["deletions"],
        authors=stats["authors"],
        issues_opened=stats["issues_opened"],
        highlights="\n".join(_item_line(i) for i in highlights) or "-",
        others=others_text,
        issues="\n".join(issues) or "-",
    )


def _issue_line(full_name: str, issue: IssueDraft) -> str:
    fixed = f" (fixed by {issue.fixed_by})" if issue.fixed_by else ""
    return f"- {full_name}#{issue.number} {issue.title}: {issue.why}{fixed}"


def issue_prompt(day: str, sections: list[SectionDraft], language: str) -> Prompt:
    blocks = []
    for section in sections:
        if not (section.highlights or section.issues):
            continue
        repository = section.repository
        lines = [f"## {repository.display_name} ({repository.full_name})", f"Assessment: {section.assessment}"]
        lines += ["Highlights:"] + [_item_line(item, topics=True) for item in section.highlights]
        lines += ["Notable new issues:"] + [_issue_line(repository.full_name, issue) for issue in section.issues]
        blocks.append("\n".join(lines))
    return _prompt(ISSUE_SYNTHESIS, language, day=day, repositories="\n\n".join(blocks))
