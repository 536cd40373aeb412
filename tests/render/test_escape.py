"""Escaping for Markdown, judged by what a CommonMark renderer that allows HTML makes of the result."""

import random
import re

import pytest
from markdown_it import MarkdownIt

from newsletter.render.escape import cell, code_span, fence, inline, safe_markdown

# A renderer as permissive as a reader's: raw HTML on, GFM tables and strikethrough.
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
BACKTICK_TRICK = "``[x](https://evil.example)` `"
OURS = "https://github.com/o/r/commit/abc1234"


def walk(tokens):
    for token in tokens:
        yield token
        yield from walk(token.children or [])


def inline_tokens(markdown: str) -> list:
    """The inline tokens of a one-paragraph document; fails if it is anything but one paragraph."""
    tokens = RENDERER.parse(markdown)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], markdown
    return tokens[1].children


def shown(markdown: str) -> list[tuple[str, str]]:
    """(text or code, what the reader sees), adjacent text merged: nothing else may be in there."""
    pieces: list[tuple[str, str]] = []
    for token in inline_tokens(markdown):
        assert token.type in ("text", "code_inline"), (markdown, token.type)
        kind = "code" if token.type == "code_inline" else "text"
        if pieces and kind == "text" == pieces[-1][0]:
            pieces[-1] = ("text", pieces[-1][1] + token.content)
        else:
            pieces.append((kind, token.content))
    return pieces


def test_inline_keeps_code_spans_and_shows_everything_else_as_text():
    text = "Use `has_flashinfer` **now** <script>alert(1)</script> [x](javascript:alert(1))"
    assert shown(inline(text)) == [
        ("text", "Use "),
        ("code", "has_flashinfer"),
        ("text", " **now** <script>alert(1)</script> [x](javascript:alert(1))"),
    ]
    assert "<script" not in inline(text)  # not even in the plain-text email
    assert inline("version <= 2.8") == "version <= 2.8"  # opens nothing: left alone
    assert inline("[Bugfix] Fix the cache (#12)") == "[Bugfix] Fix the cache (#12)"  # readable as plain text


def test_the_backtick_trick_stays_text():
    # Two backticks open a span that only two close: "` `" is the code span, the link is text.
    out = inline(BACKTICK_TRICK)
    assert shown(out) == [("text", "``[x](https://evil.example)"), ("code", " ")]
    assert not [t for t in walk(RENDERER.parse(out)) if t.type == "link_open"]


def test_code_spans_are_exactly_commonmarks():
    assert shown(inline("unclosed `code and [`abc`]")) == [
        ("text", "unclosed "),
        ("code", "code and ["),
        ("text", "abc`]"),
    ]
    assert inline("`vector<int>` and <b>") == "`vector<int>` and &lt;b>"
    assert shown(inline("x `a <img src=x> b` `")) == [("text", "x "), ("code", "a <img src=x> b"), ("text", " `")]
    assert shown(inline("\\`not code\\`")) == [("text", "\\`not code\\`")]  # an escaped backtick opens nothing


@pytest.mark.parametrize("content", ["a", "``", "`a", "a`", " a ", "  ", "x ``` y", "` `"])
def test_a_code_span_shows_its_content_whatever_backticks_it_holds(content):
    assert shown(code_span(content)) == [("code", content)]


def test_no_emphasis_strikethrough_or_autolinks_from_untrusted_text():
    text = (
        "**bold** _em_ ~~strike~~ *x* __init__ snake_case a_b_ https://evil.example/x www.evil.example ada@example.com"
    )
    out = inline(text)
    assert shown(out) == [("text", text)]
    assert "snake_case" in out and "a_b\\_" in out  # "_" inside a word never emphasizes: left alone
    assert "https\\://evil.example/x" in out and "www\\.evil.example" in out and "ada\\@example.com" in out


def test_linkify_finds_no_url_in_escaped_text():
    linkifying = MarkdownIt("commonmark", {"linkify": True}).enable("linkify")
    text = "https://evil.example/x www.evil.com ftp://evil.example ada@evil.com mailto:ada@evil.com //evil.com/x"
    assert [t for t in walk(linkifying.parse(text)) if t.type == "link_open"]  # the check can see links
    assert not [t for t in walk(linkifying.parse(inline(text))) if t.type == "link_open"]


def test_backslashes_cannot_combine_with_what_follows():
    assert shown(inline("a\\ [x](https://evil.example) \\")) == [("text", "a\\ [x](https://evil.example) \\")]
    assert inline("C:\\Users\\ada") == "C:\\Users\\ada"  # before a letter a backslash is just a backslash
    assert shown(inline("x\\`y`")) == [("text", "x\\`y`")]


@pytest.mark.parametrize(
    "text",
    ["# heading", "> quote", "- item", "+ item", "1. one", "2) two", "---", "[a]: https://evil.example", "[x] done"],
)
def test_a_list_item_started_with_untrusted_text_holds_only_that_text(text):
    tokens = list(walk(RENDERER.parse("- " + inline(text), env := {})))
    assert not env.get("references")
    kinds = {t.type for t in tokens}
    assert kinds <= {"bullet_list_open", "bullet_list_close", "list_item_open", "list_item_close"} | {
        "paragraph_open",
        "paragraph_close",
        "inline",
        "text",
    }, kinds
    assert "".join(t.content for t in tokens if t.type == "text") == text


def test_inline_keeps_one_line_without_control_characters():
    assert inline("a\n\n## heading\nb") == "a ## heading b"
    assert inline("a\rb\r\nc\x00d\x1be\tf\u2028g") == "a b cde f g"


def test_cells_cannot_split_a_table():
    assert cell("a | b\nc") == "a \\| b c"
    table = f"| a | b |\n| --- | --- |\n| {cell('x | `y|z` ' + BACKTICK_TRICK)} | [`abc1234`]({OURS}) |"
    tokens = list(walk(RENDERER.parse(table)))
    assert sum(t.type == "td_open" for t in tokens) == 2
    assert [t.attrGet("href") for t in tokens if t.type == "link_open"] == [OURS]


def test_random_hostile_text_is_text_wherever_we_put_it():
    """Strings of Markdown's special characters, in every context our Markdown puts one line into."""
    alphabet = [*"ab_*~`[]()<>!\\:/.@#-+=|x1 ", "http://", "www.", "javascript:", "<img ", "](", "``", "]: "]
    rng = random.Random(20260129)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16)))
        out = inline(text)
        if not out:
            continue
        pieces = shown(out)
        if "`" not in text:
            assert pieces == [("text", re.sub(r"\s+", " ", text).strip())], text
        for document in (f"- **[Perf] {out}** ([`abc1234`]({OURS}))", f"1. {out}", f"**Assessment**: {out}"):
            env: dict = {}
            tokens = list(walk(RENDERER.parse(document, env)))
            assert not env.get("references"), text
            assert [t.attrGet("href") for t in tokens if t.type == "link_open"] == ([OURS] if OURS in document else [])
            forbidden = {"html_inline", "html_block", "image", "em_open", "s_open", "heading_open", "fence"}
            assert not forbidden & {t.type for t in tokens}, (text, document)
            assert sum(t.type == "strong_open" for t in tokens) <= 1, text  # ours, or none if it could not close


def test_safe_markdown_keeps_web_links_only():
    text = "see [a](https://example.com) and [b](javascript:alert(1)) <img src=x onerror=alert(1)>"
    safe = safe_markdown(text)
    assert "[a](https://example.com)" in safe
    assert "](javascript:" not in safe and "<img" not in safe
    assert "](https://" in safe_markdown("[`abc1234`](https://github.com/o/n/commit/abc)")
    assert safe_markdown("[ref]: javascript:alert(1)").startswith("\\[ref\\]:")
    # Any definition, even to the web, would link every "[label]" of the issue: titles too.
    assert safe_markdown("[Bugfix]: https://evil.example").startswith("\\[Bugfix\\]:")


@pytest.mark.parametrize(
    "text",
    [
        "``<img src=x onerror=alert(1)>` `",  # a code span by a regex's count, not by CommonMark's
        "a `\n\n<img src=x onerror=alert(1)>`",  # backticks cannot pair across paragraphs
        '[a](https://ok.example "`") <img src=x onerror=alert(1)> `',  # a link title takes the backtick
        "x `\n- <img src=x onerror=alert(1)> `",  # nor across a list item
        "> [a]: https://evil.example\n\n[a]",  # a definition hidden in a quote
    ],
)
def test_safe_markdown_leaves_no_html_or_definition(text):
    for context in ("- ", "1. ", "**Assessment**: "):
        env: dict = {}
        tokens = list(walk(RENDERER.parse(context + safe_markdown(text), env)))
        assert not env.get("references")
        assert not {"html_inline", "html_block"} & {t.type for t in tokens}, context
        assert all(t.attrGet("href").startswith("https://ok.example") for t in tokens if t.type == "link_open"), context


def test_safe_markdown_keeps_real_code_spans():
    assert safe_markdown("use `vector<int>` not <b>") == "use `vector<int>` not &lt;b>"
    assert safe_markdown("**vLLM**: [`abc1234`](https://github.com/o/r/commit/abc1234)") == (
        "**vLLM**: [`abc1234`](https://github.com/o/r/commit/abc1234)"
    )


def test_a_fence_outgrows_backticks_in_the_code():
    block = fence("x = '```'\n", "python")
    assert block.startswith("````python\n") and block.endswith("\n````")
    assert fence("y", "c++; rm -rf").startswith("```c++rm-rf")


@pytest.mark.parametrize("code", ["a = 1\r```\n<script>alert(1)</script>", "a = 1\r\n```\r\n<b>x</b>\x00"])
def test_a_carriage_return_cannot_end_a_fence(code):
    document = "- **Code**:\n" + "\n".join("    " + line if line else "" for line in fence(code, "python").split("\n"))
    tokens = list(walk(RENDERER.parse(document + "\n\nafter")))
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and "<" in fences[0].content and "\r" not in fences[0].content
    assert not {"html_inline", "html_block"} & {t.type for t in tokens}
