"""The public site and the emails in a real browser: both widths, no script runs from data, the
subscription flow end to end, and the HTML email on a phone."""

import re
from datetime import date

import pytest

from newsletter.build import build_report
from newsletter.dispatch import dispatch_report
from newsletter.models import Commit, Report, Subscriber
from tests.browser import browser, screenshot
from tests.mailing import parts, subscriber

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]
HOSTILE = '<img src=x onerror="window.__xss=1"> [x](javascript:window.__xss=2) <script>window.__xss=3</script>'
WIDTHS = (375, 1280)


def publish(day: date, language: str = "zh") -> Report:
    report = build_report(day=day, language=language, analyzer="heuristic", force=True)
    report.approve()
    dispatch_report(report)
    report.refresh_from_db()
    assert report.status == "sent"
    return report


def watch(page) -> list[str]:
    problems = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    return problems


def test_pages_at_both_widths_with_no_errors_and_no_script_from_data(live_server, collected, smtp, settings):
    settings.SITE_URL = live_server.url
    Commit.objects.filter(sha__startswith="c4e744d").update(title=HOSTILE)  # a highlighted commit
    Commit.objects.filter(sha__startswith="8bdd397").update(title=HOSTILE)  # one in the day's table
    subscriber("reader@example.com")
    publish(date(2026, 1, 28))
    publish(date(2026, 1, 29))
    with browser() as chromium:
        for width in WIDTHS:
            page = chromium.new_page(viewport={"width": width, "height": 900})
            problems = watch(page)
            for name, path in (("home", "/"), ("archive", "/reports/"), ("issue", "/reports/2026-01-29/")):
                page.goto(live_server.url + path)
                page.wait_for_load_state("networkidle")
                assert page.evaluate("window.__xss") is None, (name, width)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{name} is {overflow}px wider than a {width}px screen"
                screenshot(page, f"site-{name}-{width}")
            assert page.locator("h1").first.inner_text() == "AI Infra Daily · 2026-01-29"
            page.click("a[href='#repo-vllm-project-vllm']")
            assert page.evaluate("location.hash") == "#repo-vllm-project-vllm"
            page.click("a[rel=prev]")
            assert page.url.endswith("/reports/2026-01-28/")
            assert problems == [], problems
            page.close()

        # The email, as a phone shows it: readable, nothing runs.
        (message,) = [m for m in smtp.messages if "2026-01-29" in str(m["Subject"])]
        page = chromium.new_page(viewport={"width": 375, "height": 800})
        problems = watch(page)
        page.set_content(parts(message)["text/html"])
        assert page.evaluate("window.__xss") is None
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        font = page.evaluate("getComputedStyle(document.querySelector('h2')).fontSize")
        assert float(font.rstrip("px")) >= 16
        screenshot(page, "email-375")
        assert problems == [], problems


def test_subscribe_confirm_preferences_unsubscribe_in_the_browser(live_server, collected, smtp, settings):
    settings.SITE_URL = live_server.url
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 375, "height": 900})
        problems = watch(page)
        page.goto(live_server.url + "/subscribe/")
        page.fill("input[name=email]", "reader@example.com")
        page.uncheck("input[name=repositories] >> nth=0")  # FlashInfer
        page.select_option("select[name=format]", "markdown")
        page.check("input[name=consent]")
        page.click("button[type=submit]")
        page.wait_for_selector("h1")
        assert "请查收邮件" in page.inner_text("h1")
        person = Subscriber.objects.get()
        assert person.status == "pending" and person.repositories.count() == 2 and person.format == "markdown"

        (message,) = smtp.messages
        text = message.get_body(preferencelist=("plain",)).get_content()
        confirm = re.search(r"(http://\S+/confirm/\S+/)", text).group(1)
        page.goto(confirm)
        assert Subscriber.objects.get().status == "pending"  # opening the link alone confirms nothing
        screenshot(page, "flow-confirm")
        page.click("button[type=submit]")
        page.wait_for_selector("text=订阅成功")
        assert Subscriber.objects.get().status == "active"

        page.click("text=偏好设置")
        page.select_option("select[name=language]", "en")
        page.click("button[type=submit]")
        page.wait_for_selector("[role=status]")
        assert Subscriber.objects.get().language == "en"
        screenshot(page, "flow-preferences")

        page.click("text=退订")
        page.wait_for_selector("button[type=submit]")
        assert Subscriber.objects.get().status == "active"
        page.click("button[type=submit]")
        page.wait_for_selector("text=已退订")
        assert Subscriber.objects.get().status == "unsubscribed"
        screenshot(page, "flow-unsubscribed")
        assert problems == [], problems


def test_the_admin_shows_hostile_titles_as_text(live_server, collected, admin_user, settings):
    settings.SITE_URL = live_server.url
    Commit.objects.filter(sha__startswith="c4e744d").update(title=HOSTILE)
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    admin_user.set_password("admin-password")
    admin_user.save()
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/admin/login/?next=/admin/newsletter/report/{report.pk}/preview/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "admin-password")
        page.click("input[type=submit]")
        page.wait_for_selector("#preview-html")
        assert page.evaluate("window.__xss") is None
        assert page.frame_locator("#preview-html").locator("body").evaluate("() => window.__xss") is None
        page.goto(f"{live_server.url}/admin/newsletter/commit/?q=c4e744d")
        assert page.evaluate("window.__xss") is None
