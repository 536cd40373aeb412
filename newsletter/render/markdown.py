"""A report as Markdown, from its rows, in the readers' structure; optionally for some repositories only.

Order (zh / en): 往期回顾 / Past issues, 摘要 / Summary, 具体内容分析 / Analysis (per repository:
评估, highlighted commits, the day's other commits as a table), Issues 看点 / Issue highlights,
总结 / Conclusions. Every link is built here or by the build, from stored URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from newsletter.analysis.diffs import LINE_COMMENTS
from newsletter.models import Commit, Report, ReportItem, ReportSection
from newsletter.render.escape import cell, fence, phrase, safe_markdown

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
        "related": "同一事件",
        "roles": {"change": "原始变更", "revert": "回退", "redo": "重新引入"},
        "others": "其他提交",
        "table": ["提交", "类别", "标题", "作者", "行数"],
        "no_commits": "今日没有提交。",
        "activity": "{commits} 个提交 · +{additions}/−{deletions} 行 · {authors} 位作者 · 新 Issue {issues} 个",
        "colon": "：",
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
        "related": "Same story",
        "roles": {"change": "original change", "revert": "revert", "redo": "redo"},
        "others": "Other commits",
        "table": ["Commit", "Category", "Title", "Author", "Lines"],
        "no_commits": "No commits today.",
        "activity": "{commits} commits · +{additions}/−{deletions} lines · {authors} authors · {issues} new issues",
        "colon": ": ",
    },
}
_GITHUB_LINK = re.compile(r"https://github\.com/([^/\s)]+/[^/\s)]+)/(?:commit|pull|issues)/")
PAST_ISSUES = 5


def report_url(report: Report) -> str:
    return f"{settings.SITE_URL}/reports/{report.date.isoformat()}/"


def sections_of(report: Report, repositories: Iterable[str] | None = None) -> list[ReportSection]:
    """The report's sections with their items, in two queries; only `repositories` when given."""
    sections = report.sections.select_related("repository").prefetch_related("items__commit", "items__issue")
    chosen = {name.lower() for name in repositories} if repositories is not None else None
    return [s for s in sections if chosen is None or s.repository.full_name.lower() in chosen]


def cited_lines(text: str, repositories: set[str] | None) -> list[str]:
    """Lines of a summary or conclusions whose citations all point into `repositories`."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if repositories is None:
        return lines
    return [line for line in lines if {m.lower() for m in _GITHUB_LINK.findall(line)} <= repositories]


def _strip_marker(line: str) -> str:
    return re.sub(r"^(\d+[.)]|[-*+])\s+", "", line)


@dataclass
class ReportParts:
    """A report cut into the blocks every output shares: Markdown lines, already filtered and escaped."""

    report: Report
    words: dict
    sections: list[ReportSection]
    past: list[str]
    summary: list[str]
    analyses: list[list[str]]  # per section, without its heading and activity line
    issues: list[str]
    conclusions: list[str]

    @property
    def title(self) -> str:
        return self.words["title"].format(date=self.report.date.isoformat())


def report_parts(report: Report, repositories: Iterable[str] | None = None) -> ReportParts:
    words = HEADINGS[report.language]
    sections = sections_of(report, repositories)
    chosen = {s.repository.full_name.lower() for s in sections} if repositories is not None else None
    past = Report.objects.filter(language=report.language, status=Report.Status.SENT, date__lt=report.date)
    past_lines = [f"- [{p.date.isoformat()}]({report_url(p)})" for p in past.order_by("-date")[:PAST_ISSUES]]
    story_commits = related_commits(sections)
    issues: list[str] = []
    for section in sections:
        items = [i for i in section.items.all() if i.kind == ReportItem.Kind.ISSUE and not i.hidden]
        if items:
            issues += [f"### {phrase(section.repository.display_name)}", ""]
            issues += [
                f"- **{phrase(i.title)}** ([#{i.issue.number}]({i.issue.html_url})){words['colon']}{phrase(i.details)}"
                for i in items
            ]
            issues.append("")
    conclusions = cited_lines(report.conclusions, chosen)
    return ReportParts(
        report=report,
        words=words,
        sections=sections,
        past=past_lines or [f"- {words['no_past']}"],
        summary=[f"- {safe_markdown(_strip_marker(line))}" for line in cited_lines(report.summary, chosen)],
        analyses=[section_body(section, words, story_commits) for section in sections],
        issues=issues or [words["no_issues"]],
        conclusions=[f"{n}. {safe_markdown(_strip_marker(line))}" for n, line in enumerate(conclusions, start=1)],
    )


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
    parts = report_parts(report, repositories)
    words = parts.words
    out: list[str] = [f"# {parts.title}", "", f"## {words['past']}", "", *parts.past, "", "---", ""]
    out += [f"## {words['summary']}", "", *parts.summary, "", "---", "", f"## {words['analysis']}", ""]
    for number, (section, body) in enumerate(zip(parts.sections, parts.analyses, strict=True), start=1):
        repository = section.repository
        out += [f"### {number}. {phrase(repository.display_name)} ({repository.html_url})", ""]
        out += [f"*{activity_line(section, words)}*", "", *body]
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


def section_body(section: ReportSection, words: dict, story_commits: dict[str, Commit]) -> list[str]:
    out: list[str] = []
    if section.assessment:
        out += [f"**{words['assessment']}**{words['colon']}{safe_markdown(section.assessment)}", ""]
    items = list(section.items.all())
    highlights = [i for i in items if i.kind == ReportItem.Kind.HIGHLIGHT and not i.hidden]
    commits_by_sha = {**story_commits, **{i.commit.sha: i.commit for i in items if i.commit_id}}
    for item in highlights:
        out += render_highlight(item, commits_by_sha, words)
    # A hidden highlight's commits still belong to the day: they move to the table.
    table = [i.commit for i in items if i.kind == ReportItem.Kind.LISTED and not i.hidden]
    categories = {i.commit.sha: i.category for i in items if i.commit_id}
    for item in items:
        if item.kind == ReportItem.Kind.HIGHLIGHT and item.hidden:
            table.append(item.commit)
            table += [commits_by_sha[r["sha"]] for r in item.related if r["sha"] in commits_by_sha]
    if not highlights and not table:
        out += [words["no_commits"], ""]
    if table:
        table.sort(key=lambda c: c.committed_at)
        out += [f"**{words['others']}**", ""]
        out.append("| " + " | ".join(words["table"]) + " |")
        out.append("|" + " --- |" * len(words["table"]))
        for commit in table:
            author = f"@{commit.author_login}" if commit.author_login else commit.author_name
            out.append(
                f"| [`{commit.short_sha}`]({commit.html_url}) | {cell(categories.get(commit.sha, ''))} "
                f"| {cell(commit.title)} | {cell(author)} | +{commit.additions}/−{commit.deletions} |"
            )
        out.append("")
    return out


def render_highlight(item: ReportItem, commits_by_sha: dict, words: dict) -> list[str]:
    commit = item.commit
    tag = f"[{phrase(item.category)}] " if item.category else ""
    breaking = f" {words['breaking']}" if item.breaking else ""
    out = [f"- **{tag}{phrase(item.title)}** ([`{commit.short_sha}`]({commit.html_url})){breaking}"]
    if item.details:
        out.append(f"  - **{words['details']}**{words['colon']}{phrase(item.details)}")
    if item.code_snippet:
        out.append(f"  - **{words['code']}**{words['colon']}")
        comment = LINE_COMMENTS.get(item.code_language, "")
        code = f"{comment} {item.code_path}\n{item.code_snippet}" if comment and item.code_path else item.code_snippet
        out += ["    " + line if line else "" for line in fence(code, item.code_language).split("\n")]
    if item.impact:
        risk = words["risk"].get(item.risk, item.risk)
        out.append(f"  - {words['impact_label'].format(risk=risk)}{phrase(item.impact)}")
    if item.related:
        links = [
            f"{words['roles'].get(r['role'], r['role'])} [`{r['sha'][:7]}`]({commits_by_sha[r['sha']].html_url})"
            for r in item.related
            if r["sha"] in commits_by_sha
        ]
        if links:
            out.append(f"  - **{words['related']}**{words['colon']}" + ", ".join(links))
    out.append("")
    return out
