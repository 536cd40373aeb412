"""Commit messages without the noise: PR templates, checklists, bot summaries and trailers."""

from __future__ import annotations

import re

_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)
_TRAILER = re.compile(
    r"^\s*(signed-off-by|co-authored-by|reviewed-by|tested-by|acked-by|reported-by|suggested-by|change-id"
    r"|cc|ghstack-source-id|pull request resolved|differential revision)\s*:",
    re.I,
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$")
# Sections of PR templates that say nothing about what changed.
_NOISE_SECTION = re.compile(
    r"checklist|pre-commit|test|related issue|reviewer|release note|coderabbit|before submitting|documentation"
    r"|essential elements|benchmark result|screenshot|accuracy|how to|ci\b|todo|further comments",
    re.I,
)
_CHECKBOX = re.compile(r"^\s*[-*]\s*\[[ xX]\]")
_RULE = re.compile(r"^\s*([-_*=])\1{2,}\s*$")
_EMOJI_PREFIX = re.compile(r"^[^\w(`\"'\[]+", re.U)


def clean_body(message: str, limit: int = 600) -> str:
    """The informative part of a commit message body (title excluded), at most `limit` characters."""
    _, _, body = message.strip().partition("\n")
    body = _COMMENT.sub("", body)
    kept: list[str] = []
    skipping = False
    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            title = _EMOJI_PREFIX.sub("", heading.group(1))
            skipping = bool(_NOISE_SECTION.search(title))
            continue
        if skipping or _TRAILER.match(line) or _CHECKBOX.match(line) or _RULE.match(line):
            continue
        if line.strip().startswith("(cherry picked from"):
            continue
        kept.append(line.rstrip())
    text = "\n".join(kept)
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    text = " ".join(p for p in paragraphs if p)
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """Cut at a sentence or word boundary before `limit`, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("。"), cut.rfind("! "), cut.rfind("? "))
    if sentence_end > limit // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + " …"
