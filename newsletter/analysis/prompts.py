"""Build the model prompts: pure functions from plain data to (system, user) text.

Templates live in templates/prompts/<version>/<language>/; PROMPT_VERSION names them and is part
of the per-commit cache key, so editing a template means a new version directory.

What each prompt leaves out, and why:
- per commit: diffs beyond a per-file and a total budget (the manifest still lists every file,
  so the model never mistakes an omitted diff for a missing file); test, docs and CI diffs come
  last because they rarely change what a reader must do.
- per repository and for the whole issue: all diffs; the model sees only the checked items, so
  anything it says can be traced to an item it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from django.conf import settings

from newsletter.analysis.diffs import NOT_SHIPPED, file_role
from newsletter.analysis.draft import ItemDraft, RepoDay, SectionDraft
from newsletter.analysis.messages import shorten
from newsletter.analysis.triage import Verdict
from newsletter.render.escape import fence

PROMPT_VERSION = "v1"
PER_FILE_BUDGET = 4000
TOTAL_BUDGET = 16000
MESSAGE_BUDGET = 3000
ISSUE_BODY_BUDGET = 600


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


@cache
def template(language: str, name: str) -> Template:
    path = Path(settings.BASE_DIR) / "templates" / "prompts" / PROMPT_VERSION / language / f"{name}.txt"
    return Template(path.read_text(encoding="utf-8"))


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


def item_prompt(repo: RepoDay, sha: str, language: str) -> Prompt:
    commit = repo.commit(sha)
    verdict: Verdict = repo.triage.verdicts[sha]
    manifest, diffs = diff_budget(commit.files)
    user = template(language, "item_user").substitute(
        repository=repo.repository.full_name,
        sha=commit.sha,
        title=commit.title,
        author=commit.author_login or commit.author_name or "-",
        category=verdict.category,
        signals="; ".join(verdict.reasons),
        message=shorten(commit.message.strip(), MESSAGE_BUDGET),
        file_count=len(commit.files),
        additions=commit.additions,
        deletions=commit.deletions,
        manifest="\n".join(manifest),
        per_file_budget=PER_FILE_BUDGET,
        total_budget=TOTAL_BUDGET,
        diffs="\n\n".join(diffs) or "-",
    )
    return Prompt(template(language, "item_system").template, user)


def _item_line(item: ItemDraft) -> str:
    breaking = ", BREAKING" if item.breaking else ""
    return f"- {item.sha} [{item.category}] {item.title} (risk {item.risk}{breaking}): {item.impact}"


def repository_prompt(repo: RepoDay, highlights: list[ItemDraft], day: str, language: str) -> Prompt:
    covered = {item.sha for item in highlights} | {r["sha"] for item in highlights for r in item.related}
    others = [
        f"- {c.sha[:12]} [{repo.triage.verdicts[c.sha].category}] {c.title}"
        for c in repo.commits
        if c.sha not in covered
    ]
    issues = [
        f"- #{i.number} {i.title} (labels: {', '.join(i.labels) or '-'}; {i.comments} comments)\n"
        f"  {shorten(' '.join((i.body or '').split()), ISSUE_BODY_BUDGET)}"
        for i in repo.new_issues
    ]
    stats = repo.stats
    user = template(language, "repository_user").substitute(
        repository=repo.repository.full_name,
        display_name=repo.repository.display_name,
        day=day,
        commits=stats["commits"],
        additions=stats["additions"],
        deletions=stats["deletions"],
        authors=stats["authors"],
        issues_opened=stats["issues_opened"],
        highlights="\n".join(_item_line(i) for i in highlights) or "-",
        others="\n".join(others) or "-",
        issues="\n".join(issues) or "-",
    )
    return Prompt(template(language, "repository_system").template, user)


def issue_prompt(day: str, sections: list[SectionDraft], language: str) -> Prompt:
    blocks = []
    for section in sections:
        repository = section.repository
        lines = [f"## {repository.display_name} ({repository.full_name})", f"Assessment: {section.assessment}"]
        lines += ["Highlights:"] + [_item_line(item) for item in section.highlights]
        lines += ["Notable new issues:"] + [
            f"- {repository.full_name}#{issue.number} {issue.title}: {issue.why}" for issue in section.issues
        ]
        blocks.append("\n".join(lines))
    user = template(language, "issue_user").substitute(day=day, repositories="\n\n".join(blocks))
    return Prompt(template(language, "issue_system").template, user)
