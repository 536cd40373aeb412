"""Dispatch in one process: retries, failures, bounces, resuming, the claim and recovery rules."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from newsletter.dispatch import RateLimiter, claim_batch, dispatch_report, recover, start_dispatch, worker_name
from newsletter.models import Delivery, Report, Subscriber
from tests.mailing import approved_report, subscriber

pytestmark = pytest.mark.django_db


def statuses(report):
    return dict(Delivery.objects.filter(report=report).values_list("subscriber__email", "status"))


def test_everyone_gets_exactly_one_and_the_report_is_sent(collected, smtp):
    report = approved_report()
    for n in range(30):
        subscriber(f"p{n}@example.com")
    subscriber("pending@example.com", status="pending")
    subscriber("gone@example.com", status="unsubscribed")
    summary = dispatch_report(report, batch_size=7)
    assert sorted(smtp.recipients()) == sorted(f"p{n}@example.com" for n in range(30))
    assert summary.counts == {"sent": 30}
    report.refresh_from_db()
    assert report.status == Report.Status.SENT
    again = dispatch_report(approved_report(date(2026, 1, 28)))  # another day, another report
    assert again.counts == {"sent": 30} and smtp.count() == 60


def test_temporary_failures_are_retried_with_backoff(collected, smtp):
    report = approved_report()
    subscriber("ok@example.com")
    subscriber("busy@example.com")
    smtp.refuse("busy@example.com", "451 4.7.1 Greylisted, try again", "451 4.7.1 Greylisted, try again", None)
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 2}
    busy = Delivery.objects.get(subscriber__email="busy@example.com")
    assert busy.attempts == 3 and busy.status == "sent" and busy.last_error == ""
    assert sorted(smtp.recipients()) == ["busy@example.com", "ok@example.com"]


def test_temporary_failures_give_up_after_the_limit(collected, smtp, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    report = approved_report()
    subscriber("busy@example.com")
    smtp.refuse("busy@example.com", "451 4.7.1 Try again later")
    dispatch_report(report)
    busy = Delivery.objects.get()
    assert busy.status == "failed" and busy.attempts == 2
    assert busy.last_error.startswith("gave up after 2 attempts: 451")


def test_permanent_failures_fail_and_repeated_ones_bounce(collected, smtp):
    subscriber("ok@example.com")
    subscriber("nobody@example.com")
    smtp.refuse("nobody@example.com", "550 5.1.1 No such user")
    first = dispatch_report(approved_report(date(2026, 1, 28)))
    assert first.counts == {"sent": 1, "failed": 1}
    failed = Delivery.objects.get(subscriber__email="nobody@example.com")
    assert failed.attempts == 1 and failed.last_error.startswith("550")
    assert Subscriber.objects.get(email="nobody@example.com").status == "active"
    dispatch_report(approved_report(date(2026, 1, 29)))
    assert Subscriber.objects.get(email="nobody@example.com").status == "bounced"
    assert smtp.recipients().count("ok@example.com") == 2


def test_no_wait_leaves_retries_for_later_and_a_rerun_resumes(collected, smtp, settings):
    settings.DELIVERY_RETRY_SECONDS = 0.5
    report = approved_report()
    subscriber("busy@example.com")
    subscriber("ok@example.com")
    smtp.refuse("busy@example.com", "451 4.7.1 later", None)
    call_command("send_report", "--date", "2026-01-29", "--no-wait", stdout=StringIO())
    report.refresh_from_db()
    assert report.status == "sending" and statuses(report) == {"busy@example.com": "pending", "ok@example.com": "sent"}
    out = StringIO()
    call_command("send_report", "--date", "2026-01-29", stdout=out)
    assert "2 sent" in out.getvalue() and "report is sent" in out.getvalue()
    assert sorted(smtp.recipients()) == ["busy@example.com", "ok@example.com"]


def test_a_dead_workers_claims_are_released_and_its_in_flight_send_is_not_repeated(collected, smtp):
    report = approved_report()
    for n in range(6):
        subscriber(f"p{n}@example.com")
    start_dispatch(report)
    ghost = "elsewhere:1:dead"  # a worker on another machine whose lease ran out
    claimed = claim_batch(report, ghost, 4)
    assert len(claimed) == 4
    Delivery.objects.filter(pk=claimed[0].pk).update(status="sending")  # it was handing this one over
    Delivery.objects.filter(claimed_by=ghost).update(claimed_at=timezone.now() - timedelta(hours=1))
    summary = dispatch_report(report)
    assert summary.recovered == 3 and summary.marked_unknown == 1
    in_flight = Delivery.objects.get(pk=claimed[0].pk)
    assert in_flight.status == "unknown" and "not resent automatically" in in_flight.last_error
    assert in_flight.subscriber.email not in smtp.recipients()
    assert len(smtp.recipients()) == 5 == len(set(smtp.recipients()))


def test_a_live_workers_claims_are_left_alone(collected, smtp):
    report = approved_report()
    subscriber("a@example.com")
    start_dispatch(report)
    me = worker_name()  # this very process: alive
    claim_batch(report, me, 10)
    assert recover(report, "another-worker") == (0, 0)
    assert Delivery.objects.get().status == "claimed"


def test_send_report_refuses_what_is_not_approved(collected, smtp):
    with pytest.raises(CommandError, match="no report of 2026-01-29"):
        call_command("send_report", "--date", "2026-01-29")
    approved_report().__class__.objects.update(status="draft")
    with pytest.raises(CommandError, match=r"nothing to send for 2026-01-29 \(zh draft\)"):
        call_command("send_report", "--date", "2026-01-29")


def test_the_rate_limiter_spaces_messages_evenly():
    clock = {"now": 0.0}
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        clock["now"] += seconds

    limiter = RateLimiter(4, clock=lambda: clock["now"], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    unlimited = RateLimiter(0, clock=lambda: 0.0, sleep=sleep)
    unlimited.wait()
    assert len(slept) == 4


def test_the_task_sends_and_schedules_retries(collected, smtp, settings):
    from django_q.models import Schedule

    from newsletter.tasks import dispatch_report_task

    settings.DELIVERY_RETRY_SECONDS = 30
    report = approved_report()
    subscriber("busy@example.com")
    subscriber("ok@example.com")
    smtp.refuse("busy@example.com", "451 4.7.1 later", None)
    result = dispatch_report_task(report.pk)
    assert "1 sent" in result and "1 pending" in result
    (retry,) = Schedule.objects.filter(func="newsletter.tasks.dispatch_report_task")
    assert retry.args == f"({report.pk},)" and retry.next_run > timezone.now()
