"""The editor's morning in a real browser: log in, fix the draft, preview, approve, dispatch, see the counts."""

from datetime import date

import pytest
from django.utils import timezone

from newsletter.build import build_report
from newsletter.models import Delivery, Report, ReportItem
from tests.browser import browser, screenshot
from tests.mailing import subscriber

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def test_the_editors_morning(live_server, collected, smtp, editor):
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    # Make it today's issue, so that approving it plans the send for tomorrow morning instead of sending.
    Report.objects.filter(pk=report.pk).update(date=timezone.localdate())
    for n in range(3):
        subscriber(f"reader{n}@example.com", *(["vllm"] if n == 0 else []))
    item = ReportItem.objects.filter(report=report, kind="highlight").order_by("section__order", "order").first()

    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/admin/login/?next=/admin/newsletter/report/{report.pk}/change/")
        page.fill("#id_username", "editor")
        page.fill("#id_password", "editor-password")
        page.click("input[type=submit]")
        page.wait_for_selector("#report-desk")
        assert "草稿" in page.inner_text("#report-status") or "draft" in page.inner_text("#report-status").lower()
        screenshot(page, "editor-1-draft")

        titles = page.locator("textarea[name$='-title']")
        title = next(titles.nth(n) for n in range(titles.count()) if titles.nth(n).input_value() == item.title)
        title.fill("An editor's clearer headline")
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist")
        item.refresh_from_db()
        assert item.title == "An editor's clearer headline"
        assert "An editor's clearer headline" in page.inner_text(".edit-history")
        screenshot(page, "editor-2-edited")

        page.click("#report-desk a.button")  # Preview
        page.wait_for_selector("#preview-subject")
        page.uncheck("input[name=repositories][value='sgl-project/sglang']")
        page.uncheck("input[name=repositories][value='flashinfer-ai/flashinfer']")
        page.click("#show-preview")
        page.wait_for_selector("#preview-html")
        assert "· vLLM:" in page.inner_text("#preview-subject")
        frame = page.frame_locator("#preview-html")
        assert "具体内容分析" in frame.locator("body").inner_text() or "vLLM" in frame.locator("body").inner_text()
        assert "sgl-project" not in page.inner_text("#preview-text")
        screenshot(page, "editor-3-preview-vllm-only")

        page.goto(f"{live_server.url}/admin/newsletter/report/{report.pk}/change/")
        page.click("#approve-button")
        page.wait_for_selector("#dispatch-button")
        report.refresh_from_db()
        assert report.status == "approved" and report.approved_by == editor
        screenshot(page, "editor-4-approved")

        page.click("#dispatch-button")
        page.wait_for_selector(".messagelist")
        page.reload()
        assert page.inner_text("[data-count=sent]") == "3"
        assert page.locator("#approve-button").count() == 0 and "只读：已开始发送" in page.inner_text("#report-desk")
        screenshot(page, "editor-5-sent")
        assert errors == []

    assert Delivery.objects.filter(report=report, status="sent").count() == 3
    assert sorted(smtp.recipients()) == ["reader0@example.com", "reader1@example.com", "reader2@example.com"]
