"""A checked draft as Report rows: a section per repository, its items, the cited statements."""

from __future__ import annotations

import re
from functools import cache
from string import Formatter

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from newsletter.analysis.draft import DayInput, ReportDraft, Statement
from newsletter.analysis.wording import TEXT
from newsletter.models import Report, ReportItem, ReportSection
from newsletter.render.escape import inline, phrase


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
                code_snippet=item.snippets[0].code if item.snippets else "",
                code_path=item.snippets[0].path if item.snippets else "",
                code_language=item.snippets[0].language if item.snippets else "",
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
