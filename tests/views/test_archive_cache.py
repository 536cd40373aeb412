"""The archive's validators and whole-response cache: 304s, no query for a cached page, fresh pages
after any change of what they show, languages kept apart, nothing of one visitor shown to another."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from newsletter import archive_version
from newsletter.build import build_report
from newsletter.dispatch import finish_if_done
from newsletter.models import Report, ReportItem, Subscriber
from newsletter.views.archive import TOKEN_PLACEHOLDER
from newsletter.views.archive_cache import Memory

pytestmark = pytest.mark.django_db
ISSUE = "/reports/2026-01-29/"
PAGES = ("/", "/reports/", ISSUE, "/reports/2026-01-29.md", "/feed/")


def sent(day: date, language: str = "zh") -> Report:
    report = build_report(day=day, language=language, analyzer="heuristic", force=True)
    # Built and sent on its day: every change a test makes comes later, in another second.
    built = datetime(day.year, day.month, day.day, tzinfo=UTC)
    Report.objects.filter(pk=report.pk).update(status="sent", updated_at=built, sent_at=built + timedelta(hours=1))
    report.refresh_from_db()
    return report


def without_token(body: bytes) -> bytes:
    """The page without the home page's CSRF token, which is masked anew each time."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def published(collected):
    return sent(date(2026, 1, 28)), sent(date(2026, 1, 29))


def test_every_page_has_validators_and_answers_304(client, published):
    client.get("/")  # the CSRF cookie the home page's validators depend on
    for url in PAGES:
        first = client.get(url)
        assert first.status_code == 200, url
        etag, modified = first["ETag"], first["Last-Modified"]
        assert etag.startswith('W/"') and modified.endswith("GMT"), url
        assert "no-cache" in first["Cache-Control"], url
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag, url
        assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304, url
        assert client.get(url, HTTP_IF_NONE_MATCH='W/"other"').status_code == 200, url
        head = client.head(url)
        assert head.status_code == 200 and head.content == b"" and head["ETag"] == etag, url
        assert client.head(url, HTTP_IF_NONE_MATCH=etag).status_code == 304, url


def test_a_cached_page_or_a_304_costs_no_query(client, published):
    for url in PAGES[1:]:
        etag = client.get(url)["ETag"]
        with CaptureQueriesContext(connection) as cached:
            response = client.get(url)
        assert response.status_code == 200 and not response.templates, url  # nothing rendered
        assert len(cached) == 0, (url, [q["sql"] for q in cached])
        with CaptureQueriesContext(connection) as not_modified:
            assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        assert len(not_modified) == 0, url


def test_without_the_archive_version_the_state_is_read_again(client, published):
    """A flushed or evicted version: one query reads the state, and the pages stay right."""
    etag = client.get(ISSUE)["ETag"]
    cache.delete(archive_version.key("zh"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ISSUE, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ISSUE, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert len(queries) == 0


def test_an_edited_report_gets_a_new_etag_and_a_fresh_body(client, published):
    _, report = published
    client.get("/")
    before = {url: client.get(url) for url in PAGES}
    item = ReportItem.objects.filter(report=report, kind="highlight").order_by("section__order", "order").first()
    item.title = "A corrected headline"
    item.save()
    report.save()  # what a correction saves with it: updated_at moves
    for url in PAGES:
        after = client.get(url, HTTP_IF_NONE_MATCH=before[url]["ETag"])
        assert after.status_code == 200, url
        assert after["ETag"] != before[url]["ETag"], url
        if url != "/reports/":  # the list shows no headlines
            assert "A corrected headline" in after.content.decode(), url
        assert client.get(url, HTTP_IF_MODIFIED_SINCE=before[url]["Last-Modified"]).status_code == 200, url


def test_an_issue_sent_again_gets_a_new_etag(client, published):
    _, report = published
    before = client.get(ISSUE)["ETag"]
    # Some deliveries go out again from the admin: off the archive while they do, back when done.
    assert Report.objects.filter(pk=report.pk).send_again() == 1
    assert client.get(ISSUE, HTTP_IF_NONE_MATCH=before).status_code == 404
    assert report.finish()
    assert client.get(ISSUE, HTTP_IF_NONE_MATCH=before).status_code == 200
    assert client.get(ISSUE)["ETag"] != before


def test_the_next_issue_going_out_changes_the_page_before_it(client, collected):
    sent(date(2026, 1, 28))
    older = client.get("/reports/2026-01-28/")
    assert 'rel="next"' not in older.content.decode()
    following = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    Report.objects.filter(pk=following.pk).update(status="sending")
    assert client.get("/reports/2026-01-28/", HTTP_IF_NONE_MATCH=older["ETag"]).status_code == 304
    # The last delivery settles: status and sent_at are written with update(), updated_at stays.
    assert finish_if_done(following)
    now = client.get("/reports/2026-01-28/", HTTP_IF_NONE_MATCH=older["ETag"])
    assert now.status_code == 200 and '<a rel="next" href="/reports/2026-01-29/">' in now.content.decode()
    assert client.get("/reports/2026-01-28/", HTTP_IF_MODIFIED_SINCE=older["Last-Modified"]).status_code == 200


def test_an_older_issue_keeps_its_etag_when_a_later_one_is_sent(client, published):
    older, newer = client.get("/reports/2026-01-28/")["ETag"], client.get(ISSUE)["ETag"]
    listing = client.get("/reports/")["ETag"]
    Report.objects.create(date=date(2026, 1, 30), language="zh", status="sent", analyzer="heuristic")
    assert client.get("/reports/", HTTP_IF_NONE_MATCH=listing).status_code == 200
    assert '<a rel="next" href="/reports/2026-01-30/">' in client.get(ISSUE, HTTP_IF_NONE_MATCH=newer).content.decode()
    # The 28th still links to the 29th and lists the same earlier issues: its cached page stays.
    assert client.get("/reports/2026-01-28/", HTTP_IF_NONE_MATCH=older).status_code == 304


def test_a_withdrawn_issue_is_gone_at_once(client, published):
    _, report = published
    listing = client.get("/reports/")
    assert client.get(ISSUE).status_code == 200
    report.status = "draft"
    report.save()
    assert client.get(ISSUE).status_code == 404
    assert client.get(ISSUE, HTTP_IF_NONE_MATCH=listing["ETag"]).status_code == 404
    fresh = client.get("/reports/", HTTP_IF_MODIFIED_SINCE=listing["Last-Modified"])
    assert fresh.status_code == 200 and ISSUE not in fresh.content.decode()


def test_a_draft_day_is_404_and_never_cached(client, collected):
    draft = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    for url in (ISSUE, "/reports/2026-01-29.md"):
        for _ in range(2):
            response = client.get(url, HTTP_IF_NONE_MATCH="*")
            assert response.status_code == 404 and not response.has_header("ETag"), url
    draft.approve()
    draft.start_sending()
    draft.finish()
    assert client.get(ISSUE).status_code == 200
    # Sent again, and that failed: the 200 stored a moment ago is never served again.
    Report.objects.filter(pk=draft.pk).send_again()
    assert Report.objects.filter(pk=draft.pk).transition(Report.Status.FAILED) == 1
    assert client.get(ISSUE).status_code == 404
    assert client.head(ISSUE).status_code == 404


def test_languages_are_never_mixed(client, collected, settings):
    client.get("/")  # the CSRF cookie the home page's validators depend on
    sent(date(2026, 1, 29), "zh")
    sent(date(2026, 1, 29), "en")
    for url in (ISSUE, "/reports/", "/feed/", "/reports/2026-01-29.md", "/"):
        zh = client.get(url)
        en = client.get(url, {"lang": "en"})
        assert zh["ETag"] != en["ETag"], url
        # An English reader's validator never earns a 304 on the Chinese page, nor the reverse.
        assert client.get(url, HTTP_IF_NONE_MATCH=en["ETag"]).status_code == 200, url
        assert client.get(url, {"lang": "en"}, HTTP_IF_NONE_MATCH=zh["ETag"]).status_code == 200, url
        # The language is the URL's: a browser's Accept-Language changes nothing, so nothing varies on it.
        english_browser = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert english_browser["ETag"] == zh["ETag"], url
        assert without_token(english_browser.content) == without_token(zh.content), url
        assert "Accept-Language" not in zh.get("Vary", ""), url
    english = client.get(ISSUE, {"lang": "en"}).content.decode()
    assert '<html lang="en">' in english
    assert f'<link rel="canonical" href="{settings.SITE_URL}/reports/2026-01-29/?lang=en">' in english
    assert '<html lang="zh-CN">' in client.get(ISSUE).content.decode()
    english_feed = client.get("/feed/", {"lang": "en"}).content.decode()
    assert "/reports/2026-01-29/?lang=en" in english_feed and "/feed/?lang=en" in english_feed
    assert "?lang=en" not in client.get("/feed/").content.decode()


def test_cached_pages_hold_nothing_of_the_visitor(client, published):
    _, report = published
    editor = User.objects.create_user("editor", password="pw", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    # An admin action leaves a message for the editor's next admin page; no archive page shows it.
    client.post(f"/admin/newsletter/report/{report.pk}/approve/")
    assert "messages" in client.cookies
    for url in PAGES[1:]:
        seen = client.get(url)
        body = seen.content.decode()
        for private in ("csrfmiddlewaretoken", "editor", "/admin/", "Only a draft"):
            assert private not in body, (url, private)
        assert not seen.cookies and "Cookie" not in seen.get("Vary", ""), url
        assert "public" in seen["Cache-Control"], url
        anonymous = Client().get(url)
        assert anonymous.content == seen.content and anonymous["ETag"] == seen["ETag"], url


def test_the_home_page_is_made_for_each_visitor(published):
    first, second = Client(), Client()
    one = first.get("/")
    two = second.get("/")
    assert "Cookie" in one["Vary"] and "private" in one["Cache-Control"]
    token = one.cookies["csrftoken"].value
    assert token != two.cookies["csrftoken"].value
    # Each visitor's page carries a token for its own cookie, so its ETag is its own.
    again = first.get("/")
    assert again.status_code == 200 and again["ETag"] != two["ETag"]
    assert first.get("/", HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 304
    assert second.get("/", HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 200
    # The page is cached whole like the other pages, with each visitor's token put in: no query,
    # nothing rendered.
    with CaptureQueriesContext(connection) as queries:
        cached = first.get("/")
    assert len(queries) == 0 and not cached.templates, [q["sql"] for q in queries]
    assert without_token(cached.content) == without_token(two.content)
    assert TOKEN_PLACEHOLDER.encode() not in cached.content


def test_the_token_in_a_cached_home_page_is_the_visitors_own(published, smtp):
    """The form of a cached home page posts: its token is made for the visitor's cookie."""
    visitor, other = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    other.get("/")
    visitor.get("/")  # renders; the next one is the cached page
    page = visitor.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"email": "reader@example.com", "language": "zh", "format": "html", "consent": "on", "website": "",
            "csrfmiddlewaretoken": token}  # fmt: skip
    assert other.post("/subscribe/", form).status_code == 403  # someone else's cookie, someone else's token
    answer = visitor.post("/subscribe/", form)
    assert answer.status_code == 200 and Subscriber.objects.filter(email="reader@example.com").exists()
    assert smtp.count() == 1  # the confirmation


def test_junk_in_the_query_string_does_not_fill_the_cache(client, published):
    client.get("/reports/")
    for junk in ({"page": "x"}, {"utm_source": "feed"}, {"page": "1"}, {"lang": "fr"}):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/reports/", junk).status_code == 200
        assert len(queries) == 0, junk
    assert client.get("/reports/", {"page": "99"})["ETag"] == client.get("/reports/", {"page": "-3"})["ETag"]


def test_pages_in_memory_share_their_body_and_stay_within_the_bound(settings):
    """A page from memory is a new response around the same bytes (nothing copied, nothing a
    middleware adds to one answer reaches the next); the memory keeps at most
    ARCHIVE_MEMORY_BYTES of bodies, the least recently used going first."""
    settings.ARCHIVE_MEMORY_BYTES = 3 * 1024 * 1024
    memory = Memory()
    feed = HttpResponse(b"x" * (1024 * 1024), content_type="application/atom+xml; charset=utf-8")
    memory.keep_page("feed", feed)
    first, second = memory.page("feed"), memory.page("feed")
    assert first is not second and first.content is second.content is feed.content
    assert first["Content-Type"] == "application/atom+xml; charset=utf-8"
    first["Vary"] = "Cookie"
    assert not memory.page("feed").has_header("Vary")
    memory.keep_page("a", HttpResponse(b"a" * (1024 * 1024)))
    memory.page("feed")  # used again: "a" is now the least recently used
    memory.keep_page("b", HttpResponse(b"b" * (1024 * 1024)))
    assert memory.page("a") is None and memory.page("feed") and memory.page("b")
    memory.keep_page("huge", HttpResponse(b"h" * (4 * 1024 * 1024)))  # more than the whole bound
    assert memory.page("huge") is None and memory.page("feed") and memory.page("b")
