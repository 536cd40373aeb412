"""The size budget of an email's HTML (EMAIL_MAX_BYTES): on a busy day the tables of other commits
are shortened to a count and a link to the web issue, and never the analysis."""

import logging

import pytest

from newsletter.audience import Variant, active_repositories
from newsletter.build import build_report
from newsletter.dispatch import dispatch_report
from newsletter.models import Report, ReportItem
from newsletter.render.email import email_bytes, frame_values, render_email, subject_for
from newsletter.render.markdown import report_parts, report_url
from tests.busy_days import DAY, busy_day
from tests.mailing import parts, subscriber
from tests.render.test_email import only
from tests.render.test_email_variants import Reading

pytestmark = pytest.mark.django_db

CLIPPED_AT = 102_000  # about where Gmail shows "[Message clipped]"
SHORTENED = {"zh": "此处从略", "en": "not listed here to keep this email from being clipped"}


def busy_report(language: str = "zh") -> Report:
    busy_day(80)
    return build_report(day=DAY, language=language, analyzer="heuristic", force=True)


def everyone(report: Report) -> Variant:
    return Variant(tuple(sorted(active_repositories(report))), report.language, "html")


def items(report: Report, kind: str, name: str | None = None) -> list[ReportItem]:
    found = ReportItem.objects.filter(report=report, kind=kind, hidden=False).select_related("commit")
    return list(found.filter(section__repository__name=name) if name else found)


def assert_analysis_whole(report: Report, html: str) -> None:
    """Every highlight, and the summary, issues and conclusions exactly as without a budget."""
    for item in items(report, ReportItem.Kind.HIGHLIGHT):
        assert item.commit.html_url in html, item.title
    every = report_parts(report, everyone(report).repositories)
    values = frame_values(every, subject_for(every))
    shown = Reading(html)
    for slot in ("summary", "issues", "conclusions"):
        fragment = Reading(values[slot])
        assert fragment.text and "".join(fragment.text) in "".join(shown.text), slot
        assert set(fragment.links) <= set(shown.links), slot


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_busy_day_is_shortened_to_the_budget_and_keeps_the_analysis(collected, settings, language):
    report = busy_report(language)
    settings.EMAIL_MAX_BYTES = 0  # no budget: the whole day
    whole = render_email(report, everyone(report))
    assert email_bytes(whole.html) > CLIPPED_AT  # clipped, if nothing were done
    settings.EMAIL_MAX_BYTES = 100_000
    email = render_email(report, everyone(report))
    assert email_bytes(email.html) <= 100_000
    assert_analysis_whole(report, email.html)
    # vLLM's table, the longest, is one line with a count and a link to it on the web issue.
    listed = items(report, ReportItem.Kind.LISTED, "vllm")
    assert len(listed) > 60
    assert f"{report_url(report)}#repo-vllm-project-vllm" in email.html
    assert email.html.count(SHORTENED[language]) == 1
    assert f"{len(listed)}" in email.html.split(SHORTENED[language])[0][-300:]
    assert not any(item.commit.html_url in email.html for item in listed)
    # The text part keeps the whole table; the subject is the same.
    assert all(item.commit.html_url in email.text for item in listed)
    assert email.text == whole.text and email.subject == whole.subject


def test_a_normal_day_is_not_shortened(collected, settings):
    settings.EMAIL_MAX_BYTES = 100_000
    report = build_report(day=DAY, language="zh", analyzer="heuristic", force=True)
    html = render_email(report, everyone(report)).html
    listed = items(report, ReportItem.Kind.LISTED)
    assert listed and all(item.commit.html_url in html for item in listed)
    assert SHORTENED["zh"] not in html


def test_over_the_budget_without_any_table_the_analysis_stays_and_a_warning_is_logged(collected, settings, caplog):
    settings.EMAIL_MAX_BYTES = 20_000
    report = build_report(day=DAY, language="zh", analyzer="heuristic", force=True)
    with caplog.at_level(logging.WARNING, logger="newsletter.render.email"):
        html = render_email(report, everyone(report)).html
    assert email_bytes(html) > 20_000
    assert_analysis_whole(report, html)
    tables = {item.section.repository_id for item in items(report, ReportItem.Kind.LISTED)}
    assert html.count(SHORTENED["zh"]) == len(tables) >= 2
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "EMAIL_MAX_BYTES=20000" in caplog.records[0].getMessage()


def test_the_busy_day_as_a_subscriber_gets_it_stays_under_the_clip(collected, smtp):
    report = busy_report()
    report.status = Report.Status.APPROVED
    report.save(update_fields=["status"])
    subscriber("all@example.com")
    dispatch_report(report)
    html = parts(only(smtp, "all@example.com"))["text/html"]
    assert len(html.encode()) <= 100_000  # the subscriber's own links in place
    assert "/unsubscribe/" in html and "links.invalid" not in html
    assert SHORTENED["zh"] in html
