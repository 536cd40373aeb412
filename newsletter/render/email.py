"""A report as an email for one variant (repositories x language x format): subject, text, HTML.

The MJML template is compiled once per variant; what differs between subscribers of a variant is
only their own links, left as placeholders here and substituted by `personalize`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import css_inline
from django.template.loader import render_to_string
from mjml import mjml2html

from newsletter.models import Report, ReportItem
from newsletter.render.html import markdown_to_html, markdown_to_text
from newsletter.render.markdown import ReportParts, render_markdown, report_parts, report_url
from newsletter.render.strip import strip

UNSUBSCRIBE_URL = "https://links.invalid/unsubscribe-placeholder"
PREFERENCES_URL = "https://links.invalid/preferences-placeholder"

LABELS = {
    "zh": {
        "web": "在浏览器中查看",
        "repositories": "本期仓库：",
        "why": "你收到这封邮件，是因为订阅了 AI Infra Daily，关注 ",
        "preferences": "偏好设置",
        "unsubscribe": "退订",
        "footer_text": "偏好设置：{preferences}\n退订：{unsubscribe}\n网页版：{web}",
        "separator": "、",
    },
    "en": {
        "web": "View in your browser",
        "repositories": "In this issue: ",
        "why": "You get this email because you subscribed to AI Infra Daily for ",
        "preferences": "Preferences",
        "unsubscribe": "Unsubscribe",
        "footer_text": "Preferences: {preferences}\nUnsubscribe: {unsubscribe}\nOn the web: {web}",
        "separator": ", ",
    },
}

compiles = 0  # how many times MJML was compiled in this process (the dispatch benchmark reads it)

# Inlined into the content (Gmail and Outlook ignore much of <style>). Kept short on purpose: it is
# copied onto every element it matches, and Gmail clips messages over about 100 KB. MJML's own
# head styles stay a <style> block; MJML already puts the layout styles inline itself.
CONTENT_CSS = """
h2 { font-size: 20px; margin: 0 0 8px; }
h3 { font-size: 17px; margin: 12px 0 6px; }
ul, ol { padding-left: 20px; margin: 6px 0; }
.wrap > div { overflow-wrap: anywhere; word-break: break-word; }
pre { font-family: Menlo, Consolas, monospace; font-size: 12px; line-height: 1.45; background: #f6f8fa;
      padding: 8px; white-space: pre-wrap; word-break: break-all; }
.wrap table { border-collapse: collapse; width: 100%; font-size: 13px; }
.wrap td, .wrap th { border-bottom: 1px solid #d0d7de; }
"""
# Code spans are styled only in the <style> block: they are many, and unstyled they still read.
_inliner = css_inline.CSSInliner(inline_style_tags=False, keep_style_tags=True, extra_css=CONTENT_CSS)


@dataclass(frozen=True)
class Variant:
    repositories: tuple[str, ...]  # full names, sorted; only repositories with something to tell
    language: str
    format: str  # html or markdown

    @property
    def key(self) -> str:
        return f"{self.language}|{self.format}|{','.join(self.repositories)}"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str  # empty for Markdown subscribers


def active_repositories(report: Report) -> list[str]:
    """Repositories of the report that have anything to tell: commits or notable issues."""
    names = []
    for section in report.sections.select_related("repository").prefetch_related("items"):
        stats = section.stats or {}
        has_issue = any(i.kind == ReportItem.Kind.ISSUE and not i.hidden for i in section.items.all())
        if stats.get("commits") or has_issue:
            names.append(section.repository.full_name)
    return names


def variant_for(report: Report, active: Iterable[str], followed: Iterable[str], language: str, output: str):
    """The variant a subscriber gets, or None when nothing they follow had activity."""
    followed = {name.lower() for name in followed}
    chosen = tuple(sorted(name for name in active if name.lower() in followed))
    return Variant(chosen, language, output) if chosen else None


# Control characters, and the bidirectional overrides that make a subject read other than it is.
_NOT_IN_SUBJECT = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """Header text: whitespace (CR, LF, Unicode line separators) collapsed, control characters gone."""
    return " ".join(_NOT_IN_SUBJECT.sub("", " ".join((text or "").split())).split())


def subject_for(parts: ReportParts) -> str:
    """Plain text, not Markdown (no escaping shows), on one line: a subject is a mail header."""
    names = ", ".join(one_line(section.repository.display_name) for section in parts.sections)
    highlights = [
        item
        for section in parts.sections
        for item in section.items.all()
        if item.kind == ReportItem.Kind.HIGHLIGHT and not item.hidden
    ]
    top = max(highlights, key=lambda item: (item.score, item.breaking), default=None)
    headline = one_line(top.title if top else "")
    if len(headline) > 90:
        headline = headline[:89].rstrip() + "…"
    subject = f"AI Infra Daily {parts.report.date.isoformat()} · {names}"
    return f"{subject}: {headline}" if headline else subject


def render_email(report: Report, variant: Variant) -> RenderedEmail:
    global compiles
    parts = report_parts(report, variant.repositories)
    labels = LABELS[report.language]
    subject = subject_for(parts)
    web = report_url(report)
    footer = labels["footer_text"].format(preferences=PREFERENCES_URL, unsubscribe=UNSUBSCRIBE_URL, web=web)
    text = render_markdown(report, variant.repositories) + "\n---\n" + footer + "\n"
    if variant.format != "html":
        return RenderedEmail(subject, text, "")
    sections = []
    for section, body in zip(parts.sections, parts.analyses, strict=True):
        body_html = compact_tables(markdown_to_html("\n".join(body.lines)))
        sections.append({"section": section, "strip": strip(section, report.language), "body": body_html})
    context = {
        "html_lang": "zh-CN" if report.language == "zh" else "en",
        "subject": subject,
        "preview": markdown_to_text("\n".join(parts.summary))[:140],
        "title": parts.title,
        "words": parts.words,
        "labels": labels,
        "repository_names": labels["separator"].join(s.repository.display_name for s in parts.sections),
        "web_url": web,
        "summary": markdown_to_html("\n".join(parts.summary)),
        "sections": sections,
        "issues": markdown_to_html("\n".join(parts.issues)),
        "conclusions": markdown_to_html("\n".join(parts.conclusions)),
        "past": markdown_to_html("\n".join(parts.past)),
        "preferences_url": PREFERENCES_URL,
        "unsubscribe_url": UNSUBSCRIBE_URL,
    }
    mjml = render_to_string("emails/report.mjml", context)
    compiles += 1
    html = _inliner.inline(mjml2html(mjml, disable_comments=True, fonts={}))
    return RenderedEmail(subject, text, html)


def compact_tables(html: str) -> str:
    """Padding and alignment as table attributes: written once per table, not once per cell."""
    html = html.replace("<table>", '<table cellpadding="4" cellspacing="0">')
    return html.replace("<tr>", '<tr valign="top">')


def personalize(content: str, *, unsubscribe_url: str, preferences_url: str) -> str:
    return content.replace(UNSUBSCRIBE_URL, unsubscribe_url).replace(PREFERENCES_URL, preferences_url)
