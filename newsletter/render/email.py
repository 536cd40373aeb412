"""A report as an email for one variant (repositories x language x format): subject, text, HTML.

What differs between subscribers of a variant is only their own links, left as placeholders here
and substituted by `personalize`.

The HTML is assembled from parts compiled once per report, not once per variant: the frame
(emails/report.mjml: head, header, summary, issues, conclusions, past issues, footer) compiled with
placeholders where a variant puts its own HTML, and each repository's section (emails/section.mjml)
compiled on its own. MJML renders each top-level section as a self-contained block, so a variant's
email is the frame with its placeholders filled and its sections spliced in, byte for byte what
compiling the whole template would give; a report of R repositories costs R + 1 compiles (2R + 1
when tables are shortened) for all its 2^R - 1 variants.

Compiled parts are kept in this process, keyed by the report's id, the part, the language and a
digest of everything the part is made from (its Markdown, the repository's name, link and numbers).
An edit to a report changes what its parts are made from, so their digests: an edited report is
compiled again and never meets stale HTML, whichever way the edit was saved, without trusting a
timestamp. Old entries fall out of a bounded memo.

Every email's HTML stays within `EMAIL_MAX_BYTES` as a subscriber's mail client gets it (Gmail
clips a message whose HTML passes about 102 KB): when over, the tables of other commits are
shortened to a count and a link to the issue on the web, the longest first, until it fits. The
analysis is never cut; when it alone passes the budget, a warning is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import pgettext_lazy
from mjml import mjml2html

from newsletter.audience import Variant
from newsletter.languages import HTML_LANGS, rendered_in
from newsletter.models import Report, ReportItem, ReportSection
from newsletter.render.html import markdown_to_html, markdown_to_text
from newsletter.render.markdown import (
    LIST_SEP,
    OTHERS,
    ReportParts,
    SectionBody,
    markdown_of,
    report_parts,
    report_url,
)
from newsletter.render.page import anchor
from newsletter.render.strip import strip

logger = logging.getLogger(__name__)

UNSUBSCRIBE_URL = "https://links.invalid/unsubscribe-placeholder"
PREFERENCES_URL = "https://links.invalid/preferences-placeholder"

# The email's own words around the report's; the Chinese is in the catalogue (newsletter/locale).
FOOTER = pgettext_lazy("email footer", "Preferences: {preferences}\nUnsubscribe: {unsubscribe}\nOn the web: {web}")
SHORTENED = pgettext_lazy(
    "email",
    "**{others}**: {count}, not listed here to keep this email from being clipped; see them [on the web]({url}).",
)

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
class RenderedEmail:
    subject: str
    text: str
    html: str  # empty for Markdown subscribers


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


def compile_mjml(source: str) -> str:
    """MJML to HTML. Every compile goes through here (a benchmark counts them by wrapping it)."""
    return mjml2html(source, disable_comments=True, fonts={})


# --- compiled parts, kept per report ------------------------------------------------------------
_SLOT = re.compile(r"%%(\w+)%%")  # a placeholder in compiled template text: %%summary%%
FRAME_SLOTS = ("subject", "preview", "names", "summary", "issues", "conclusions", "past")
# A section compiled on its own sits between these two in its document; its number is filled in.
_PART_START, _PART_END, _NUMBER = "%%part%%", "%%end%%", "%%number%%"
_MEMO_SIZE = 512  # compiled parts; a report needs 2R + 1 at most, so this holds the last few dozen
_compiled: OrderedDict[tuple, str] = OrderedDict()
_compiled_lock = threading.Lock()  # admin previews may render in several threads at once


def forget_compiled() -> None:
    """Empty the memo of compiled parts (a benchmark measuring cold renders starts with this)."""
    with _compiled_lock:
        _compiled.clear()


def compiled_part(report: Report, part: str, made_of: tuple, source: Callable[[], str]) -> str:
    """The compiled HTML of one part of a report, compiled only when what it is made of is new."""
    digest = hashlib.sha256(json.dumps(made_of, ensure_ascii=False, default=str).encode()).hexdigest()
    key = (report.pk, part, report.language, digest)
    with _compiled_lock:
        html = _compiled.get(key)
        if html is not None:
            _compiled.move_to_end(key)
            return html
    html = compile_mjml(source())
    with _compiled_lock:
        _compiled[key] = html
        if len(_compiled) > _MEMO_SIZE:
            _compiled.popitem(last=False)
    return html


def html_lang(report: Report) -> str:
    return HTML_LANGS[report.language]


def frame_source(parts: ReportParts, values: dict[str, str], sections: str) -> str:
    """The whole email's MJML around `sections`, with `values` (HTML, escaped) where a variant differs."""
    report = parts.report
    context = {
        "html_lang": html_lang(report),
        "title": parts.title,
        "web_url": report_url(report),
        "preferences_url": PREFERENCES_URL,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "sections": sections,
        **values,
    }
    with rendered_in(report.language):
        return render_to_string("emails/report.mjml", context)


def section_source(report: Report, section: ReportSection, lines: list[str], number: str) -> str:
    """One repository's section as MJML: heading, activity strip, the analysis from its Markdown."""
    body = compact_tables(markdown_to_html("\n".join(lines)))
    context = {"number": number, "section": section, "strip": strip(section, report.language), "body": body}
    with rendered_in(report.language):
        return render_to_string("emails/section.mjml", context)


def frame_html(parts: ReportParts) -> str:
    """The frame compiled with a placeholder in every slot; the same for every variant of the report."""
    report = parts.report

    def source() -> str:
        placeholders = {slot: f"%%{slot}%%" for slot in FRAME_SLOTS}
        return frame_source(parts, placeholders, "<mj-raw>%%sections%%</mj-raw>")

    return compiled_part(report, "frame", (parts.title, report_url(report)), source)


def section_html(report: Report, section: ReportSection, lines: list[str], number: int) -> str:
    """A repository's section compiled once per content (full or shortened), numbered for the variant."""

    def source() -> str:
        body = section_source(report, section, lines, _NUMBER)
        document = f"<mj-raw>{_PART_START}</mj-raw>{body}<mj-raw>{_PART_END}</mj-raw>"
        return render_to_string("emails/part.mjml", {"html_lang": html_lang(report), "body": document})

    repository = section.repository
    made_of = (repository.display_name, repository.html_url, section.stats, lines)
    html = compiled_part(report, f"section:{repository.full_name}", made_of, source)
    # The markers and the number come before any text of the section and after all of it.
    html = html[html.index(_PART_START) + len(_PART_START) : html.rindex(_PART_END)].strip()
    return html.replace(_NUMBER, str(number), 1)


# MJML drops whitespace with a line break between two tags of an mj-text, and around its content;
# HTML filled in after the compile is trimmed the same way, so the email is byte for byte what
# compiling it would give.
_BREAK_BETWEEN_TAGS = re.compile(r">[ \t]*\n\s*<")


def as_compiled(html: str) -> str:
    return _BREAK_BETWEEN_TAGS.sub("><", html).strip()


def frame_values(parts: ReportParts, subject: str) -> dict[str, str]:
    """What a variant puts into the frame's slots, as HTML."""
    with rendered_in(parts.report.language):
        separator = str(LIST_SEP)
    return {
        "subject": escape(subject),
        "preview": escape(markdown_to_text("\n".join(parts.summary))[:140]),
        "names": escape(separator.join(s.repository.display_name for s in parts.sections)),
        "summary": as_compiled(markdown_to_html("\n".join(parts.summary))),
        "issues": as_compiled(markdown_to_html("\n".join(parts.issues))),
        "conclusions": as_compiled(markdown_to_html("\n".join(parts.conclusions))),
        "past": as_compiled(markdown_to_html("\n".join(parts.past))),
    }


def assemble(frame: str, values: dict[str, str], sections: Iterable[str]) -> str:
    """The frame with its slots filled in one pass (what is filled in is never read for slots), inlined."""
    filling = {**values, "sections": "".join(sections)}
    return _inliner.inline(_SLOT.sub(lambda m: filling.get(m.group(1), m.group(0)), frame))


# --- the size budget ----------------------------------------------------------------------------
PERSONAL_LINK_ROOM = 140  # a subscriber's link after the site's address: path and signed token


def email_bytes(html: str) -> int:
    """The HTML's size as a subscriber's mail client gets it: UTF-8, their own links in place."""
    room = len(settings.SITE_URL) + PERSONAL_LINK_ROOM
    return len(html.encode()) + sum(html.count(p) * (room - len(p)) for p in (UNSUBSCRIBE_URL, PREFERENCES_URL))


def table_rows(body: SectionBody) -> int:
    """How many commits the section's table of other commits lists (a header and a delimiter row
    precede them)."""
    return max(0, sum(1 for line in body.tail if line.startswith("|")) - 2)


def shortened_lines(parts: ReportParts, section: ReportSection, body: SectionBody) -> list[str]:
    """The section's Markdown with its table of other commits as one line: how many, and where to see them."""
    report = parts.report
    url = f"{report_url(report)}#{anchor(section.repository.full_name)}"
    with rendered_in(report.language):
        notice = SHORTENED.format(others=OTHERS, count=table_rows(body), url=url)
    return [*body.head, *(line for _, lines in body.items for line in lines), notice, ""]


def render_html(parts: ReportParts, subject: str) -> str:
    report = parts.report
    frame = frame_html(parts)
    values = frame_values(parts, subject)
    numbered = list(enumerate(zip(parts.sections, parts.analyses, strict=True), start=1))
    sections = [section_html(report, section, body.lines, n) for n, (section, body) in numbered]
    html = assemble(frame, values, sections)
    budget = settings.EMAIL_MAX_BYTES
    if not budget or email_bytes(html) <= budget:
        return html
    # The longest tables first: each one shortened costs the reader the least for the most bytes.
    for n, (section, body) in sorted(numbered, key=lambda entry: -table_rows(entry[1][1])):
        if not table_rows(body):
            break
        sections[n - 1] = section_html(report, section, shortened_lines(parts, section, body), n)
        html = assemble(frame, values, sections)
        if email_bytes(html) <= budget:
            return html
    logger.warning(
        "%s: the email of %s is %d bytes with every table of other commits shortened, over EMAIL_MAX_BYTES=%d; "
        "the analysis is kept whole",
        report,
        ", ".join(s.repository.full_name for s in parts.sections),
        email_bytes(html),
        budget,
    )
    return html


def render_email(report: Report, variant: Variant) -> RenderedEmail:
    parts = report_parts(report, variant.repositories)
    subject = subject_for(parts)
    web = report_url(report)
    with rendered_in(report.language):
        footer = FOOTER.format(preferences=PREFERENCES_URL, unsubscribe=UNSUBSCRIBE_URL, web=web)
    text = markdown_of(parts) + "\n---\n" + footer + "\n"
    if variant.format != "html":
        return RenderedEmail(subject, text, "")
    return RenderedEmail(subject, text, render_html(parts, subject))


def compact_tables(html: str) -> str:
    """Padding and alignment as table attributes: written once per table, not once per cell."""
    html = html.replace("<table>", '<table cellpadding="4" cellspacing="0">')
    return html.replace("<tr>", '<tr valign="top">')


def personalize(content: str, *, unsubscribe_url: str, preferences_url: str) -> str:
    return content.replace(UNSUBSCRIBE_URL, unsubscribe_url).replace(PREFERENCES_URL, preferences_url)
