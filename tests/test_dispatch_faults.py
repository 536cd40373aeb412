"""Dispatch against a mail server that misbehaves the way real ones do (421s, dropped connections,
lost replies), messages that cannot be built, and subscribers who leave while an issue goes out.

Each script here follows one connection's story (which message broke it, how many were opened),
so the worker uses one; tests/test_dispatch.py runs the same faults over several."""

import pytest

from newsletter import dispatch
from newsletter.dispatch import dispatch_report, start_dispatch
from newsletter.encoded_mail import EncodedEmail
from newsletter.models import Delivery, Report, Subscriber
from newsletter.smtp_transport import Transport
from tests.mailing import approved_report, subscriber
from tests.smtp_server import DROP, KEEP_AND_CLOSE, KEEP_AND_DROP, free_port

pytestmark = pytest.mark.django_db

A, B, C = "a@example.com", "b@example.com", "c@example.com"


@pytest.fixture(autouse=True)
def one_connection(settings):
    settings.SEND_CONNECTIONS = 1


def three_readers():
    """A, B and C, claimed and sent in that order."""
    return [subscriber(address) for address in (A, B, C)]


def deliveries(report) -> dict[str, Delivery]:
    return {d.subscriber.email: d for d in Delivery.objects.filter(report=report).select_related("subscriber")}


def given_up_on_b(smtp, settings, stage, reply) -> Delivery:
    """B's delivery after the server answered `reply` at `stage` every time and both allowed attempts
    were spent; A and C are sent."""
    settings.DELIVERY_MAX_ATTEMPTS = 2
    report = approved_report()
    three_readers()
    smtp.script(B, stage, reply)
    assert dispatch_report(report).counts == {"sent": 2, "failed": 1}
    failed = deliveries(report)[B]
    assert failed.attempts == 2
    return failed


def before_rcpt(monkeypatch, address, action):
    """Run `action` as the message to `address` is being handed over, before its commands go out."""
    original = Transport._commands

    def commands(smtp, envelope):
        if address in (recipient.lower() for recipient in envelope.recipients):
            action()
        return original(smtp, envelope)

    monkeypatch.setattr(Transport, "_commands", staticmethod(commands))


def after_claim(monkeypatch, action):
    """Run `action` each time the worker has claimed a batch, before it sends any of it."""
    original = dispatch.claim_batch

    def claim_batch(*args, **kwargs):
        claimed = original(*args, **kwargs)
        action()
        return claimed

    monkeypatch.setattr(dispatch, "claim_batch", claim_batch)


# --- the mail server ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stage, reply",
    [
        ("rcpt", "421 4.3.2 Service shutting down"),
        ("data", "421 4.4.2 Timeout, closing connection"),
        ("end", "421 4.3.0 Shutting down"),
    ],
)
def test_a_421_is_retried_later_and_the_next_message_goes_out_on_a_new_connection(collected, smtp, stage, reply):
    report = approved_report()
    three_readers()
    smtp.script(B, stage, reply, None)  # the server answers 421 once, and closes the connection
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 3}
    rows = deliveries(report)
    assert rows[B].attempts == 2 and rows[B].last_error == ""
    assert rows[A].attempts == rows[C].attempts == 1
    assert sorted(smtp.recipients()) == [A, B, C]
    assert smtp.connections >= 2


def test_a_451_after_the_content_is_a_temporary_failure(collected, smtp):
    report = approved_report()
    three_readers()
    smtp.script(B, "end", "451 4.3.0 Local error in processing", None)
    assert dispatch_report(report).counts == {"sent": 3}
    assert deliveries(report)[B].attempts == 2 and sorted(smtp.recipients()) == [A, B, C]


def test_a_421_every_time_gives_up_after_the_limit_and_never_becomes_unknown(collected, smtp, settings):
    failed = given_up_on_b(smtp, settings, "data", "421 4.3.2 Try again later")
    assert failed.last_error.startswith("gave up after 2 attempts: 421")


@pytest.mark.parametrize("action", [KEEP_AND_DROP, DROP], ids=["accepted-reply-lost", "not-accepted"])
def test_a_connection_broken_after_the_content_was_sent_is_unknown_and_never_resent(collected, smtp, action):
    report = approved_report()
    three_readers()
    smtp.script(B, "end", action)
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 2, "unknown": 1}
    unknown = deliveries(report)[B]
    assert unknown.status == "unknown" and "may have" in unknown.last_error
    assert smtp.recipients().count(B) == (1 if action == KEEP_AND_DROP else 0)
    assert sorted(r for r in smtp.recipients() if r != B) == [A, C]
    assert Report.objects.get(pk=report.pk).status == Report.Status.SENT


def test_a_connection_broken_before_data_is_not_ambiguous_and_is_tried_again_at_once(collected, smtp):
    report = approved_report()
    three_readers()
    smtp.script(B, "rcpt", DROP, None)  # the connection dies at RCPT: nothing of the message was sent
    assert dispatch_report(report).counts == {"sent": 3}
    assert deliveries(report)[B].attempts == 1 and sorted(smtp.recipients()) == [A, B, C]


def test_a_connection_that_keeps_breaking_before_data_is_retried_later_then_given_up(collected, smtp, settings):
    failed = given_up_on_b(smtp, settings, "rcpt", DROP)
    assert "before the message was sent" in failed.last_error


def test_a_connection_the_server_closed_between_messages_is_reopened(collected, smtp):
    report = approved_report()
    three_readers()
    smtp.script(A, "end", KEEP_AND_CLOSE)  # accepted, then the server hangs up (an idle timeout, say)
    assert dispatch_report(report).counts == {"sent": 3}
    assert sorted(smtp.recipients()) == [A, B, C] and smtp.connections == 2


def test_an_unreachable_server_puts_the_batch_back_without_counting_attempts(collected, smtp, settings):
    settings.EMAIL_PORT = free_port()  # nobody listens there
    report = approved_report()
    three_readers()
    assert dispatch_report(report, wait_for_retries=False).counts == {"pending": 3}
    for row in deliveries(report).values():
        assert row.attempts == 0 and row.last_error.startswith("cannot connect to the mail server")


def test_the_file_backend_still_gets_every_message(collected, settings, tmp_path):
    settings.EMAIL_BACKEND = "newsletter.mail_backends.OutboxBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    report = approved_report()
    three_readers()
    assert dispatch_report(report).counts == {"sent": 3}
    assert len(list(tmp_path.glob("*.eml"))) == 3


# --- errors that are not the mail server's ---------------------------------------------------------
SECRET = "https://example.com/unsubscribe/SIGNED-TOKEN/"


@pytest.mark.parametrize(
    "error",
    [
        UnicodeEncodeError("ascii", f"Subject: 报告 {SECRET}", 9, 11, "ordinal not in range(128)"),
        ValueError(f"Header values can't contain newlines (got '<{SECRET}>\\n报告' for header 'List-Unsubscribe')"),
    ],
    ids=["UnicodeEncodeError", "ValueError"],
)
def test_a_message_that_cannot_be_built_fails_alone_and_keeps_its_secrets(collected, smtp, monkeypatch, error):
    report = approved_report()
    three_readers()
    original = EncodedEmail.envelope_for

    def envelope_for(self, *, to, message_id, links):
        if to == B:
            raise error
        return original(self, to=to, message_id=message_id, links=links)

    monkeypatch.setattr(EncodedEmail, "envelope_for", envelope_for)
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 2, "failed": 1}
    failed = deliveries(report)[B]
    assert failed.attempts == 0  # never handed over, never `sending`
    assert failed.last_error.startswith(f"cannot build the message: {type(error).__name__}")
    assert "SIGNED-TOKEN" not in failed.last_error and "报告" not in failed.last_error
    assert sorted(smtp.recipients()) == [A, C]
    assert Report.objects.get(pk=report.pk).status == Report.Status.SENT


def test_an_address_that_cannot_go_in_a_header_fails_alone(collected, smtp):
    report = approved_report()
    subscriber(A)
    subscriber("broken\nline@example.com")  # slipped past validation (an old import, say)
    subscriber(C)
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 2, "failed": 1}
    failed = Delivery.objects.get(status="failed")
    assert failed.attempts == 0 and failed.last_error.startswith("cannot build the message: ValueError")
    assert sorted(smtp.recipients()) == [A, C]


def test_an_unexpected_error_while_handing_over_fails_that_delivery_only(collected, smtp, monkeypatch):
    report = approved_report()
    three_readers()

    def explode():
        raise TypeError("something unexpected")

    before_rcpt(monkeypatch, B, explode)
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 2, "failed": 1}
    assert deliveries(report)[B].last_error == "TypeError: something unexpected"
    assert sorted(smtp.recipients()) == [A, C]


# --- subscribers who leave while the issue goes out ------------------------------------------------
@pytest.mark.parametrize("status", ["unsubscribed", "bounced"])
def test_who_left_after_the_deliveries_were_created_is_skipped_at_claim(collected, smtp, status):
    report = approved_report()
    readers = three_readers()
    start_dispatch(report)
    Subscriber.objects.filter(pk=readers[1].pk).update(status=status)
    summary = dispatch_report(report)
    assert summary.counts == {"sent": 2, "skipped": 1}
    skipped = deliveries(report)[B]
    assert skipped.status == "skipped" and skipped.last_error == f"subscriber {status} before sending"
    assert skipped.attempts == 0 and sorted(smtp.recipients()) == [A, C]
    assert Report.objects.get(pk=report.pk).status == Report.Status.SENT


def test_who_unsubscribes_between_claim_and_send_gets_nothing(collected, smtp, monkeypatch):
    report = approved_report()
    readers = three_readers()
    after_claim(monkeypatch, readers[1].unsubscribe)
    assert dispatch_report(report).counts == {"sent": 2, "skipped": 1}
    assert deliveries(report)[B].last_error == "subscriber unsubscribed before sending"
    assert sorted(smtp.recipients()) == [A, C]


def test_who_unsubscribes_while_the_batch_is_being_sent_gets_nothing(collected, smtp, monkeypatch):
    report = approved_report()
    readers = three_readers()
    before_rcpt(monkeypatch, A, readers[1].unsubscribe)  # while A's message goes out, B leaves
    assert dispatch_report(report, batch_size=10).counts == {"sent": 2, "skipped": 1}
    assert sorted(smtp.recipients()) == [A, C]


def test_a_subscriber_deleted_between_claim_and_send_gets_nothing(collected, smtp, monkeypatch):
    report = approved_report()
    readers = three_readers()
    after_claim(monkeypatch, lambda: Subscriber.objects.filter(pk=readers[1].pk).delete())
    assert dispatch_report(report).counts == {"sent": 2}
    assert sorted(smtp.recipients()) == [A, C]


@pytest.mark.parametrize("reply", ["451 4.7.1 Greylisted", "550 5.1.1 No such user", None])
def test_a_subscriber_deleted_while_their_message_is_handed_over_does_not_stop_the_worker(
    collected, smtp, monkeypatch, reply
):
    report = approved_report()
    readers = three_readers()
    smtp.refuse(B, reply)
    before_rcpt(monkeypatch, B, lambda: Subscriber.objects.filter(pk=readers[1].pk).delete())
    assert dispatch_report(report).counts == {"sent": 2}
    assert sorted(r for r in smtp.recipients() if r != B) == [A, C]
    assert Report.objects.get(pk=report.pk).status == Report.Status.SENT
