"""Neutralize text from commits, issues, the model or an editor before it becomes Markdown.

Plain-text Markdown is also what subscribers read in the text/plain part, so escaping is minimal:
only what could become a link, an image, raw HTML, emphasis, a broken code span or a broken table
cell. What counts as a code span is decided by a CommonMark tokenizer (markdown-it-py), never by
a regex of ours: CommonMark closes a span only with a backtick run of the opener's length, and a
regex that pairs runs differently lets text it took for code reach the reader as live Markdown.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from sources.records import clean_text

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)")
_REFERENCE_DEFINITION = re.compile(r"^(\s{0,3})\[([^\]]+)\]:\s*(\S+)", re.M)
# A "<" that could open an HTML tag, a comment, a declaration or an autolink ("<x@y.z>" included):
# it becomes "&lt;" rather than "\<", so a tag-like "<img" never appears, not even in the plain text.
# A "<" that opens nothing ("version <= 2.8") is left as it is.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?]|[^\s<>]*>)")

# Only code spans (and the backslash escapes that keep a backtick from opening one): the rest of
# the text is escaped by us. text_join is off so that every token maps back onto the source.
_code_spans = MarkdownIt("zero").enable(["backticks", "escape"]).disable("text_join")
# What a permissive reader's renderer makes of our Markdown: the last word on safe_markdown().
_checker = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

_UNTRUSTED = re.compile(
    r"""
    (?P<backslash>\\(?=[!-/:-@\[-`{-~]|\Z))  # would escape the next character, or one of ours
    |(?P<tag><(?=[A-Za-z/!?]|[^\s<>]*>))
    |(?P<punctuation>[*~`])                 # emphasis, strikethrough, code spans
    # "](" makes a link or an image; "[Bugfix]" or "[Misc][Build]" link nothing, as no Markdown of
    # ours holds a link reference definition (safe_markdown disarms them, inline() cannot start one).
    |(?P<bracket>(?<=\])\(|\]\Z)
    |(?P<underscores>_+)
    |(?P<scheme>:(?=//)|(?<=mailto):|(?<=xmpp):)  # GFM autolinks "http://…", "ftp://…", "mailto:…"
    |(?P<www>(?<=www)\.)                    # GFM autolinks "www.…"
    |(?P<slashes>(?<![\w:/])/(?=/))          # linkify-it's protocol-relative "//host/…"
    |(?P<email>@(?=[\w-]+\.[\w-]))          # GFM autolinks "name@host.tld"
    """,
    re.X | re.I,
)
# At the start of a list item or a line these open a block: a heading, a quote, a nested list, a
# rule, a link reference definition ("[x]: https://…" would turn every "[x]" into a link), a task box.
_BLOCK_START = re.compile(
    r"^(?:\d{1,9}(?=[.)](?:\s|$))|(?=#{1,6}(?:\s|$)|>|[-+](?:\s|$)|-(?:\s*-){2,}\s*$|\[.*\]:|\[[ xX]\]))"
)


def _escape_untrusted(match: re.Match) -> str:
    kind, found = match.lastgroup, match.group(0)
    if kind == "tag":
        return "&lt;"
    if kind == "underscores":
        # Between two letters or digits a run of "_" never opens or closes emphasis (snake_case).
        text, start, end = match.string, match.start(), match.end()
        inside_word = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
        return found if inside_word else "\\_" * len(found)
    return "\\" + found


def _segments(text: str) -> list[tuple[bool, str, str]]:
    """(is code, source, code content) pieces of `text`, code spans exactly as CommonMark finds them."""
    if "`" not in text:
        return [(False, text, "")] if text else []
    pieces: list[tuple[bool, str, str]] = []
    pos = 0
    for token in _code_spans.parseInline(text)[0].children or []:
        if token.type == "code_inline":
            run = len(token.markup)
            close = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(text, pos + run)
            if not text.startswith(token.markup, pos) or close is None:
                return [(False, text, "")]
            pieces.append((True, text[pos : close.end()], token.content))
            pos = close.end()
            continue
        if token.type == "text" and text.startswith(token.content, pos):
            end = pos + len(token.content)
        elif token.type == "text_special" and text.startswith(token.markup, pos):
            end = pos + len(token.markup)
        elif token.type == "hardbreak" and (found := re.compile(r"\\\n[ \t]*").match(text, pos)):
            end = found.end()
        else:  # the tokens do not map onto the text: treat it all as text, which escapes everything
            return [(False, text, "")]
        if pieces and not pieces[-1][0]:
            pieces[-1] = (False, pieces[-1][1] + text[pos:end], "")
        else:
            pieces.append((False, text[pos:end], ""))
        pos = end
    return pieces if pos == len(text) else [(False, text, "")]


def code_span(content: str) -> str:
    """`content` as a code span that nothing inside can close: the fence outgrows any backtick run."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", content)), default=0) + 1)
    # CommonMark strips one space from each side when both have one; a backtick next to the fence
    # would lengthen it. A space on each side keeps the content as it was in both cases.
    if content[:1] == "`" or content[-1:] == "`" or (content[:1] == content[-1:] == " " and content.strip(" ")):
        content = f" {content} "
    return f"{fence}{content}{fence}"


def phrase(text: str) -> str:
    """One line of untrusted text that follows other text on its line (a title after "**", a cell).

    Code spans stay code spans; everything else is shown as the characters it is: it can open no
    link, image, HTML, autolink, emphasis or strikethrough. There "# " or "[Bug]: " open nothing,
    so they are left as they are.
    """
    text = re.sub(r"\s+", " ", clean_text(text or "")).strip()
    out = []
    for is_code, source, content in _segments(text):
        out.append(code_span(content) if is_code else _UNTRUSTED.sub(_escape_untrusted, source))
    return "".join(out)


def inline(text: str) -> str:
    """One line of untrusted text, safe anywhere in a paragraph, list item or heading, first included."""
    # A number is escaped at its "." or ")"; "\\1" would show the backslash and still start a list.
    return _BLOCK_START.sub(lambda match: match.group(0) + "\\", phrase(text), count=1)


def cell(text: str) -> str:
    """Untrusted text inside a table cell: also no pipe, which would start a new cell."""
    return phrase(text).replace("|", "\\|")


def safe_markdown(text: str) -> str:
    """Markdown we wrote or an editor edited: keep http(s)/mailto inline links, disarm everything else."""

    def link(match: re.Match) -> str:
        target = match.group(1)
        return match.group(0) if target.lower().startswith(_SAFE_SCHEMES) else "]\\(" + match.group(0)[2:]

    def reference(match: re.Match) -> str:
        # Whatever its target: a definition links every "[label]" in the issue, titles included.
        indent, label, target = match.groups()
        return f"{indent}\\[{label}\\]: {target}"

    text = clean_text(text or "")
    out = []
    # A code span never crosses a blank line; cutting there keeps a paragraph's backticks together.
    for block in re.split(r"(\n[ \t]*\n)", text):
        for is_code, source, _ in _segments(block):
            out.append(source if is_code else _MARKDOWN_LINK.sub(link, _TAG_START.sub("&lt;", source)))
    safe = _REFERENCE_DEFINITION.sub(reference, "".join(out))
    if _renders_safely(safe):
        return safe
    # Backticks paired across a block boundary or inside a link destination: what we took for code
    # is not. Then no "<" or "[" survives anywhere; entities cannot be combined into markup.
    return text.replace("<", "&lt;").replace("[", "&#91;")


_CONTEXTS = ("", "- ", "1. ", "10. ", "x ")


def _renders_safely(markdown: str) -> bool:
    """No raw HTML, no link definitions and only web or mail links, wherever we put it.

    It opens a bullet or numbered list item (summary, conclusions) or goes on after text (an
    assessment); the block structure of its later lines differs between them, so all are checked.
    """
    env: dict = {}
    stack = [token for context in _CONTEXTS for token in _checker.parse(context + markdown, env)]
    if env.get("references"):
        return False
    while stack:
        token = stack.pop()
        if token.type in ("html_block", "html_inline"):
            return False
        if token.type in ("link_open", "image"):
            target = str(token.attrGet("href") or token.attrGet("src") or "").lower()
            if not target.startswith(_SAFE_SCHEMES):
                return False
        stack.extend(token.children or [])
    return True


def fence(code: str, language: str = "") -> str:
    """A fenced code block that the code itself cannot close: the fence outgrows any backtick run."""
    # A lone CR is a line ending to CommonMark: left in, it would end the block early.
    code = clean_text(code or "")
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    marker = "`" * max(3, longest + 1)
    language = re.sub(r"[^A-Za-z0-9_+#.-]", "", language or "")
    return f"{marker}{language}\n{code.rstrip()}\n{marker}"
