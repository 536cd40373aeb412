"""Build a day's report: collected rows -> triage -> an analyzer -> checked draft -> Report rows."""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import date, timedelta
from functools import cache
from string import Formatter

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from newsletter.analysis.diffs import is_verbatim, patch_for
from newsletter.analysis.draft import DayInput, ItemDraft, RepoDay, ReportDraft, Statement
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.analysis.triage import triage
from newsletter.analysis.wording import TEXT
from newsletter.days import day_window, report_zone
from newsletter.models import Commit, Issue, Report, ReportItem, ReportSection, Repository
from newsletter.render.escape import inline, phrase

logger = logging.getLogger(__name__)
TREND_DAYS = 7


class BuildError(Exception):
    """The report cannot be built as asked; the message says why, in one line."""


def day_input(day: date, language: str, repositories: list[Repository] | None = None) -> DayInput:
    since, until = day_window(day)
    repos = []
    for repository in repositories or Repository.objects.enabled():
        commits = list(Commit.objects.on_day(day).filter(repository=repository).order_by("committed_at", "sha"))
        new_issues = list(
            Issue.objects.filter(
                repository=repository, is_pull_request=False, created_at__gte=since, created_at__lt=until
            ).order_by("number")
        )
        prs = Issue.objects.filter(repository=repository, is_pull_request=True).filter(
            Q(created_at__gte=since, created_at__lt=until) | Q(closed_at__gte=since, closed_at__lt=until)
        )
        stats = {
            "trend": commit_trend(repository, day),
            "commits": len(commits),
            "additions": sum(c.additions for c in commits),
            "deletions": sum(c.deletions for c in commits),
            "authors": len({c.author_login or c.author_name for c in commits}),
            "issues_opened": len(new_issues),
            "pull_requests": prs.count(),
        }
        repos.append(
            RepoDay(
                repository=repository,
                commits=commits,
                new_issues=new_issues,
                triage=triage(commits, settings.HIGHLIGHTS_PER_REPO),
                stats=stats,
            )
        )
    return DayInput(day=day, language=language, repos=repos)


def commit_trend(repository: Repository, day: date, days: int = TREND_DAYS) -> list[dict]:
    """Commits per day over the `days` days ending with `day` (in REPORT_TIME_ZONE), oldest first."""
    since, _ = day_window(day - timedelta(days=days - 1))
    _, until = day_window(day)
    zone = report_zone()
    counts = Counter(
        moment.astimezone(zone).date()
        for moment in Commit.objects.filter(
            repository=repository, committed_at__gte=since, committed_at__lt=until
        ).values_list("committed_at", flat=True)
    )
    dates = [day - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    return [{"day": d.isoformat(), "commits": counts.get(d, 0)} for d in dates]


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
            if item.code and not is_verbatim(item.code.code, patch_for(repo.commit(item.sha).files, item.code.path)):
                draft.warnings.append(f"{item.sha[:7]}: dropped a code snippet that is not verbatim in its diff")
                item.code = None
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


def citation_links(cites: list[str], data: DayInput, language: str) -> str:
    links = []
    for cite in cites:
        if "#" in cite:
            full_name, number = cite.split("#")
            repo = next(r for r in data.repos if r.repository.full_name == full_name)
            issue = next(i for i in repo.new_issues if i.number == int(number))
            links.append(f"[#{number}]({issue.html_url})")
        else:
            _, commit = data.find_commit(cite)
            links.append(f"[`{commit.short_sha}`]({commit.html_url})")
    if language == "zh":
        return "（" + "、".join(links) + "）"
    return " (" + ", ".join(links) + ")"


@cache
def _emphatic_sentences(language: str) -> list[tuple[re.Pattern, str]]:
    """The heuristic's sentence shapes that carry emphasis ("**vLLM**: …"), each as (pattern, template)."""
    shapes = []
    for template in TEXT[language].values():
        if "**" not in template:
            continue
        pattern, fields = "", set()
        for literal, field, _, _ in Formatter().parse(template):
            pattern += re.escape(literal)
            if field is not None:
                pattern += f"(?P={field})" if field in fields else f"(?P<{field}>.+?)"
                fields.add(field)
        shapes.append((re.compile(pattern, re.S), template))
    return shapes


def statement_markdown(text: str, data: DayInput) -> str:
    """A summary or conclusion sentence as Markdown, without its full stop.

    Written in one of our own emphatic shapes about a repository of the day, it keeps that shape's
    emphasis and only the values filled in (titles, names) are escaped; any other sentence, the
    model's included, is escaped whole and so shows no emphasis of its own.
    """
    text = (text or "").strip()
    names = {repo.repository.display_name for repo in data.repos}
    for pattern, template in _emphatic_sentences(data.language):
        match = pattern.fullmatch(text)
        if match and match.groupdict().get("name") in names:
            values = {key: phrase(value) for key, value in match.groupdict().items()}  # none opens the line
            return template.rstrip("。.").format(**values)
    # The full stop goes before escaping: stripped after, it could leave a dangling backslash.
    return inline(text.rstrip("。."))


def statement_lines(statements: list[Statement], data: DayInput, marker: str) -> str:
    lines = []
    for number, statement in enumerate(statements, start=1):
        prefix = f"{number}." if marker == "1." else marker
        text = statement_markdown(statement.text, data)
        end = "。" if data.language == "zh" else "."
        lines.append(f"{prefix} {text}{citation_links(statement.cites, data, data.language)}{end}")
    return "\n".join(lines)


def store_draft(draft: ReportDraft, data: DayInput) -> Report:
    usage = draft.usage
    report = Report.objects.create(
        date=data.day,
        language=data.language,
        summary=statement_lines(draft.summary, data, "-"),
        conclusions=statement_lines(draft.conclusions, data, "1."),
        analyzer=draft.analyzer,
        model_ids=draft.model_ids,
        prompt_version=draft.prompt_version,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        llm_calls=usage.calls,
        cost_usd=round(usage.cost_usd, 6),
        warnings=draft.warnings,
        built_at=timezone.now(),
    )
    for order, (section, repo) in enumerate(zip(draft.sections, data.repos, strict=True)):
        row = ReportSection.objects.create(
            report=report,
            repository=repo.repository,
            order=order,
            assessment=inline(section.assessment),
            stats=section.stats,
        )
        items = [
            ReportItem(
                report=report,
                section=row,
                kind=ReportItem.Kind.HIGHLIGHT,
                commit=repo.commit(item.sha),
                related=item.related,
                category=item.category,
                title=item.title,
                details=item.details,
                code_snippet=item.code.code if item.code else "",
                code_path=item.code.path if item.code else "",
                code_language=item.code.language if item.code else "",
                impact=item.impact,
                risk=item.risk,
                breaking=item.breaking,
                score=item.score,
                order=order,
                source=item.source,
            )
            for order, item in enumerate(section.highlights)
        ]
        verdicts = repo.triage.verdicts
        items += [
            ReportItem(
                report=report,
                section=row,
                kind=ReportItem.Kind.LISTED,
                commit=repo.commit(sha),
                category=verdicts[sha].category,
                title=repo.commit(sha).title,
                score=verdicts[sha].score,
                order=order,
            )
            for order, sha in enumerate(section.listed)
        ]
        issues = {i.number: i for i in repo.new_issues}
        items += [
            ReportItem(
                report=report,
                section=row,
                kind=ReportItem.Kind.ISSUE,
                issue=issues[issue.number],
                title=issue.title,
                details=issue.why,
                order=order,
            )
            for order, issue in enumerate(section.issues)
        ]
        bulk_create_with_history(items, ReportItem)  # the first version of each item is history too
    return report
