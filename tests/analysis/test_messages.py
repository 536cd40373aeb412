from newsletter.analysis.messages import clean_body, shorten

TEMPLATE = """feat: BF16 GEMM using cuDNN backend (#2376)

<!-- .github/pull_request_template.md -->

## 📌 Description

Adds the cuDNN backend to BF16 GEMM.

## 🔍 Related Issues

<!-- Link any related issues here -->
#2300

## 🚀 Pull Request Checklist

- [x] I have installed pre-commit
- [ ] Tests added

## Summary by CodeRabbit

* New Features
  * Something a bot wrote

Signed-off-by: Ada <ada@example.com>
Co-authored-by: Bob <bob@example.com>"""


def test_pr_template_noise_and_trailers_are_removed():
    assert clean_body(TEMPLATE) == "Adds the cuDNN backend to BF16 GEMM."


def test_a_plain_body_is_kept_and_joined():
    message = "Fix thing (#1)\n\nThe scheduler dropped requests.\nNow it does not.\n\nSigned-off-by: A <a@b>"
    assert clean_body(message) == "The scheduler dropped requests. Now it does not."


def test_only_trailers_leave_nothing():
    assert clean_body("[Doc] Fix (#1)\n\nSigned-off-by: A <a@b>\nCo-authored-by: B <b@c>") == ""


def test_shorten_cuts_at_a_sentence_or_word():
    text = "First sentence here. Second sentence is much longer than the limit allows for sure."
    assert shorten(text, 36) == "First sentence here."
    assert shorten("word " * 20, 23).endswith(" …")
    assert shorten("short", 40) == "short"
