"""The daily job: collect yesterday, build its drafts, and tell the editors (or approve, if automatic).

Running it twice for a day duplicates nothing: collection upserts, and an existing report of the
day (draft or later) is kept as it is, editor's changes included. A failure is retried
DAILY_MAX_ATTEMPTS times, DAILY_RETRY_SECONDS apart (newsletter.retry), and then reported to the editors; a day
without any activity sends nothing to subscribers and tells the editors so.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.utils import timezone

from newsletter.audience import active_repositories
from newsletter.build import BuildError, build_report
from newsletter.collect import collect_day
from newsletter.models import DailyRun, Report, Repository, Subscriber
from newsletter.notify import admin_url, notify_editors
from newsletter.retry import daily_retries
from newsletter.schedule import schedule_daily_retry, schedule_dispatch

logger = logging.getLogger(__name__)


class DailyFailed(Exception):  # noqa: N818 - the name says what happened
    """Collection or the build failed; the message is the reason, for the editors."""


def languages_to_build() -> list[str]:
    wanted = {settings.REPORT_LANGUAGE}
    wanted |= set(Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).values_list("language", flat=True))
    return sorted(wanted)


def collect_all(day: date) -> list[str]:
    """Collect every enabled repository; the one-line errors of those that failed."""
    runs = [collect_day(repository=r, day=day) for r in Repository.objects.enabled()]
    return [run.error for run in runs if run.error]


def build_all(day: date, collect_errors: list[str]) -> list[Report]:
    reports = []
    for language in languages_to_build():
        existing = Report.objects.filter(date=day, language=language).first()
        if existing:
            reports.append(existing)  # never rebuilt by the schedule: an editor may be working on it
            continue
        try:
            report = build_report(day=day, language=language, analyzer="auto")
        except BuildError as error:
            raise DailyFailed(f"building the {language} report failed: {error}") from error
        for error in collect_errors:
            report.add_warning(f"collection failed, this report may miss data: {error}")
        report.save(update_fields=["warnings", "updated_at"])
        reports.append(report)
    return reports


def run_daily(day: date, *, attempt: int = 1, schedule_retries: bool = True) -> DailyRun:
    run, _ = DailyRun.objects.get_or_create(day=day)
    run.status, run.attempts, run.started_at, run.finished_at = DailyRun.Status.RUNNING, attempt, timezone.now(), None
    run.save()
    final = daily_retries().exhausted(attempt) or not schedule_retries
    try:
        collect_errors = collect_all(day)
        if collect_errors and not final:
            raise DailyFailed("; ".join(collect_errors))
        reports = build_all(day, collect_errors)
    except Exception as error:
        reason = str(error) if isinstance(error, DailyFailed) else f"{type(error).__name__}: {error}"
        logger.exception("daily job for %s failed (attempt %d)", day, attempt)
        return _failed(run, day, attempt, reason, final)
    run.error = "\n".join(collect_errors)
    if not any(active_repositories(report) for report in reports):
        run.status = DailyRun.Status.NO_ACTIVITY
        notify_editors(
            f"{day}: no activity, nothing will be sent",
            f"None of the tracked repositories had a commit or a new issue on {day}, so no issue goes out today.",
        )
    elif settings.AUTO_APPROVE:
        run.status = DailyRun.Status.APPROVED
        for report in reports:
            if report.status == Report.Status.DRAFT:
                report.approve(by=None)
                schedule_dispatch(report)
    else:
        run.status = DailyRun.Status.BUILT
        lines = [f"- {r.language}: {r.status}, {admin_url(r)}" for r in reports]
        problems = [f"  ! {e}" for e in collect_errors] + [f"  ! {w}" for r in reports for w in r.warnings][:20]
        notify_editors(
            f"{day}: the draft is waiting for review",
            "\n".join([f"The issue of {day} is built and waits for your review:", *lines, *problems]),
        )
    run.finished_at = timezone.now()
    run.save()
    return run


def _failed(run: DailyRun, day: date, attempt: int, reason: str, final: bool) -> DailyRun:
    run.error = reason[:2000]
    if final:
        run.status, run.finished_at = DailyRun.Status.FAILED, timezone.now()
        run.save()
        notify_editors(
            f"{day}: the daily build failed",
            f"The daily job for {day} failed after {attempt} attempt(s):\n\n{reason}\n\n"
            f"Nothing was sent. Run `manage.py run_daily --date {day}` once the cause is fixed.",
        )
        return run
    run.status = DailyRun.Status.RETRYING
    run.save()
    schedule_daily_retry(day, attempt)
    return run
