"""Markdown to sanitized HTML: markdown-it-py with raw HTML off, then nh3 with an allow-list."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape, unescape

import nh3
from django.template.loader import render_to_string
from markdown_it import MarkdownIt
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from newsletter.languages import rendered_in
from newsletter.models import Report
from newsletter.render.markdown import render_markdown

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "span", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "th": {"style"},
    "td": {"style"},
}
PYGMENTS = HtmlFormatter(nowrap=True, classprefix="")


def highlight(code: str, language: str, attrs) -> str:
    """Code blocks coloured by Pygments (class names only: the page's stylesheet has the colours)."""
    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    body = pygments_highlight(code, lexer, PYGMENTS)
    return f'<pre class="highlight"><code class="language-{escape(language or "text")}">{body}</code></pre>'


def stylesheet() -> str:
    """The colours of highlighted code, for pages that show it (scoped to .highlight)."""
    return HtmlFormatter(style="default", classprefix="").get_style_defs(".highlight")


# CommonMark plus tables; raw HTML is off, so "<script>" in any text arrives as text.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_highlighted = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False, "highlight": highlight}
).enable("table")


def markdown_to_html(text: str, *, highlighted: bool = False) -> str:
    renderer = _highlighted if highlighted else _markdown
    return nh3.clean(
        renderer.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def markdown_to_text(text: str) -> str:
    """Markdown as one line of plain text (an inbox preview, a meta description): what a reader
    sees of it, without its syntax, escapes or entities."""
    shown = unescape(nh3.clean(_markdown.render(text), tags=set()))
    return " ".join(shown.split())


def export_html(report: Report, repositories: Iterable[str] | None = None) -> str:
    """A plain, standalone, sanitized HTML document of the report."""
    body = markdown_to_html(render_markdown(report, repositories))
    with rendered_in(report.language):
        return render_to_string("reports/export.html", {"report": report, "body": body})
