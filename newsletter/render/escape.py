"""Neutralize text from commits, issues, the model or an editor before it becomes Markdown.

Plain-text Markdown is also what subscribers read in the text/plain part, so escaping is minimal:
only what could become a link, an image, raw HTML, a broken code span or a broken table cell.
"""

from __future__ import annotations

import re

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_LINK_OPEN = re.compile(r"\]\s*\(")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)")
_REFERENCE_DEFINITION = re.compile(r"^(\s{0,3})\[([^\]]+)\]:\s*(\S+)", re.M)
_CODE_SPAN = re.compile(r"(?<!\\)(`+)(.+?)(?<!\\)\1")


def _outside_code(text: str, fix) -> str:
    """Apply `fix` to the parts of `text` that are not code spans (which Markdown shows literally)."""
    parts, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        parts += [fix(text[last : match.start()]), match.group(0)]
        last = match.end()
    parts.append(fix(text[last:]))
    return "".join(parts)


def _disarm(text: str) -> str:
    # "&lt;" rather than "\<": a tag-like "<img" then never appears, not even in the plain text.
    text = _TAG_START.sub("&lt;", text)
    return _LINK_OPEN.sub(r"]\\(", text)


def inline(text: str) -> str:
    """One line of untrusted text, safe inside a Markdown paragraph or list item."""
    text = re.sub(r"\s+", " ", text or "").strip()
    text = text.replace("\\", "\\\\")
    if text.count("`") % 2:  # an unclosed code span would swallow what follows
        text = text.replace("`", "\\`")
    return _outside_code(text, _disarm)


def cell(text: str) -> str:
    """Untrusted text inside a table cell: also no pipe, which would start a new cell."""
    return inline(text).replace("|", "\\|")


def safe_markdown(text: str) -> str:
    """Markdown we wrote or an editor edited: keep http(s)/mailto links, disarm everything else."""

    def link(match: re.Match) -> str:
        target = match.group(1)
        return match.group(0) if target.lower().startswith(_SAFE_SCHEMES) else "]\\(" + match.group(0)[2:]

    def reference(match: re.Match) -> str:
        indent, label, target = match.groups()
        if target.strip("<>").lower().startswith(_SAFE_SCHEMES):
            return match.group(0)
        return f"{indent}\\[{label}\\]: {target}"

    text = _outside_code(text or "", lambda part: _TAG_START.sub("&lt;", part))
    text = _MARKDOWN_LINK.sub(link, text)
    return _REFERENCE_DEFINITION.sub(reference, text)


def fence(code: str, language: str = "") -> str:
    """A fenced code block that the code itself cannot close: the fence outgrows any backtick run."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    marker = "`" * max(3, longest + 1)
    language = re.sub(r"[^A-Za-z0-9_+#.-]", "", language or "")
    return f"{marker}{language}\n{code.rstrip()}\n{marker}"
