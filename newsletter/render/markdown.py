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

from newsletter.analysis.diffs import LINE_COMMENTS
from newsletter.models import Commit, Report, ReportItem, ReportSection, ReportStatement
from newsletter.render.escape import cell, fence, inline, phrase, safe_markdown

HEADINGS = {
    "zh": {
        "title": "AI Infra Daily · {date}",
        "past": "往期回顾",
        "no_past": "暂无往期记录",
        "summary": "摘要",
        "analysis": "具体内容分析",
        "issues": "Issues 看点",
        "no_issues": "今日没有值得关注的新 Issue。",
        "conclusions": "总结",
        "assessment": "评估",
        "details": "变更详情",
        "code": "代码细节",
        "impact_label": "**影响**（{risk}）：",
        "risk": {"low": "风险低", "medium": "风险中", "high": "风险高"},
        "breaking": "⚠️ 破坏性变更",
        "breaking_surface": "⚠️ 破坏性变更（{surface}）",
        "verdict": "评估",
        "verdicts": {"positive": "正面", "watch": "需关注", "risk": "风险"},
        "fixed_by": "已由 {link} 修复。",
        "topics_label": "主题",
        "topics": {
            "hardware": "硬件", "model": "模型", "kernel": "内核/注意力", "quantization": "量化",
            "speculative": "投机解码", "distributed": "分布式/并行", "scheduling": "调度/显存", "api": "API/CLI",
        },
        "related": "同一事件",
        "earlier_issue": "（见 {link} 期）",
        "roles": {"change": "原始变更", "revert": "回退", "redo": "重新引入"},
        "others": "其他提交",
        "table": ["提交", "类别", "标题", "作者", "行数"],
        "no_commits": "今日没有提交。",
        "activity": "{commits} 个提交 · +{additions}/−{deletions} 行 · {authors} 位作者 · 新 Issue {issues} 个",
        "colon": "：",
        "full_stop": "。",
        "cite_open": "（",
        "cite_sep": "、",
        "cite_close": "）",
        "after_sentence": "",
    },
    "en": {
        "title": "AI Infra Daily · {date}",
        "past": "Past issues",
        "no_past": "No earlier issues yet",
        "summary": "Summary",
        "analysis": "Analysis",
        "issues": "Issue highlights",
        "no_issues": "No notable new issues today.",
        "conclusions": "Conclusions",
        "assessment": "Assessment",
        "details": "Details",
        "code": "Code",
        "impact_label": "**Impact** ({risk}): ",
        "risk": {"low": "low risk", "medium": "medium risk", "high": "high risk"},
        "breaking": "⚠️ breaking",
        "breaking_surface": "⚠️ breaking ({surface})",
        "verdict": "Verdict",
        "verdicts": {"positive": "Positive", "watch": "Watch", "risk": "Risk"},
        "fixed_by": "Fixed by {link}.",
        "topics_label": "Topics",
        "topics": {
            "hardware": "Hardware", "model": "Model", "kernel": "Kernel/attention", "quantization": "Quantization",
            "speculative": "Speculative decoding", "distributed": "Distributed", "scheduling": "Scheduling/memory",
            "api": "API/CLI",
        },
        "related": "Same story",
        "earlier_issue": " (in the {link} issue)",
        "roles": {"change": "original change", "revert": "revert", "redo": "redo"},
        "others": "Other commits",
        "table": ["Commit", "Category", "Title", "Author", "Lines"],
        "no_commits": "No commits today.",
        "activity": "{commits} commits · +{additions}/−{deletions} lines · {authors} authors · {issues} new issues",
        "colon": ": ",
        "full_stop": ".",
        "cite_open": " (",
        "cite_sep": ", ",
        "cite_close": ")",
        "after_sentence": " ",
    },
}  # fmt: skip
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


def citation_links(statement: ReportStatement, words: dict) -> str:
    """ "（[`abc1234`](…)、[#12](…)）" or " ([`abc1234`](…), [#12](…))": commits in commit order, then issues."""
    commits = sorted(statement.commits.all(), key=lambda c: (c.committed_at, c.sha))
    issues = sorted(statement.issues.all(), key=lambda i: (i.repository_id, i.number))
    links = [f"[`{c.short_sha}`]({c.html_url})" for c in commits] + [f"[#{i.number}]({i.html_url})" for i in issues]
    if not links:
        return ""
    return words["cite_open"] + words["cite_sep"].join(links) + words["cite_close"]


def statement_markdown(statement: ReportStatement, words: dict) -> str:
    """A statement as the Markdown of one list item, without its marker."""
    if statement.legacy:
        return safe_markdown(statement.text)
    # The full stop goes before escaping: stripped after, it could leave a dangling backslash.
    text = (statement.text or "").strip().rstrip("。.")
    lead = phrase(statement.lead)
    # Plain text: only what it is shown as, never a link or emphasis of its own; a lead is the bold.
    sentence = f"**{lead}**{words['colon']}{phrase(text)}" if lead else inline(text)
    return f"{sentence}{citation_links(statement, words)}{words['full_stop']}"


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
    words: dict
    sections: list[ReportSection]
    past: list[str]
    summary: list[str]
    analyses: list[SectionBody]  # per section, without its heading and activity line
    issues: list[str]
    conclusions: list[str]

    @property
    def title(self) -> str:
        return self.words["title"].format(date=self.report.date.isoformat())


def report_parts(report: Report, repositories: Iterable[str] | None = None) -> ReportParts:
    words = HEADINGS[report.language]
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
            issues += [issue_line(item, words) for item in items]
            issues.append("")
    statements = statements_of(report, chosen)
    summary = [s for s in statements if s.kind == ReportStatement.Kind.SUMMARY]
    conclusions = [s for s in statements if s.kind == ReportStatement.Kind.CONCLUSION]
    return ReportParts(
        report=report,
        words=words,
        sections=sections,
        past=past_lines or [f"- {words['no_past']}"],
        summary=[f"- {statement_markdown(s, words)}" for s in summary],
        analyses=[section_body(section, words, story_commits) for section in sections],
        issues=issues or [words["no_issues"]],
        conclusions=[f"{n}. {statement_markdown(s, words)}" for n, s in enumerate(conclusions, start=1)],
    )


def issue_line(item: ReportItem, words: dict) -> str:
    issue = item.issue
    line = f"- **{phrase(item.title)}** ([#{issue.number}]({issue.html_url})){words['colon']}{phrase(item.details)}"
    if item.fixed_by_id:
        commit = item.fixed_by
        if item.details.strip() and not item.details.strip().endswith(_SENTENCE_END):
            line += words["full_stop"]
        if item.details.strip():
            line += words["after_sentence"]
        line += words["fixed_by"].format(link=f"[`{commit.short_sha}`]({commit.html_url})")
    return line


def activity_line(section: ReportSection, words: dict) -> str:
    stats = section.stats or {}
    return words["activity"].format(
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
    words = parts.words
    out: list[str] = [f"# {parts.title}", "", f"## {words['past']}", "", *parts.past, "", "---", ""]
    out += [f"## {words['summary']}", "", *parts.summary, "", "---", "", f"## {words['analysis']}", ""]
    for number, (section, body) in enumerate(zip(parts.sections, parts.analyses, strict=True), start=1):
        repository = section.repository
        out += [f"### {number}. {phrase(repository.display_name)} ({repository.html_url})", ""]
        out += [f"*{activity_line(section, words)}*", "", *body.lines]
    out += ["---", "", f"## {words['issues']}", "", *parts.issues, "", "---", "", f"## {words['conclusions']}", ""]
    out += parts.conclusions
    return "\n".join(out).rstrip() + "\n"


def related_commits(sections: list[ReportSection]) -> dict[str, Commit]:
    """The commits told inside other items' stories, fetched in one query for the whole report."""
    shas = {r["sha"] for s in sections for i in s.items.all() if i.kind == ReportItem.Kind.HIGHLIGHT for r in i.related}
    if not shas:
        return {}
    repositories = [s.repository_id for s in sections]
    return {c.sha: c for c in Commit.objects.filter(repository__in=repositories, sha__in=shas)}


def section_body(section: ReportSection, words: dict, story_commits: dict[str, Commit]) -> SectionBody:
    head: list[str] = []
    if section.assessment:
        head += [f"**{words['assessment']}**{words['colon']}{safe_markdown(section.assessment)}", ""]
    items = list(section.items.all())
    highlights = [i for i in items if i.kind == ReportItem.Kind.HIGHLIGHT and not i.hidden]
    commits_by_sha = {**story_commits, **{i.commit.sha: i.commit for i in items if i.commit_id}}
    rendered = [(item, render_highlight(item, commits_by_sha, words)) for item in highlights]
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
        tail += [words["no_commits"], ""]
    if table:
        table.sort(key=lambda c: c.committed_at)
        tail += [f"**{words['others']}**", ""]
        tail.append("| " + " | ".join(words["table"]) + " |")
        tail.append("|" + " --- |" * len(words["table"]))
        for commit in table:
            author = f"@{commit.author_login}" if commit.author_login else commit.author_name
            tail.append(
                f"| [`{commit.short_sha}`]({commit.html_url}) | {cell(categories.get(commit.sha, ''))} "
                f"| {cell(commit.title)} | {cell(author)} | +{commit.additions}/−{commit.deletions} |"
            )
        tail.append("")
    return SectionBody(head=head, items=rendered, tail=tail)


def earlier_issue(day: str, words: dict) -> str:
    """A link to the issue of an earlier day that told that part of the story."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        return ""
    return words["earlier_issue"].format(link=f"[{day}]({settings.SITE_URL}/reports/{day}/)")


def render_highlight(item: ReportItem, commits_by_sha: dict, words: dict) -> list[str]:
    commit = item.commit
    tag = f"[{phrase(item.category)}] " if item.category else ""
    breaking = ""
    if item.breaking:
        surface = phrase(item.breaking_surface)
        breaking = " " + (words["breaking_surface"].format(surface=surface) if surface else words["breaking"])
    out = [f"- **{tag}{phrase(item.title)}** ([`{commit.short_sha}`]({commit.html_url})){breaking}"]
    if item.details:
        out.append(f"  - **{words['details']}**{words['colon']}{phrase(item.details)}")
    for snippet in item.snippets.all():
        out.append(f"  - **{words['code']}**{words['colon']}{inline(snippet.note)}".rstrip())
        comment = LINE_COMMENTS.get(snippet.language, "")
        code = f"{comment} {snippet.path}\n{snippet.code}" if comment and snippet.path else snippet.code
        out += ["    " + line if line else "" for line in fence(code, snippet.language).split("\n")]
    if item.impact:
        risk = words["risk"].get(item.risk, item.risk)
        out.append(f"  - {words['impact_label'].format(risk=risk)}{phrase(item.impact)}")
    if item.verdict:
        verdict = words["verdicts"].get(item.verdict, item.verdict)
        reason = phrase(item.verdict_reason)
        out.append(f"  - **{words['verdict']}**{words['colon']}{verdict}" + (f" — {reason}" if reason else ""))
    if item.related:
        links = [
            f"{words['roles'].get(r['role'], r['role'])} [`{r['sha'][:7]}`]({commits_by_sha[r['sha']].html_url})"
            + (earlier_issue(r["day"], words) if r.get("earlier") and r.get("day") else "")
            for r in item.related
            if r["sha"] in commits_by_sha
        ]
        if links:
            out.append(f"  - **{words['related']}**{words['colon']}" + ", ".join(links))
    out.append("")
    return out
