"""Dispatch in one process: retries, failures, bounces, resuming, the claim and recovery rules."""

from collections import Counter
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from newsletter import dispatch
from newsletter.audience import active_repositories, variant_for
from newsletter.dispatch import (
    RateLimiter,
    claim_batch,
    create_deliveries,
    dispatch_report,
    due_deliveries,
    recover,
    start_dispatch,
    worker_name,
)
from newsletter.models import Delivery, Report, Repository, Subscriber
from newsletter.smtp_transport import Transport
from tests.mailing import approved_report, subscriber
from tests.smtp_server import DROP, KEEP_AND_DROP

pytestmark = pytest.mark.django_db


def statuses(report):
    return dict(Delivery.objects.filter(report=report).values_list("subscriber__email", "status"))


def busy_then_ok(smtp, settings, retry_seconds):
    """An approved report for two subscribers, the first refused once for now: one send is left to
    retry after `retry_seconds`. Returns the report."""
    settings.DELIVERY_RETRY_SECONDS = retry_seconds
    report = approved_report()
    subscriber("busy@example.com")
    subscriber("ok@example.com")
    smtp.refuse("busy@example.com", "451 4.7.1 later", None)
    return report


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
    report = busy_then_ok(smtp, settings, retry_seconds=0.5)
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
    assert len(slept) == 4 and unlimited.due()
    assert not limiter.due()  # the next slot is a quarter of a second away: not taken
    clock["now"] += 0.25
    assert limiter.due() and not limiter.due()


def test_the_task_sends_and_schedules_retries(collected, smtp, settings):
    from django_q.models import Schedule

    from newsletter.tasks import dispatch_report_task

    report = busy_then_ok(smtp, settings, retry_seconds=30)
    result = dispatch_report_task(report.pk)
    assert "1 sent" in result and "1 pending" in result
    (retry,) = Schedule.objects.filter(func="newsletter.tasks.dispatch_report_task")
    assert retry.args == f"({report.pk},)" and retry.next_run > timezone.now()


# --- several connections ---------------------------------------------------------------------------
def test_several_connections_deliver_everyone_exactly_once(collected, smtp, settings):
    settings.SEND_CONNECTIONS = 3
    report = approved_report()
    addresses = [f"p{n}@example.com" for n in range(40)]
    for address in addresses:
        subscriber(address)
    smtp.handler.data_delay = 0.01  # so that messages really overlap
    summary = dispatch_report(report, batch_size=9)
    assert summary.counts == {"sent": 40}
    assert Counter(smtp.recipients()) == Counter(addresses)
    assert smtp.connections == 3


@pytest.mark.parametrize("pipelining", [False, True], ids=["one-by-one", "pipelining"])
def test_several_connections_keep_every_fault_rule(collected, smtp, settings, pipelining):
    settings.SEND_CONNECTIONS = 3
    smtp.handler.pipelining = pipelining  # MAIL, RCPT and DATA in one go: the same rules hold
    report = approved_report()
    for n in range(12):
        subscriber(f"p{n}@example.com")
    smtp.script("p1@example.com", "rcpt", "421 4.3.2 Closing", None)  # definite: retried, sent
    smtp.script("p4@example.com", "rcpt", DROP, None)  # broke before the content: tried again at once
    smtp.script("p5@example.com", "data", DROP, None)  # at the DATA command, still no content: the same
    smtp.script("p7@example.com", "end", KEEP_AND_DROP)  # broke after DATA: unknown, never resent
    smtp.refuse("p9@example.com", "550 5.1.1 No such user")
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 10, "unknown": 1, "failed": 1}
    received = Counter(smtp.recipients())
    assert set(received.values()) == {1} and "p9@example.com" not in received
    assert Delivery.objects.get(status="unknown").subscriber.email == "p7@example.com"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # threads read what is committed
def test_a_worker_never_has_more_messages_sending_than_connections(collected, smtp, settings, monkeypatch):
    settings.SEND_CONNECTIONS = 2
    report = approved_report()
    for n in range(10):
        subscriber(f"p{n}@example.com")
    seen = []
    original = Transport._commands

    def commands(smtp, envelope):
        seen.append(Delivery.objects.filter(status="sending").count())
        connection.close()  # this thread's own, opened just for the count
        return original(smtp, envelope)

    monkeypatch.setattr(Transport, "_commands", staticmethod(commands))
    assert dispatch_report(report).counts == {"sent": 10}
    assert len(seen) == 10 and max(seen) <= 2


# --- creating deliveries and claiming them ------------------------------------------------------------
def test_deliveries_are_created_in_the_database_with_the_variant_each_subscriber_gets(collected):
    report = approved_report()
    Repository.objects.filter(name="flashinfer").update(enabled=False)
    people = [
        subscriber("all@example.com"),  # follows nothing in particular: every enabled repository
        subscriber("vllm@example.com", "vllm", output="markdown"),
        subscriber("two@example.com", "sglang", "vllm"),
        subscriber("disabled@example.com", "flashinfer"),  # follows it, so gets it, though it is disabled
        subscriber("en@example.com", language="en"),
        subscriber("pending@example.com", status="pending"),
    ]
    created = create_deliveries(report)
    assert created == 4 and create_deliveries(report) == 0
    active = active_repositories(report)
    enabled = [r.full_name for r in Repository.objects.enabled()]
    rows = {d.subscriber.email: d for d in Delivery.objects.filter(report=report).select_related("subscriber")}
    for person in people[:4]:
        followed = [r.full_name for r in person.repositories.all()] or enabled
        variant = variant_for(active, followed, "zh", person.format)
        assert rows[person.email].variant_key == variant.key
        assert rows[person.email].status == "pending"
        assert rows[person.email].message_id == f"<issue-20260129-zh-{report.pk}.s{person.pk}@127.0.0.1>"
    assert len(rows["all@example.com"].variant_key.split("|")[2].split(",")) == 2


def test_deliveries_are_created_once_when_the_sending_starts(collected, monkeypatch):
    report = approved_report()
    subscriber("first@example.com")

    def broken(report):  # the worker dies while creating them
        raise RuntimeError("killed")

    monkeypatch.setattr(dispatch, "create_deliveries", broken)
    with pytest.raises(RuntimeError):
        start_dispatch(report)
    report.refresh_from_db()
    assert report.status == "approved" and not Delivery.objects.exists()  # nothing half done
    monkeypatch.undo()
    assert start_dispatch(report) == 1
    subscriber("later@example.com")  # subscribes while the issue goes out: gets the next one
    assert start_dispatch(report) == 0  # a worker joining or resuming adds nothing
    assert list(Delivery.objects.values_list("subscriber__email", flat=True)) == ["first@example.com"]


def test_who_follows_nothing_active_is_skipped_when_created(collected):
    report = approved_report()
    quiet = Repository.objects.create(owner="quiet", name="repo", display_name="Quiet")
    person = subscriber("quiet@example.com")
    person.repositories.set([quiet])
    assert create_deliveries(report) == 1
    assert Delivery.objects.get().status == "skipped" and Delivery.objects.get().variant_key == ""


def test_the_claim_reads_the_partial_index_of_pending_deliveries(collected):
    report = approved_report()
    for n in range(5):
        subscriber(f"p{n}@example.com")
    start_dispatch(report)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # a table this small would be read whole otherwise
                cursor.execute("SET LOCAL enable_seqscan = off")
        plan = due_deliveries(report, timezone.now()).explain()
    if connection.vendor == "postgresql":
        assert "delivery_pending" in plan and "Sort" not in plan, plan
    else:  # SQLite may read either index: both give pending rows in id order
        assert "TEMP B-TREE" not in plan and "delivery_" in plan, plan
