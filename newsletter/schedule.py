"""When things happen: every django-q2 schedule and queued task the project writes (the daily
schedules, an approved report's send, retries of a dispatch and of the daily build).

The report of day D is built on D+1 at DAILY_BUILD_AT and sent on D+1 at DAILY_SEND_AT (both in
REPORT_TIME_ZONE), or at approval when the editor approves after that.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from newsletter.days import report_zone, today
from newsletter.models import Report
from newsletter.retry import daily_retries

SCHEDULES = {
    "ai-infra-daily: build": ("newsletter.tasks.daily_build_task", "DAILY_BUILD_AT"),
    "ai-infra-daily: send": ("newsletter.tasks.daily_send_task", "DAILY_SEND_AT"),
}
HEARTBEAT = "ai-infra-daily: heartbeat"


def next_at(clock: tuple[int, int], now: datetime | None = None) -> datetime:
    """The next moment the wall clock in REPORT_TIME_ZONE shows `clock` (hour, minute)."""
    now = (now or timezone.now()).astimezone(report_zone())
    candidate = datetime.combine(now.date(), time(*clock), tzinfo=report_zone())
    if candidate > now:
        return candidate
    return datetime.combine(now.date() + timedelta(days=1), time(*clock), tzinfo=report_zone())


def enqueue_dispatch(report: Report) -> None:
    """Queue the dispatch once the surrounding transaction (an approval, say) has committed."""
    transaction.on_commit(lambda: async_task("newsletter.tasks.dispatch_report_task", report.pk))


def send_time(report: Report) -> datetime:
    return datetime.combine(report.date + timedelta(days=1), time(*settings.DAILY_SEND_AT), tzinfo=report_zone())


def schedule_dispatch(report: Report) -> datetime | None:
    """Queue the sending of an approved report at its send time, or now if that time has passed.

    Returns when it is planned, or None when it was queued right away.
    """
    when = send_time(report)
    if timezone.now() >= when:
        Schedule.objects.filter(name=f"ai-infra-daily: dispatch {report.pk}").delete()
        enqueue_dispatch(report)
        return None
    Schedule.objects.update_or_create(
        name=f"ai-infra-daily: dispatch {report.pk}",
        defaults={
            "func": "newsletter.tasks.dispatch_report_task",
            "args": repr((report.pk,)),
            "schedule_type": Schedule.ONCE,
            "next_run": when,
            "repeats": 1,
        },
    )
    return when


def schedule_dispatch_retry(report: Report, due: datetime) -> None:
    """Come back to a report's dispatch when its earliest waiting retry is due."""
    schedule(
        "newsletter.tasks.dispatch_report_task",
        report.pk,
        name=f"dispatch-retry-{report.pk}-{due:%Y%m%d%H%M%S}",
        schedule_type=Schedule.ONCE,
        next_run=max(due, timezone.now() + timedelta(seconds=1)),
    )


def schedule_daily_retry(day: date, attempt: int) -> None:
    """Try the daily build of `day` again after failed attempt number `attempt`."""
    Schedule.objects.update_or_create(
        name=f"ai-infra-daily: retry {day}",
        defaults={
            "func": "newsletter.tasks.daily_build_task",
            "kwargs": repr({"day": day.isoformat(), "attempt": attempt + 1}),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": timezone.now() + timedelta(seconds=daily_retries().delay(attempt)),
        },
    )


def withdraw_approval(report: Report) -> None:
    """Back to draft, and its planned dispatch with it."""
    report.withdraw_approval()
    Schedule.objects.filter(name=f"ai-infra-daily: dispatch {report.pk}").delete()


def setup_schedules() -> list[str]:
    """Create or update the recurring schedules (idempotent: by name). Returns what it did, per schedule."""
    done = []
    for name, (func, setting) in SCHEDULES.items():
        clock = getattr(settings, setting)
        _, created = Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.DAILY, "next_run": next_at(clock), "repeats": -1},
        )
        done.append(f"{'created' if created else 'updated'} {name!r}: daily at {clock[0]:02d}:{clock[1]:02d}")
    _, created = Schedule.objects.update_or_create(
        name=HEARTBEAT,
        defaults={
            "func": "newsletter.tasks.heartbeat_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "next_run": timezone.now(),
            "repeats": -1,
        },
    )
    done.append(f"{'created' if created else 'updated'} {HEARTBEAT!r}: every minute")
    return done


def yesterday() -> date:
    """The day the morning's report covers: the last complete day in REPORT_TIME_ZONE."""
    return today() - timedelta(days=1)
