"""A sent report as a web page: the full issue with a table of contents and one anchor per repository.

Rendering is not cheap (Markdown, Pygments); the archive caches the pages made from these parts
whole, keyed on the issues they show (newsletter/views/archive_cache.py).
"""

from __future__ import annotations

from django.utils.text import slugify

from newsletter.languages import rendered_in
from newsletter.render.html import markdown_to_html, markdown_to_text
from newsletter.render.markdown import TOPICS, ReportParts, activity_line
from newsletter.render.strip import strip


def anchor(full_name: str) -> str:
    return "repo-" + slugify(full_name.replace("/", "-"))


def page_parts(parts: ReportParts) -> dict:
    """What the issue page's template shows, from the report's parts (all its repositories)."""
    with rendered_in(parts.report.language):
        return _page_parts(parts)


def _page_parts(parts: ReportParts) -> dict:
    report = parts.report
    sections = []
    for section, body in zip(parts.sections, parts.analyses, strict=True):
        repository = section.repository
        sections.append(
            {
                "anchor": anchor(repository.full_name),
                "name": repository.display_name,
                "full_name": repository.full_name,
                "url": repository.html_url,
                "activity": activity_line(section),
                "strip": strip(section, report.language),
                "head": markdown_to_html("\n".join(body.head), highlighted=True),
                # Each highlight on its own, so its topics can be shown as labels by the template
                # (autoescaped text), never as HTML slipped into the Markdown.
                "items": [
                    {
                        "html": markdown_to_html("\n".join(lines), highlighted=True),
                        "topics": [str(TOPICS[slug]) for slug in item.topics or [] if slug in TOPICS],
                    }
                    for item, lines in body.items
                ],
                "tail": markdown_to_html("\n".join(body.tail), highlighted=True),
            }
        )
    summary_lines = [line.lstrip("- ") for line in parts.summary]
    return {
        "title": parts.title,
        "summary": markdown_to_html("\n".join(parts.summary)),
        "description": markdown_to_text("\n".join(summary_lines))[:200],
        "sections": sections,
        "issues": markdown_to_html("\n".join(parts.issues)),
        "conclusions": markdown_to_html("\n".join(parts.conclusions)),
        "past": markdown_to_html("\n".join(parts.past)),
        "repositories": [s["full_name"] for s in sections],
    }


def section_html(section: dict) -> str:
    """A rendered section's analysis as one piece of HTML, without topic labels (the feed's)."""
    return section["head"] + "".join(item["html"] for item in section["items"]) + section["tail"]
