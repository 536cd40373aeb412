"""Build a day's report: gathered rows -> an analyzer -> the checked draft -> stored Report rows."""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.db import transaction

from newsletter.analysis.diffs import is_verbatim, patch_for
from newsletter.analysis.draft import DayInput, ItemDraft, ReportDraft, Statement
from newsletter.analysis.heuristic import HeuristicAnalyzer
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
    """Hold every analyzer to the rules: known SHAs, verbatim code, cited sentences, each commit once."""
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
            item.related = [r for r in item.related if r["sha"] in known and r["sha"] != item.sha]
            files = repo.commit(item.sha).files
            verbatim = [s for s in item.snippets if is_verbatim(s.code, patch_for(files, s.path))]
            for _ in range(len(item.snippets) - len(verbatim)):
                draft.warnings.append(f"{item.sha[:7]}: dropped a code snippet that is not verbatim in its diff")
            item.snippets = verbatim
            seen.add(item.sha)
            seen.update(r["sha"] for r in item.related)
            kept.append(item)
        section.highlights = kept
        # Whatever no item covers goes to the day's table: no commit is ever silently dropped.
        section.listed = [c.sha for c in repo.commits if c.sha not in seen]
        known_issues = {i.number for i in repo.new_issues}
        for issue in [i for i in section.issues if i.number not in known_issues]:
            draft.warnings.append(f"{repo.repository.full_name}: dropped a highlight for unknown issue #{issue.number}")
        section.issues = [i for i in section.issues if i.number in known_issues]
    draft.summary = _cited(draft.summary, data, draft.warnings, "summary")
    draft.conclusions = _cited(draft.conclusions, data, draft.warnings, "conclusions")


def _cited(statements: list[Statement], data: DayInput, warnings: list[str], where: str) -> list[Statement]:
    valid = {c.sha for repo in data.repos for c in repo.commits} | {
        f"{repo.repository.full_name}#{i.number}" for repo in data.repos for i in repo.new_issues
    }
    kept = []
    for statement in statements:
        cites = [cite for cite in statement.cites if cite in valid]
        if cites:
            kept.append(Statement(statement.text, cites))
        else:
            warnings.append(f"{where}: dropped a sentence that cites no known commit or issue")
    return kept
