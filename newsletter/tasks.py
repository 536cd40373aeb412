"""django-q2 tasks: thin wrappers that take ids or dates and call one function."""

from __future__ import annotations

from datetime import date

from newsletter.daily import run_daily
from newsletter.dispatch import dispatch_report, next_retry_at
from newsletter.models import Heartbeat, Report
from newsletter.schedule import schedule_dispatch, schedule_dispatch_retry, yesterday


def dispatch_report_task(report_id: int) -> str:
    """Send what is due now; if temporary failures wait for a retry, come back when it is due."""
    report = Report.objects.get(pk=report_id)
    summary = dispatch_report(report, wait_for_retries=False)
    later = next_retry_at(report)
    if later is not None:
        schedule_dispatch_retry(report, later)
    return str(summary)


def daily_build_task(day: str | None = None, attempt: int = 1) -> str:
    run = run_daily(date.fromisoformat(day) if day else yesterday(), attempt=attempt)
    return f"{run.day}: {run.status}"


def daily_send_task() -> str:
    """At the send time: every approved report of yesterday goes out (later approvals go at once)."""
    sent = []
    for report in Report.objects.filter(date=yesterday(), status=Report.Status.APPROVED):
        schedule_dispatch(report)
        sent.append(report.language)
    return f"queued: {', '.join(sent) or 'nothing approved'}"


def heartbeat_task() -> None:
    Heartbeat.beat()
