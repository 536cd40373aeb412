"""The daily job in sync mode: build, tell the editors, never twice, retries then a report, auto-approve."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from newsletter.daily import run_daily
from newsletter.models import CollectRun, DailyRun, Report
from newsletter.tasks import daily_build_task, daily_send_task
from replay.server import Faults
from tests.mailing import subscriber

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)


def subjects(smtp):
    return [str(m["Subject"]).strip() for m in smtp.messages]


def test_the_daily_build_waits_for_the_editor(replay, smtp, editor):
    run = run_daily(DAY)
    assert run.status == DailyRun.Status.BUILT and run.attempts == 1
    report = Report.objects.get(date=DAY, language="zh")
    assert report.status == "draft"
    assert subjects(smtp) == ["[AI Infra Daily] 2026-01-29: the draft is waiting for review"]
    body = smtp.messages[0].get_content()
    assert f"/admin/newsletter/report/{report.pk}/change/" in body
    assert smtp.recipients() == ["editor@example.com"]


def test_twice_for_a_day_duplicates_nothing_and_keeps_the_editors_work(replay, smtp, editor):
    run_daily(DAY)
    report = Report.objects.get()
    report.statements.filter(kind="summary", order=0).update(text="edited by the editor")
    commits = CollectRun.objects.count()
    run_daily(DAY)
    assert Report.objects.count() == 1 and Report.objects.get().statements.filter(text="edited by the editor").exists()
    assert DailyRun.objects.count() == 1 and CollectRun.objects.count() == commits + 3


def test_a_report_per_language_subscribers_read(replay, smtp, editor):
    subscriber("en@example.com", language="en")
    run_daily(DAY)
    assert sorted(Report.objects.values_list("language", flat=True)) == ["en", "zh"]


def test_a_day_without_activity_sends_nothing_and_says_so(replay, smtp, editor):
    subscriber("ada@example.com")
    run = run_daily(date(2026, 1, 20))
    assert run.status == DailyRun.Status.NO_ACTIVITY
    assert subjects(smtp) == ["[AI Infra Daily] 2026-01-20: no activity, nothing will be sent"]
    daily_send_task()
    assert smtp.recipients() == ["editor@example.com"]


def test_a_failing_collect_is_retried_then_reported(replay, smtp, editor, settings):
    settings.DAILY_MAX_ATTEMPTS = 2
    replay.state.reset(Faults(malformed="/repos/vllm-project/vllm/issues"))
    first = run_daily(DAY)
    assert first.status == DailyRun.Status.RETRYING and "malformed" in first.error
    retry = Schedule.objects.get(name="ai-infra-daily: retry 2026-01-29")
    assert retry.func == "newsletter.tasks.daily_build_task" and "'attempt': 2" in retry.kwargs
    assert smtp.count() == 0 and not Report.objects.exists()  # nothing reported yet: it is retried first
    final = daily_build_task(day="2026-01-29", attempt=2)
    assert "built" in final
    report = Report.objects.get()
    assert any("collection failed" in w and "vllm-project/vllm" in w for w in report.warnings)
    mail = smtp.messages[0].get_content()
    assert "vllm-project/vllm" in mail and "malformed" in mail


def test_a_failing_build_is_reported_after_the_last_attempt(replay, smtp, editor, settings, monkeypatch):
    settings.DAILY_MAX_ATTEMPTS = 1

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("newsletter.daily.build_report", broken)
    run = run_daily(DAY)
    assert run.status == DailyRun.Status.FAILED and "RuntimeError: disk full" in run.error
    assert subjects(smtp) == ["[AI Infra Daily] 2026-01-29: the daily build failed"]
    with pytest.raises(CommandError, match="RuntimeError: disk full"):
        call_command("run_daily", "--date", "2026-01-29", stdout=StringIO())


def test_auto_approve_sends_at_the_send_time(replay, smtp, editor, settings, django_capture_on_commit_callbacks):
    settings.AUTO_APPROVE = True
    subscriber("ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        run = run_daily(DAY)  # a past day: its send time has passed, so it goes at once
    assert run.status == DailyRun.Status.APPROVED
    report = Report.objects.get()
    assert report.status == "sent" and report.approved_by is None and report.approved_at
    assert "ada@example.com" in smtp.recipients()


def test_the_send_task_sends_what_was_approved(replay, smtp, editor, django_capture_on_commit_callbacks):
    subscriber("ada@example.com")
    run_daily(DAY)
    Report.objects.update(status="approved")
    with django_capture_on_commit_callbacks(execute=True):
        daily_send_task()  # covers "yesterday" only
    assert Report.objects.get().status == "approved"


def test_run_daily_command(replay, smtp, editor):
    out = StringIO()
    call_command("run_daily", "--date", "2026-01-29", stdout=out)
    assert out.getvalue().strip() == "2026-01-29: built (waiting for approval)"
