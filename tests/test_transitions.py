"""The status tables of reports and deliveries: what each change may start from, and what it refuses."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from newsletter.build import build_report
from newsletter.models import Delivery, Report
from newsletter.models.reports import REPORT_TRANSITIONS
from newsletter.models.subscribers import DELIVERY_TRANSITIONS
from newsletter.models.transitions import TransitionError, allowed_sources, check
from tests.mailing import subscriber

R, D = Report.Status, Delivery.Status

REPORT_ALLOWED = {
    (R.DRAFT, R.APPROVED), (R.APPROVED, R.DRAFT), (R.APPROVED, R.SENDING),
    (R.SENDING, R.SENT), (R.SENDING, R.FAILED), (R.SENT, R.SENDING),
}  # fmt: skip
DELIVERY_ALLOWED = {
    (D.PENDING, D.CLAIMED), (D.PENDING, D.SKIPPED),
    (D.CLAIMED, D.PENDING), (D.CLAIMED, D.SENDING), (D.CLAIMED, D.FAILED), (D.CLAIMED, D.SKIPPED),
    (D.SENDING, D.SENT), (D.SENDING, D.PENDING), (D.SENDING, D.FAILED), (D.SENDING, D.UNKNOWN),
    (D.UNKNOWN, D.SENT), (D.UNKNOWN, D.PENDING), (D.FAILED, D.PENDING),
}  # fmt: skip


@pytest.mark.parametrize(
    ("table", "states", "allowed"),
    [(REPORT_TRANSITIONS, R, REPORT_ALLOWED), (DELIVERY_TRANSITIONS, D, DELIVERY_ALLOWED)],
    ids=["report", "delivery"],
)
def test_every_pair_of_states_is_allowed_or_refused_as_the_table_says(table, states, allowed):
    for source in states:
        for target in states:
            if (source, target) in allowed:
                check(table, "thing", source, target)
            else:
                with pytest.raises(TransitionError, match=f"from {source} to {target}") as refused:
                    check(table, "thing", source, target)
                assert (refused.value.source, refused.value.target) == (source, target)


def test_a_bulk_change_refuses_a_source_the_table_does_not_allow():
    assert allowed_sources(DELIVERY_TRANSITIONS, "delivery", D.PENDING) == sorted(
        [D.CLAIMED, D.SENDING, D.UNKNOWN, D.FAILED]
    )
    with pytest.raises(TransitionError, match="from sent to pending"):
        Delivery.objects.transition(D.PENDING, sources=[D.SENT])
    with pytest.raises(TransitionError, match="from draft to sent"):
        Report.objects.transition(R.SENT, sources=[R.DRAFT])


@pytest.mark.django_db
def test_a_report_goes_out_only_through_its_transitions(collected):
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    with pytest.raises(TransitionError, match="from draft to sending"):
        report.start_sending()
    with pytest.raises(TransitionError, match="from draft to draft"):
        report.withdraw_approval()
    assert not report.finish()  # a draft is not finished: nothing moves
    report.approve()
    with pytest.raises(TransitionError, match="from approved to approved"):
        report.approve()
    assert report.start_sending() is True
    assert report.start_sending() is False  # resuming: a report already sending stays so
    assert report.finish() and report.sent_at is not None
    report.refresh_from_db()
    assert report.status == R.SENT
    with pytest.raises(TransitionError, match="from sent to approved"):
        report.approve()


@pytest.mark.django_db
def test_bulk_changes_leave_rows_in_other_states_alone(collected):
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    Report.objects.filter(pk=report.pk).update(status=R.SENDING)
    now = timezone.now()
    rows = {
        status: Delivery.objects.create(
            report=report, subscriber=subscriber(f"{status}@example.com"), status=status, message_id=status
        )
        for status in D
    }
    everyone = Delivery.objects.filter(report=report)
    assert everyone.send_again(now) == 2  # failed and unknown only
    assert set(everyone.filter(status=D.PENDING).values_list("message_id", flat=True)) == {
        "pending",
        "failed",
        "unknown",
    }
    assert everyone.filter(pk=rows[D.SENT].pk).mark_delivered(now) == 0
    assert everyone.release() == 1  # the claimed one
    assert everyone.mark_unknown("broke") == 1  # the sending one
    assert everyone.retry_later("later", now + timedelta(minutes=1)) == 0  # nothing claimed or sending now
    assert everyone.filter(status=D.UNKNOWN).mark_delivered(now) == 1
    assert dict(everyone.values_list("message_id", "status")) == {
        "pending": D.PENDING, "claimed": D.PENDING, "sending": D.SENT, "sent": D.SENT,
        "failed": D.PENDING, "unknown": D.PENDING, "skipped": D.SKIPPED,
    }  # fmt: skip
