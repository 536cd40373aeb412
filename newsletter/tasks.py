"""django-q2 tasks: thin wrappers that take ids and call one function."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from newsletter.dispatch import dispatch_report
from newsletter.models import Delivery, Report


def dispatch_report_task(report_id: int) -> str:
    """Send what is due now; if temporary failures wait for a retry, come back when it is due."""
    report = Report.objects.get(pk=report_id)
    summary = dispatch_report(report, wait_for_retries=False)
    later = Delivery.objects.filter(report=report, status=Delivery.Status.PENDING).aggregate(at=Min("next_attempt_at"))
    if later["at"] is not None:
        schedule(
            "newsletter.tasks.dispatch_report_task",
            report_id,
            name=f"dispatch-retry-{report_id}-{later['at']:%Y%m%d%H%M%S}",
            schedule_type=Schedule.ONCE,
            next_run=max(later["at"], timezone.now() + timedelta(seconds=1)),
        )
    return str(summary)


def enqueue_dispatch(report: Report) -> None:
    """Queue the dispatch once the surrounding transaction (an approval, say) has committed."""
    transaction.on_commit(lambda: async_task("newsletter.tasks.dispatch_report_task", report.pk))
