"""Emails as subscribers receive them over SMTP: structure, headers, personalization, escaping."""

import re
from datetime import date

import pytest
from django.core.management import call_command

from newsletter.dispatch import dispatch_report
from newsletter.models import Commit, Delivery, ReportVariant, Repository
from newsletter.render import email as email_render
from tests.mailing import approved_report, parts, subscriber

pytestmark = pytest.mark.django_db


def only(smtp, address):
    found = [m for m in smtp.messages if m["To"] == address]
    assert len(found) == 1, f"{address}: {len(found)} messages"
    return found[0]


def test_multipart_structure_and_headers(collected, smtp, settings):
    settings.SITE_URL = "https://daily.example.com"
    report = approved_report()
    person = subscriber("ada@example.com")
    dispatch_report(report)
    message = only(smtp, "ada@example.com")
    assert message.get_content_type() == "multipart/alternative"
    assert list(parts(message)) == ["text/plain", "text/html"]
    delivery = Delivery.objects.get(subscriber=person)
    assert message["Message-ID"] == delivery.message_id
    assert re.fullmatch(r"<issue-20260129-zh-\d+\.s\d+@daily\.example\.com>", delivery.message_id)
    unsubscribe = str(message["List-Unsubscribe"]).strip()
    # No operator mailbox configured: a mailto: nobody reads would promise what nothing does.
    assert re.fullmatch(r"<https://daily\.example\.com/unsubscribe/[^>]+/>", unsubscribe)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "AI Infra Daily <ai-infra-daily.daily.example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Archived-At"] == "<https://daily.example.com/reports/2026-01-29/>"
    # Long non-ASCII subjects are folded onto the next line; the parsed value keeps that space.
    assert str(message["Subject"]).strip().startswith("AI Infra Daily 2026-01-29 · FlashInfer, SGLang, vLLM: ")
    text, html = parts(message)["text/plain"], parts(message)["text/html"]
    https_link = unsubscribe[1 : unsubscribe.index(">")]
    assert https_link in text and https_link in html  # the subscriber's own links, substituted
    assert "links.invalid" not in text + html
    assert text.startswith("# AI Infra Daily · 2026-01-29") and "## 具体内容分析" in text
    assert '<html lang="zh-CN"' in html and "<h2" in html and "## " not in html


def test_list_unsubscribe_offers_mailto_when_a_mailbox_is_configured(collected, smtp, settings):
    settings.UNSUBSCRIBE_MAILTO = "leave@daily.example.com"
    subscriber("ada@example.com")
    dispatch_report(approved_report())
    unsubscribe = str(only(smtp, "ada@example.com")["List-Unsubscribe"]).strip()
    assert re.fullmatch(
        r"<https?://[^>]+/unsubscribe/[^>]+/>, <mailto:leave@daily\.example\.com\?subject=[^>]+>", unsubscribe
    )


def test_a_vllm_only_subscriber_gets_nothing_of_the_others(collected, smtp):
    report = approved_report()
    subscriber("vllm@example.com", "vllm")
    dispatch_report(report)
    message = only(smtp, "vllm@example.com")
    assert str(message["Subject"]).strip().startswith("AI Infra Daily 2026-01-29 · vLLM: ")
    for content in parts(message).values():
        for other in ("SGLang", "sglang", "sgl-project", "FlashInfer", "flashinfer-ai"):
            assert other not in content, other
        assert "vllm-project/vllm/commit/" in content


def test_markdown_subscribers_get_plain_text(collected, smtp):
    report = approved_report()
    subscriber("plain@example.com", output="markdown")
    dispatch_report(report)
    message = only(smtp, "plain@example.com")
    assert message.get_content_type() == "text/plain"
    assert message.get_content().startswith("# AI Infra Daily · 2026-01-29")


def test_hostile_commit_titles_are_escaped_in_both_parts(collected, smtp):
    commit = Commit.objects.get(sha__startswith="8bdd397")
    commit.title = "[CI] <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
    commit.save()
    report = approved_report()
    subscriber("ada@example.com")
    dispatch_report(report)
    text, html = parts(only(smtp, "ada@example.com")).values()
    assert "<script" not in text and "<img" not in text and "](javascript:" not in text
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_activity_means_no_email(collected, smtp):
    quiet = Repository.objects.create(owner="acme", name="quiet", display_name="Quiet", order=99)
    report = approved_report()
    person = subscriber("quiet@example.com")
    person.repositories.set([quiet])
    dispatch_report(report)
    assert smtp.count() == 0
    assert Delivery.objects.get(subscriber=person).status == Delivery.Status.SKIPPED


def counted_compiles(monkeypatch) -> list[str]:
    """Every MJML source compiled from now on, in a cold memo, by wrapping the one compile function."""
    email_render.forget_compiled()
    sources: list[str] = []
    compile_mjml = email_render.compile_mjml

    def counted(source: str) -> str:
        sources.append(source)
        return compile_mjml(source)

    monkeypatch.setattr(email_render, "compile_mjml", counted)
    return sources


def test_mjml_is_compiled_once_per_repository_not_per_variant(collected, smtp, monkeypatch):
    report = approved_report()
    for n in range(12):
        subscriber(f"v{n}@example.com", *(["vllm"] if n % 3 == 0 else ["vllm", "sglang"] if n % 3 == 1 else []),
                   output="markdown" if n % 4 == 0 else "html")  # fmt: skip
    compiles = counted_compiles(monkeypatch)
    summary = dispatch_report(report)
    html_variants = ReportVariant.objects.filter(report=report).exclude(html="")
    repositories = {name for variant in html_variants for name in variant.key.split("|")[2].split(",")}
    assert html_variants.count() == 3 and len(repositories) == 3
    # The frame once, each repository's section once: not once per variant.
    assert len(compiles) == 1 + len(repositories)
    combinations = {(n % 3, n % 4 == 0) for n in range(12)}  # repositories x format
    assert summary.variants == ReportVariant.objects.filter(report=report).count() == len(combinations) == 6
    assert smtp.count() == 12


def test_only_an_approved_report_is_sent(collected, smtp):
    report = approved_report()
    report.status = "draft"
    report.save()
    subscriber("ada@example.com")
    with pytest.raises(Exception, match="only an approved report is sent"):
        dispatch_report(report)
    with pytest.raises(Exception, match=r"nothing to send for 2026-01-29 \(zh draft\)"):
        call_command("send_report", "--date", "2026-01-29")
    assert smtp.count() == 0 and not Delivery.objects.exists()


def test_subscribers_of_another_language_wait_for_their_report(collected, smtp):
    zh = approved_report(date(2026, 1, 29), "zh")
    subscriber("zh@example.com")
    subscriber("en@example.com", language="en")
    dispatch_report(zh)
    assert smtp.recipients() == ["zh@example.com"]
    dispatch_report(approved_report(date(2026, 1, 29), "en"))
    assert sorted(smtp.recipients()) == ["en@example.com", "zh@example.com"]
    assert parts(only(smtp, "en@example.com"))["text/plain"].startswith("# AI Infra Daily")
    assert "## Analysis" in parts(only(smtp, "en@example.com"))["text/plain"]


def test_the_busiest_bundled_day_stays_under_gmails_clipping_size(collected, smtp):
    report = approved_report()
    subscriber("all@example.com")
    dispatch_report(report)
    html = parts(only(smtp, "all@example.com"))["text/html"]
    assert len(html.encode()) < 102_000  # Gmail hides what follows "[Message clipped]"
    head = html[: html.index("具体内容分析") if "具体内容分析" in html else 5000]
    assert "/unsubscribe/" in head  # the way out is at the top too, in case a client clips
