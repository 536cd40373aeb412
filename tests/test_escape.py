from newsletter.render.escape import cell, fence, inline, safe_markdown


def test_inline_disarms_html_and_links_but_keeps_code_and_emphasis():
    text = inline("Use `has_flashinfer` **now** <script>alert(1)</script> [x](javascript:alert(1))")
    assert "`has_flashinfer`" in text and "**now**" in text
    assert "<script>" not in text and "](javascript:" not in text
    assert inline("version <= 2.8") == "version <= 2.8"  # not a tag: left alone


def test_inline_keeps_one_line_and_balances_code_spans():
    assert inline("a\n\n## heading\nb") == "a ## heading b"
    assert inline("unclosed `code and [`abc`]") == "unclosed \\`code and [\\`abc\\`]"
    assert inline("`vector<int>` and <b>") == "`vector<int>` and &lt;b>"  # code spans are shown literally
    assert "<img" not in inline("x `a <img src=x> b` `")  # escaped backticks open no code span


def test_cells_cannot_split_a_table():
    assert cell("a | b\nc") == "a \\| b c"


def test_safe_markdown_keeps_web_links_only():
    text = "see [a](https://example.com) and [b](javascript:alert(1)) <img src=x onerror=alert(1)>"
    safe = safe_markdown(text)
    assert "[a](https://example.com)" in safe
    assert "](javascript:" not in safe and "<img" not in safe
    assert "](https://" in safe_markdown("[`abc1234`](https://github.com/o/n/commit/abc)")
    assert safe_markdown("[ref]: javascript:alert(1)").startswith("\\[ref\\]:")


def test_a_fence_outgrows_backticks_in_the_code():
    block = fence("x = '```'\n", "python")
    assert block.startswith("````python\n") and block.endswith("\n````")
    assert fence("y", "c++; rm -rf").startswith("```c++rm-rf")
