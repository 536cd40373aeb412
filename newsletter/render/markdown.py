"""A report as Markdown, from its rows, in the readers' structure; optionally for some repositories only.

Order (zh / en): 往期回顾 / Past issues, 摘要 / Summary, 具体内容分析 / Analysis (per repository:
评估, highlighted commits, the day's other commits as a table), Issues 看点 / Issue highlights,
总结 / Conclusions. Every link is built here, from stored URLs: a statement's citations from the
commit and issue rows it cites, never from text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import pgettext_lazy

from newsletter.analysis.diffs import LINE_COMMENTS
from newsletter.languages import rendered_in
from newsletter.models import Commit, Report, ReportItem, ReportSection, ReportStatement
from newsletter.render.escape import cell, fence, inline, phrase, safe_markdown

# The report's words, in English; the Chinese is in the catalogue (newsletter/locale). Every text
# built from them is built inside `rendered_in(report.language)`. Headings and labels are short
# words that mean other things elsewhere, hence their contexts.
TITLE = "AI Infra Daily · {date}"  # the same in every language
PAST = pgettext_lazy("report heading", "Past issues")
NO_PAST = pgettext_lazy("report", "No earlier issues yet")
SUMMARY = pgettext_lazy("report heading", "Summary")
ANALYSIS = pgettext_lazy("report heading", "Analysis")
ISSUES = pgettext_lazy("report heading", "Issue highlights")
NO_ISSUES = pgettext_lazy("report", "No notable new issues today.")
CONCLUSIONS = pgettext_lazy("report heading", "Conclusions")
ASSESSMENT = pgettext_lazy("report label", "Assessment")
DETAILS = pgettext_lazy("report label", "Details")
CODE = pgettext_lazy("report label", "Code")
IMPACT = pgettext_lazy("report label", "Impact")
VERDICT = pgettext_lazy("report label", "Verdict")
RELATED = pgettext_lazy("report label", "Same story")
OTHERS = pgettext_lazy("report label", "Other commits")
BREAKING = pgettext_lazy("report label", "⚠️ breaking")
NO_COMMITS = pgettext_lazy("report", "No commits today.")
FIXED_BY = pgettext_lazy("report", "Fixed by {link}.")
EARLIER_ISSUE = pgettext_lazy("report", " (in the {link} issue)")
ACTIVITY = pgettext_lazy(
    "report", "{commits} commits · +{additions}/−{deletions} lines · {authors} authors · {issues} new issues"
)
RISKS = {
    "low": pgettext_lazy("risk", "low risk"),
    "medium": pgettext_lazy("risk", "medium risk"),
    "high": pgettext_lazy("risk", "high risk"),
}
VERDICTS = {
    "positive": pgettext_lazy("verdict", "Positive"),
    "watch": pgettext_lazy("verdict", "Watch"),
    "risk": pgettext_lazy("verdict", "Risk"),
}
TOPICS = {
    "hardware": pgettext_lazy("topic", "Hardware"),
    "model": pgettext_lazy("topic", "Model"),
    "kernel": pgettext_lazy("topic", "Kernel/attention"),
    "quantization": pgettext_lazy("topic", "Quantization"),
    "speculative": pgettext_lazy("topic", "Speculative decoding"),
    "distributed": pgettext_lazy("topic", "Distributed"),
    "scheduling": pgettext_lazy("topic", "Scheduling/memory"),
    "api": pgettext_lazy("topic", "API/CLI"),
}
ROLES = {
    "change": pgettext_lazy("story role", "original change"),
    "revert": pgettext_lazy("story role", "revert"),
    "redo": pgettext_lazy("story role", "redo"),
}
TABLE = [
    pgettext_lazy("table column", "Commit"),
    pgettext_lazy("table column", "Category"),
    pgettext_lazy("table column", "Title"),
    pgettext_lazy("table column", "Author"),
    pgettext_lazy("table column", "Lines"),
]
# Punctuation differs too: Chinese uses full-width marks with no space around them.
COLON = pgettext_lazy("punctuation", ": ")
FULL_STOP = pgettext_lazy("punctuation", ".")
PAREN = pgettext_lazy("punctuation", " ({text})")
LIST_SEP = pgettext_lazy("punctuation", ", ")
# A sentence after another: Chinese puts no space between them.
SENTENCES = pgettext_lazy("punctuation", "{first} {second}")
PAST_ISSUES = 5
_SENTENCE_END = tuple(".。!！?？…")


def report_url(report: Report) -> str:
    return f"{settings.SITE_URL}/reports/{report.date.isoformat()}/"


def sections_of(report: Report, repositories: Iterable[str] | None = None) -> list[ReportSection]:
    """The report's sections with their items, in a fixed number of queries; only `repositories` when given."""
    sections = report.sections.select_related("repository").prefetch_related(
        "items__commit", "items__issue", "items__fixed_by", "items__snippets"
    )
    chosen = {name.lower() for name in repositories} if repositories is not None else None
    return [s for s in sections if chosen is None or s.repository.full_name.lower() in chosen]


def statements_of(report: Report, repository_ids: set[int] | None) -> list[ReportStatement]:
    """The statements a variant keeps: those whose every cited commit and issue is of its repositories.

    A statement that cites nothing (an editor's, or one written before citations were rows) is
    kept in every variant. Three queries, however many statements and citations.
    """
    statements = report.statements.prefetch_related("commits", "issues").order_by("kind", "order", "pk")
    if repository_ids is None:
        return list(statements)
    return [
        s
        for s in statements
        if all(c.repository_id in repository_ids for c in s.commits.all())
        and all(i.repository_id in repository_ids for i in s.issues.all())
    ]


def citation_links(statement: ReportStatement) -> str:
    """ "（[`abc1234`](…)、[#12](…)）" or " ([`abc1234`](…), [#12](…))": commits in commit order, then issues."""
    commits = sorted(statement.commits.all(), key=lambda c: (c.committed_at, c.sha))
    issues = sorted(statement.issues.all(), key=lambda i: (i.repository_id, i.number))
    links = [f"[`{c.short_sha}`]({c.html_url})" for c in commits] + [f"[#{i.number}]({i.html_url})" for i in issues]
    if not links:
        return ""
    return PAREN.format(text=LIST_SEP.join(links))


def statement_markdown(statement: ReportStatement) -> str:
    """A statement as the Markdown of one list item, without its marker."""
    if statement.legacy:
        return safe_markdown(statement.text)
    # The full stop goes before escaping: stripped after, it could leave a dangling backslash.
    text = (statement.text or "").strip().rstrip("。.")
    lead = phrase(statement.lead)
    # Plain text: only what it is shown as, never a link or emphasis of its own; a lead is the bold.
    sentence = f"**{lead}**{COLON}{phrase(text)}" if lead else inline(text)
    return f"{sentence}{citation_links(statement)}{FULL_STOP}"


@dataclass
class SectionBody:
    """A repository's analysis as Markdown lines: its assessment, each highlighted item, the table."""

    head: list[str]
    items: list[tuple[ReportItem, list[str]]]
    tail: list[str]

    @property
    def lines(self) -> list[str]:
        return [*self.head, *(line for _, lines in self.items for line in lines), *self.tail]


@dataclass
class ReportParts:
    """A report cut into the blocks every output shares: Markdown lines, already filtered and escaped."""

    report: Report
    sections: list[ReportSection]
    past: list[str]
    summary: list[str]
    analyses: list[SectionBody]  # per section, without its heading and activity line
    issues: list[str]
    conclusions: list[str]

    @property
    def title(self) -> str:
        return TITLE.format(date=self.report.date.isoformat())


def report_parts(report: Report, repositories: Iterable[str] | None = None) -> ReportParts:
    with rendered_in(report.language):
        return _report_parts(report, repositories)


def _report_parts(report: Report, repositories: Iterable[str] | None) -> ReportParts:
    sections = sections_of(report, repositories)
    chosen = {s.repository_id for s in sections} if repositories is not None else None
    past = Report.objects.filter(language=report.language, status=Report.Status.SENT, date__lt=report.date)
    past_lines = [f"- [{p.date.isoformat()}]({report_url(p)})" for p in past.order_by("-date")[:PAST_ISSUES]]
    story_commits = related_commits(sections)
    issues: list[str] = []
    for section in sections:
        items = [i for i in section.items.all() if i.kind == ReportItem.Kind.ISSUE and not i.hidden]
        if items:
            issues += [f"### {phrase(section.repository.display_name)}", ""]
            issues += [issue_line(item) for item in items]
            issues.append("")
    statements = statements_of(report, chosen)
    summary = [s for s in statements if s.kind == ReportStatement.Kind.SUMMARY]
    conclusions = [s for s in statements if s.kind == ReportStatement.Kind.CONCLUSION]
    return ReportParts(
        report=report,
        sections=sections,
        past=past_lines or [f"- {NO_PAST}"],
        summary=[f"- {statement_markdown(s)}" for s in summary],
        analyses=[section_body(section, story_commits) for section in sections],
        issues=issues or [str(NO_ISSUES)],
        conclusions=[f"{n}. {statement_markdown(s)}" for n, s in enumerate(conclusions, start=1)],
    )


def issue_line(item: ReportItem) -> str:
    issue = item.issue
    line = f"- **{phrase(item.title)}** ([#{issue.number}]({issue.html_url})){COLON}{phrase(item.details)}"
    if not item.fixed_by_id:
        return line
    commit = item.fixed_by
    fixed = FIXED_BY.format(link=f"[`{commit.short_sha}`]({commit.html_url})")
    details = item.details.strip()
    if not details:
        return line + fixed
    ended = line if details.endswith(_SENTENCE_END) else f"{line}{FULL_STOP}"
    return SENTENCES.format(first=ended, second=fixed)


def activity_line(section: ReportSection) -> str:
    """The section's numbers in one line, in the active language."""
    stats = section.stats or {}
    return ACTIVITY.format(
        commits=stats.get("commits", 0),
        additions=stats.get("additions", 0),
        deletions=stats.get("deletions", 0),
        authors=stats.get("authors", 0),
        issues=stats.get("issues_opened", 0),
    )


def render_markdown(report: Report, repositories: Iterable[str] | None = None) -> str:
    return markdown_of(report_parts(report, repositories))


def markdown_of(parts: ReportParts) -> str:
    """The issue as Markdown, from parts already read (an email builds its text and HTML from one)."""
    with rendered_in(parts.report.language):
        out: list[str] = [f"# {parts.title}", "", f"## {PAST}", "", *parts.past, "", "---", ""]
        out += [f"## {SUMMARY}", "", *parts.summary, "", "---", "", f"## {ANALYSIS}", ""]
        for number, (section, body) in enumerate(zip(parts.sections, parts.analyses, strict=True), start=1):
            repository = section.repository
            out += [f"### {number}. {phrase(repository.display_name)} ({repository.html_url})", ""]
            out += [f"*{activity_line(section)}*", "", *body.lines]
        out += ["---", "", f"## {ISSUES}", "", *parts.issues, "", "---", "", f"## {CONCLUSIONS}", ""]
        out += parts.conclusions
    return "\n".join(out).rstrip() + "\n"


def related_commits(sections: list[ReportSection]) -> dict[str, Commit]:
    """The commits told inside other items' stories, fetched in one query for the whole report."""
    shas = {r["sha"] for s in sections for i in s.items.all() if i.kind == ReportItem.Kind.HIGHLIGHT for r in i.related}
    if not shas:
        return {}
    repositories = [s.repository_id for s in sections]
    return {c.sha: c for c in Commit.objects.filter(repository__in=repositories, sha__in=shas)}


def section_body(section: ReportSection, story_commits: dict[str, Commit]) -> SectionBody:
    head: list[str] = []
    if section.assessment:
        head += [f"**{ASSESSMENT}**{COLON}{safe_markdown(section.assessment)}", ""]
    items = list(section.items.all())
    highlights = [i for i in items if i.kind == ReportItem.Kind.HIGHLIGHT and not i.hidden]
    commits_by_sha = {**story_commits, **{i.commit.sha: i.commit for i in items if i.commit_id}}
    rendered = [(item, render_highlight(item, commits_by_sha)) for item in highlights]
    # A hidden highlight's commits still belong to the day: they move to the table.
    table = [i.commit for i in items if i.kind == ReportItem.Kind.LISTED and not i.hidden]
    categories = {i.commit.sha: i.category for i in items if i.commit_id}
    for item in items:
        if item.kind == ReportItem.Kind.HIGHLIGHT and item.hidden:
            table.append(item.commit)
            # Only the day's own: a member from an earlier day was in that day's table or story.
            table += [
                commits_by_sha[r["sha"]] for r in item.related if r["sha"] in commits_by_sha and not r.get("earlier")
            ]
    tail: list[str] = []
    if not highlights and not table and not section.assessment:  # an assessment already says so
        tail += [str(NO_COMMITS), ""]
    if table:
        table.sort(key=lambda c: c.committed_at)
        tail += [f"**{OTHERS}**", ""]
        tail.append("| " + " | ".join(str(column) for column in TABLE) + " |")
        tail.append("|" + " --- |" * len(TABLE))
        for commit in table:
            author = f"@{commit.author_login}" if commit.author_login else commit.author_name
            tail.append(
                f"| [`{commit.short_sha}`]({commit.html_url}) | {cell(categories.get(commit.sha, ''))} "
                f"| {cell(commit.title)} | {cell(author)} | +{commit.additions}/−{commit.deletions} |"
            )
        tail.append("")
    return SectionBody(head=head, items=rendered, tail=tail)


def earlier_issue(day: str) -> str:
    """A link to the issue of an earlier day that told that part of the story."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        return ""
    return EARLIER_ISSUE.format(link=f"[{day}]({settings.SITE_URL}/reports/{day}/)")


def render_highlight(item: ReportItem, commits_by_sha: dict) -> list[str]:
    commit = item.commit
    tag = f"[{phrase(item.category)}] " if item.category else ""
    breaking = ""
    if item.breaking:
        surface = phrase(item.breaking_surface)
        breaking = f" {BREAKING}" + (PAREN.format(text=surface) if surface else "")
    out = [f"- **{tag}{phrase(item.title)}** ([`{commit.short_sha}`]({commit.html_url})){breaking}"]
    if item.details:
        out.append(f"  - **{DETAILS}**{COLON}{phrase(item.details)}")
    for snippet in item.snippets.all():
        out.append(f"  - **{CODE}**{COLON}{inline(snippet.note)}".rstrip())
        comment = LINE_COMMENTS.get(snippet.language, "")
        code = f"{comment} {snippet.path}\n{snippet.code}" if comment and snippet.path else snippet.code
        out += ["    " + line if line else "" for line in fence(code, snippet.language).split("\n")]
    if item.impact:
        risk = PAREN.format(text=RISKS.get(item.risk, item.risk))
        out.append(f"  - **{IMPACT}**{risk}{COLON}{phrase(item.impact)}")
    if item.verdict:
        verdict = VERDICTS.get(item.verdict, item.verdict)
        reason = phrase(item.verdict_reason)
        out.append(f"  - **{VERDICT}**{COLON}{verdict}" + (f" — {reason}" if reason else ""))
    if item.related:
        links = [
            f"{ROLES.get(r['role'], r['role'])} [`{r['sha'][:7]}`]({commits_by_sha[r['sha']].html_url})"
            + (earlier_issue(r["day"]) if r.get("earlier") and r.get("day") else "")
            for r in item.related
            if r["sha"] in commits_by_sha
        ]
        if links:
            out.append(f"  - **{RELATED}**{COLON}" + ", ".join(links))
    out.append("")
    return out
