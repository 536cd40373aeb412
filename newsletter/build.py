"""Build a day's report: gathered rows -> an analyzer -> the checked draft -> stored Report rows."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date

from django.conf import settings
from django.db import transaction

from newsletter.analysis.diffs import is_verbatim, patch_for
from newsletter.analysis.draft import DayInput, ItemDraft, RepoDay, ReportDraft, Statement
from newsletter.analysis.grounding import Sources, keep_grounded, ungrounded
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.analysis.triage import parse_title
from newsletter.gather import day_input
from newsletter.models import Report
from newsletter.store import store_draft

logger = logging.getLogger(__name__)


class BuildError(Exception):
    """The report cannot be built as asked; the message says why, in one line."""


def make_analyzer(name: str):
    """`auto` means Claude when ANTHROPIC_API_KEY is set, the offline heuristic otherwise."""
    if name == "auto":
        name = "anthropic" if settings.ANTHROPIC_API_KEY else "heuristic"
    if name == "heuristic":
        return HeuristicAnalyzer()
    if name == "anthropic":
        if not settings.ANTHROPIC_API_KEY:
            raise BuildError("--analyzer anthropic needs ANTHROPIC_API_KEY")
        from newsletter.analysis.anthropic import AnthropicAnalyzer

        return AnthropicAnalyzer.from_settings()
    raise BuildError(f"unknown analyzer {name!r} (auto, anthropic or heuristic)")


def build_report(*, day: date, language: str, analyzer: str = "auto", force: bool = False, progress=None) -> Report:
    """Build (or with force, rebuild) the draft for `day`; an approved or sent report is never touched."""
    existing = Report.objects.filter(date=day, language=language).first()
    if existing and existing.is_locked:
        raise BuildError(f"the {language} report of {day} is {existing.status}; it is never rebuilt")
    if existing and not force:
        raise BuildError(f"a {language} draft of {day} exists; pass --force to rebuild it")
    data = day_input(day, language)
    draft = make_analyzer(analyzer).analyze(data, progress=progress)
    check_draft(draft, data)
    with transaction.atomic():
        if existing:
            # Locked against a concurrent approval between the check above and this delete.
            locked = Report.objects.select_for_update().get(pk=existing.pk)
            if locked.is_locked:
                raise BuildError(f"the {language} report of {day} was {locked.status} meanwhile; not rebuilt")
            locked.delete()
        return store_draft(draft, data)


def check_draft(draft: ReportDraft, data: DayInput) -> None:
    """Hold every analyzer to the rules: known SHAs and issues, verbatim code, cited sentences, each
    commit once, and every backticked name and measured number found in the sources."""
    for section, repo in zip(draft.sections, data.repos, strict=True):
        known = {c.sha for c in repo.commits}
        kept: list[ItemDraft] = []
        seen: set[str] = set()
        for item in section.highlights:
            if item.sha not in known or item.sha in seen:
                draft.warnings.append(
                    f"{repo.repository.full_name}: dropped an item for unknown commit {item.sha[:12]}"
                )
                continue
            # Story members: commits of the day, or of an earlier day that the gathered data holds.
            earlier = {c.sha for c in repo.earlier_commits}
            item.related = [
                r
                for r in item.related
                if r["sha"] != item.sha and (r["sha"] in known or (r.get("earlier") and r["sha"] in earlier))
            ]
            files = repo.commit(item.sha).files
            verbatim = [s for s in item.snippets if is_verbatim(s.code, patch_for(files, s.path))]
            for _ in range(len(item.snippets) - len(verbatim)):
                draft.warnings.append(f"{item.sha[:7]}: dropped a code snippet that is not verbatim in its diff")
            item.snippets = verbatim
            _ground_item(item, repo, draft)
            seen.add(item.sha)
            seen.update(r["sha"] for r in item.related if not r.get("earlier"))
            kept.append(item)
        section.highlights = kept
        # Whatever no item covers goes to the day's table: no commit is ever silently dropped.
        section.listed = [c.sha for c in repo.commits if c.sha not in seen]
        known_issues = {i.number: i for i in repo.new_issues}
        for issue in [i for i in section.issues if i.number not in known_issues]:
            draft.warnings.append(f"{repo.repository.full_name}: dropped a highlight for unknown issue #{issue.number}")
        section.issues = [i for i in section.issues if i.number in known_issues]
        for pick in section.issues:
            if pick.fixed_by and pick.fixed_by not in known:
                pick.fixed_by = ""
            sources = issue_sources(known_issues[pick.number])
            if pick.fixed_by:
                sources += commit_sources(repo, pick.fixed_by)
            pick.why = _grounded(pick.why, sources, draft, f"issue #{pick.number}")
        day_sources = Sources.of(
            [text for c in repo.commits for text in (c.sha, c.title, c.message)] + [i.title for i in repo.new_issues]
        )
        section.assessment = _grounded(
            section.assessment, day_sources + _items_text(kept), draft, f"{repo.repository.full_name} assessment"
        )
    draft.summary = _cited(draft.summary, data, draft, "summary")
    draft.conclusions = _cited(draft.conclusions, data, draft, "conclusions")


def commit_sources(repo: RepoDay, sha: str) -> Sources:
    """What may be said of a commit: its message, its files and their diffs, its pull request."""
    commit = repo.commit(sha)
    pull = repo.pull_request(sha)
    # A hunk header's ranges ("@@ -12,7 +12,9 @@") are line numbers, not figures a sentence could
    # quote; the function named after them is kept.
    patches = [re.sub(r"^@@ [^@]* @@", "", f.get("patch") or "", flags=re.M) for f in commit.files]
    files = [f.get("path", "") for f in commit.files] + patches
    pull_texts = [pull.title, pull.body] if pull else []
    return Sources.of([commit.sha, commit.title, commit.message, *files, *pull_texts])


def issue_sources(issue) -> Sources:
    return Sources.of([issue.title, issue.body, " ".join(issue.labels)])


def _items_text(items: list[ItemDraft]) -> Sources:
    """Checked items: a synthesis may repeat what they say."""
    return Sources.of(text for item in items for text in (item.title, item.details, item.impact))


def _grounded(text: str, sources: Sources, draft: ReportDraft, where: str) -> str:
    kept, failed = keep_grounded(text, sources)
    for check in failed:
        draft.dropped[check] = draft.dropped.get(check, 0) + 1
    if failed:
        draft.warnings.append(
            f"{where}: dropped {len(failed)} sentence(s) naming an identifier or a figure that is not in the sources"
        )
    return kept


def _ground_item(item: ItemDraft, repo: RepoDay, draft: ReportDraft) -> None:
    sources = commit_sources(repo, item.sha)
    where = item.sha[:7]
    if ungrounded(item.title, sources):
        draft.dropped["headline"] = draft.dropped.get("headline", 0) + 1
        draft.warnings.append(f"{where}: the headline named what the commit does not; its title is used instead")
        item.title = parse_title(repo.commit(item.sha).title).text or repo.commit(item.sha).title
    item.details = _grounded(item.details, sources, draft, where)
    item.impact = _grounded(item.impact, sources, draft, where)
    item.verdict_reason = _grounded(item.verdict_reason, sources, draft, where)
    item.breaking_surface = _grounded(item.breaking_surface, sources, draft, where)
    item.snippets = [replace(s, note=_grounded(s.note, sources, draft, where)) for s in item.snippets]


def _cited(statements: list[Statement], data: DayInput, draft: ReportDraft, where: str) -> list[Statement]:
    commits = {c.sha: repo for repo in data.repos for c in repo.commits}
    issues = {f"{repo.repository.full_name}#{i.number}": i for repo in data.repos for i in repo.new_issues}
    kept = []
    for statement in statements:
        cites = [cite for cite in statement.cites if cite in commits or cite in issues]
        if not cites:
            draft.warnings.append(f"{where}: dropped a sentence that cites no known commit or issue")
            draft.dropped["uncited"] = draft.dropped.get("uncited", 0) + 1
            continue
        sources = Sources.of([])
        for cite in cites:
            sources += commit_sources(commits[cite], cite) if cite in commits else issue_sources(issues[cite])
        lead = statement.lead
        if lead and ungrounded(lead, sources):
            draft.dropped["lead"] = draft.dropped.get("lead", 0) + 1
            lead = ""
        text = _grounded(statement.text, sources, draft, where)
        if text:
            kept.append(Statement(text, cites, lead))
    return kept
