"""A checked draft as Report rows: a section per repository, its items and their snippets, the
statements of the summary and the conclusions with the commits and issues they cite."""

from __future__ import annotations

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from newsletter.analysis.draft import TOPICS, VERDICTS, DayInput, ReportDraft, Statement
from newsletter.models import ItemSnippet, Report, ReportItem, ReportSection, ReportStatement
from newsletter.models.reports import record_versions
from newsletter.render.escape import inline


def store_draft(draft: ReportDraft, data: DayInput) -> Report:
    usage = draft.usage
    report = Report.objects.create(
        date=data.day,
        language=data.language,
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
    snippets: list[ItemSnippet] = []
    for order, (section, repo) in enumerate(zip(draft.sections, data.repos, strict=True)):
        row = ReportSection.objects.create(
            report=report,
            repository=repo.repository,
            order=order,
            assessment=inline(section.assessment),
            stats=section.stats,
        )
        highlights = [
            ReportItem(
                report=report,
                section=row,
                kind=ReportItem.Kind.HIGHLIGHT,
                commit=repo.commit(item.sha),
                related=item.related,
                category=item.category,
                title=item.title,
                details=item.details,
                impact=item.impact,
                risk=item.risk,
                breaking=item.breaking,
                breaking_surface=_fit(item.breaking_surface, ReportItem, "breaking_surface") if item.breaking else "",
                verdict=item.verdict if item.verdict in VERDICTS else "",
                verdict_reason=item.verdict_reason,
                topics=[topic for topic in TOPICS if topic in item.topics],
                selection_reason=item.selection_reason,
                score=item.score,
                order=order,
                source=item.source,
            )
            for order, item in enumerate(section.highlights)
        ]
        verdicts = repo.triage.verdicts
        listed = [
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
        day_commits = {c.sha: c for c in repo.commits}
        picked = [
            ReportItem(
                report=report,
                section=row,
                kind=ReportItem.Kind.ISSUE,
                issue=issues[issue.number],
                title=issue.title,
                details=issue.why,
                fixed_by=day_commits.get(issue.fixed_by),
                order=order,
            )
            for order, issue in enumerate(section.issues)
        ]
        # The first version of each item is history too; the created rows come back with their keys.
        highlights = bulk_create_with_history(highlights, ReportItem)
        bulk_create_with_history(listed + picked, ReportItem)
        snippets += [
            ItemSnippet(
                item=row,
                order=n,
                path=_fit(s.path, ItemSnippet, "path"),
                language=_fit(s.language, ItemSnippet, "language"),
                code=s.code,
                note=s.note.strip(),
            )
            for row, item in zip(highlights, section.highlights, strict=True)
            for n, s in enumerate(item.snippets)
        ]
    bulk_create_with_history(snippets, ItemSnippet)
    store_statements(
        report,
        [(ReportStatement.Kind.SUMMARY, s) for s in draft.summary]
        + [(ReportStatement.Kind.CONCLUSION, s) for s in draft.conclusions],
        data,
    )
    return report


def store_statements(report: Report, statements: list[tuple[str, Statement]], data: DayInput) -> None:
    """Statements as rows citing Commit and Issue rows, in a constant number of queries.

    Their first history version records what they cited: an editor's later change of the
    citations then shows in the report's edit history as a change, not as the build's doing.
    """
    commits = {c.sha: c for repo in data.repos for c in repo.commits}
    issues = {f"{repo.repository.full_name}#{i.number}": i for repo in data.repos for i in repo.new_issues}
    orders = {kind: 0 for kind in ReportStatement.Kind.values}
    rows, cites = [], {}
    for kind, statement in statements:
        order = orders[kind]
        orders[kind] += 1
        lead = _fit(statement.lead, ReportStatement, "lead")
        rows.append(ReportStatement(report=report, kind=kind, order=order, lead=lead, text=statement.text.strip()))
        cites[kind, order] = (
            [commits[c] for c in dict.fromkeys(statement.cites) if c in commits],
            [issues[c] for c in dict.fromkeys(statement.cites) if c in issues],
        )
    if not rows:
        return
    ReportStatement.objects.bulk_create(rows)
    rows = list(report.statements.all())  # with their keys, whatever the database returns from a bulk insert
    for field, column, picked in (("commits", "commit_id", 0), ("issues", "issue_id", 1)):
        links = getattr(ReportStatement, field).through
        links.objects.bulk_create(
            links(reportstatement_id=row.pk, **{column: cited.pk})
            for row in rows
            for cited in cites[row.kind, row.order][picked]
        )
    record_versions(rows)


def _fit(text: str, model, field: str) -> str:
    """Stripped, and cut to the column's length: PostgreSQL refuses what does not fit."""
    return (text or "").strip()[: model._meta.get_field(field).max_length]
