"""The public archive: only sent issues, pages, Markdown, the Atom feed, and constant query counts."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.build import build_report
from newsletter.models import Commit, ItemSnippet, Report, ReportItem, ReportSection

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def sent(day: date, language: str = "zh") -> Report:
    report = build_report(day=day, language=language, analyzer="heuristic", force=True)
    Report.objects.filter(pk=report.pk).update(
        status="sent", sent_at=datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
    )
    report.refresh_from_db()
    return report


def clone(report: Report, day: date) -> Report:
    """A copy of a sent report under another date: many issues without building each."""
    copy = Report.objects.create(
        date=day, language=report.language, status="sent", analyzer=report.analyzer, sent_at=report.sent_at
    )
    for section in report.sections.all():
        items = list(section.items.prefetch_related("snippets"))
        section.pk, section.report = None, copy
        section.save()
        snippets = []
        for item in items:
            snippets += [(item, snippet) for snippet in item.snippets.all()]
            item.pk, item.report, item.section = None, copy, section
        ReportItem.objects.bulk_create(items)
        for item, snippet in snippets:
            snippet.pk, snippet.item = None, item
        ItemSnippet.objects.bulk_create([snippet for _, snippet in snippets])
    for statement in report.statements.prefetch_related("commits", "issues"):
        commits, issues = list(statement.commits.all()), list(statement.issues.all())
        statement.pk, statement.report = None, copy
        statement.save()
        statement.commits.set(commits)
        statement.issues.set(issues)
    return copy


@pytest.fixture
def two_sent(collected, settings):
    settings.SITE_URL = "https://daily.example.com"
    return sent(date(2026, 1, 28)), sent(date(2026, 1, 29))


def test_only_sent_reports_are_public(client, collected):
    draft = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    for url in ("/reports/2026-01-29/", "/reports/2026-01-29.md", "/reports/2026-02-30/", "/reports/2026-01-20/"):
        assert client.get(url).status_code == 404, url
    assert b"2026-01-29" not in client.get("/reports/").content
    assert b"commit" not in client.get("/").content.split(b"<main")[1].split(b"</form>")[1]
    for status in ("approved", "sending", "failed"):
        Report.objects.filter(pk=draft.pk).update(status=status)
        assert client.get("/reports/2026-01-29/").status_code == 404
    Report.objects.filter(pk=draft.pk).update(status="sent")
    assert client.get("/reports/2026-01-29/").status_code == 200


def test_the_issue_page(client, two_sent):
    page = client.get("/reports/2026-01-29/").content.decode()
    assert '<html lang="zh-CN">' in page
    assert '<link rel="canonical" href="https://daily.example.com/reports/2026-01-29/">' in page
    assert '<meta property="og:title" content="AI Infra Daily · 2026-01-29">' in page
    assert '<meta property="og:type" content="article">' in page
    for anchor in ("repo-flashinfer-ai-flashinfer", "repo-sgl-project-sglang", "repo-vllm-project-vllm"):
        assert f'href="#{anchor}"' in page and f'id="{anchor}"' in page
    assert '<a rel="prev" href="/reports/2026-01-28/">' in page and 'rel="next"' not in page
    assert '<span class="k">' in page  # code highlighted by Pygments
    assert "<script" not in page and "fonts.googleapis" not in page
    assert [h for h in re.findall(r"<h2 id=\"(\w+)\"", page)] == ["summary", "analysis", "issues", "conclusions"]
    older = client.get("/reports/2026-01-28/").content.decode()
    assert '<a rel="next" href="/reports/2026-01-29/">' in older


def test_the_home_page_shows_the_latest_issue_and_the_form(client, two_sent):
    page = client.get("/").content.decode()
    assert 'action="/subscribe/"' in page and 'name="email"' in page
    assert "AI Infra Daily · 2026-01-29" in page


def test_the_archive_lists_filters_and_pages(client, two_sent):
    page = client.get("/reports/").content.decode()
    assert page.index("2026-01-29") < page.index("2026-01-28")
    assert "71 个提交" in page  # 26 + 45 on the 29th
    flashinfer = client.get("/reports/", {"repo": "flashinfer-ai/flashinfer"}).content.decode()
    assert "2026-01-28" in flashinfer and "/reports/2026-01-29/" not in flashinfer  # no FlashInfer commits that day
    assert client.get("/reports/", {"repo": "nobody/nothing"}).status_code == 404
    base = two_sent[1]
    for n in range(25):
        clone(base, date(2025, 12, 1) + timedelta(days=n))
    first, second = client.get("/reports/"), client.get("/reports/", {"page": 2})
    assert first.context["page_obj"].paginator.num_pages == 2 and len(second.context["rows"]) == 7


def test_markdown_download(client, two_sent):
    response = client.get("/reports/2026-01-29.md")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content.decode().startswith("# AI Infra Daily · 2026-01-29")


def test_the_feed_is_valid_atom_with_full_content(client, two_sent):
    response = client.get("/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text and feed.find(f"{ATOM}updated").text
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [
        "AI Infra Daily · 2026-01-29",
        "AI Infra Daily · 2026-01-28",
    ]
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == 2
    for entry in entries:
        link = entry.find(f"{ATOM}link").get("href")
        assert re.fullmatch(r"https://daily\.example\.com/reports/2026-01-2[89]/", link)
        datetime.fromisoformat(entry.find(f"{ATOM}updated").text)
        content = entry.find(f"{ATOM}content")
        assert content.get("type") == "html" and "<h2>vLLM</h2>" in content.text and "<script" not in content.text
    assert "每天早上" in feed.find(f"{ATOM}subtitle").text  # described in the feed's language


def test_the_feed_of_another_language_is_described_in_it(client, collected):
    sent(date(2026, 1, 29), language="en")
    feed = ET.fromstring(client.get("/feed/?lang=en").content)
    assert feed.find(f"{ATOM}subtitle").text.startswith("What changed in vLLM")
    assert [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")] == ["AI Infra Daily · 2026-01-29"]


def test_a_hostile_title_is_text_on_every_page(client, collected):
    Commit.objects.filter(sha__startswith="8bdd397").update(
        title='<img src=x onerror="alert(1)"> [x](javascript:alert(2))'
    )
    sent(date(2026, 1, 29))
    for url in ("/", "/reports/2026-01-29/", "/feed/"):
        body = client.get(url).content.decode()
        assert "<img src=x" not in body and 'href="javascript' not in body, url


@pytest.mark.parametrize("url", ["/", "/reports/", "/reports/2026-01-29/"])
def test_a_constant_number_of_queries(client, collected, url):
    from django.core.cache import cache

    one = sent(date(2026, 1, 29))
    cache.clear()
    with CaptureQueriesContext(connection) as with_one:
        assert client.get(url).status_code == 200
    for n in range(49):
        clone(one, date(2025, 11, 1) + timedelta(days=n))
    cache.clear()
    with CaptureQueriesContext(connection) as with_fifty:
        assert client.get(url).status_code == 200
    assert Report.objects.filter(status="sent").count() == 50
    assert len(with_fifty) == len(with_one), [q["sql"][:80] for q in with_fifty.captured_queries]
    with CaptureQueriesContext(connection) as cached:
        client.get(url)
    assert len(cached) <= len(with_fifty)


def test_sections_of_a_report_are_one_query(collected):
    report = sent(date(2026, 1, 29))
    assert ReportSection.objects.filter(report=report).count() == 3
