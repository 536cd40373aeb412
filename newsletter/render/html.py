"""Markdown to sanitized HTML: markdown-it-py with raw HTML off, then nh3 with an allow-list."""

from __future__ import annotations

from collections.abc import Iterable

import nh3
from django.template.loader import render_to_string
from markdown_it import MarkdownIt

from newsletter.models import Report
from newsletter.render.markdown import render_markdown

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "span", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "th": {"style"}, "td": {"style"}}

# CommonMark plus tables; raw HTML is off, so "<script>" in any text arrives as text.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def markdown_to_html(text: str) -> str:
    return nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def export_html(report: Report, repositories: Iterable[str] | None = None) -> str:
    """A plain, standalone, sanitized HTML document of the report."""
    body = markdown_to_html(render_markdown(report, repositories))
    return render_to_string("reports/export.html", {"report": report, "body": body})
