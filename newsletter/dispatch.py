"""Send an approved report to its subscribers: exactly once each, resumable after any crash.

The rule that makes a killed worker safe: a worker first *claims* a batch of pending deliveries
(status `claimed`, with its name), then marks each one `sending` in its own committed update just
before handing it to the mail server, and `sent` (or failed/retry) right after. So when a worker
dies, its `claimed` rows were never handed over and go back to `pending`, while the one `sending`
row it may leave behind may or may not have reached the subscriber: it becomes `unknown` and is
never sent again unless the editor decides so in the admin. Nobody gets two copies, and every
delivery that was not in flight at the crash is sent exactly once.

A worker is known dead when it ran on this host and its process is gone; on other hosts, when its
lease (DELIVERY_LEASE_SECONDS since it last claimed) has run out.

What the mail server answers (see smtp_transport): a refusal is definite (4xx, 421 included: retry
later with backoff; 5xx: failed), and a connection that broke before the DATA command was sent
carried nothing, so it is reopened and the message tried again; only a break once DATA was sent
is ambiguous and makes the delivery `unknown`. After a 421 the next message goes out on a new
connection. A message that cannot be built (an address or header that cannot be encoded, any
error that is not the mail server's) fails alone, before it is marked `sending`, and the batch
goes on. Someone who unsubscribes, bounces or is deleted while an issue goes out gets nothing
more: the claim skips deliveries whose subscriber is no longer active, and marking `sending`
checks once more, in the same UPDATE.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from newsletter.mail import message_id, report_email
from newsletter.models import Delivery, Report, ReportVariant, Repository, Subscriber
from newsletter.render.email import Variant, active_repositories, render_email, variant_for
from newsletter.smtp_transport import HandoverError, Transport, describe, envelope

logger = logging.getLogger(__name__)
HARD_BOUNCE_LIMIT = 2  # permanent failures in a row before a subscriber counts as bounced
LEFT = {  # why a delivery is skipped when its subscriber is no longer active
    Subscriber.Status.UNSUBSCRIBED: "subscriber unsubscribed before sending",
    Subscriber.Status.BOUNCED: "subscriber bounced before sending",
    Subscriber.Status.PENDING: "subscriber no longer confirmed before sending",
}


class DispatchError(Exception):
    """The report cannot be sent as asked; the message says why."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RateLimiter:
    """At most `per_second` messages a second, spaced evenly; 0 means no limit."""

    def __init__(self, per_second: float, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


@dataclass
class DispatchSummary:
    counts: dict = field(default_factory=dict)
    recovered: int = 0
    marked_unknown: int = 0
    variants: int = 0

    def __str__(self) -> str:
        order = ["sent", "failed", "unknown", "skipped", "pending", "claimed", "sending"]
        parts = [f"{self.counts.get(status, 0)} {status}" for status in order if self.counts.get(status)]
        return ", ".join(parts) or "no deliveries"


# --- preparing -------------------------------------------------------------------------------------
def start_dispatch(report: Report) -> int:
    """Approved -> sending: one delivery per active subscriber of the report's language, variants compiled.

    Idempotent: re-running it for a report that is already sending adds nothing twice.
    """
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status not in (Report.Status.APPROVED, Report.Status.SENDING):
            raise DispatchError(
                f"the {locked.language} report of {locked.date} is {locked.status}: only an approved report is sent"
            )
        if locked.status == Report.Status.APPROVED:
            locked.status = Report.Status.SENDING
            locked.save(update_fields=["status", "updated_at"])
    report.status = Report.Status.SENDING
    created = create_deliveries(report)
    prepare_variants(report)
    return created


def create_deliveries(report: Report, chunk: int = 2000) -> int:
    """One row per active subscriber, in chunks (memory stays flat); skipped if nothing they follow moved."""
    active = active_repositories(report)
    every_enabled = [r.full_name for r in Repository.objects.enabled()]
    subscribers = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, language=report.language)
        .exclude(pk__in=Delivery.objects.filter(report=report).values("subscriber_id"))
        .prefetch_related("repositories")
        .order_by("pk")
    )
    created = 0
    batch: list[Delivery] = []
    for subscriber in subscribers.iterator(chunk_size=chunk):
        followed = [r.full_name for r in subscriber.repositories.all()] or every_enabled
        variant = variant_for(report, active, followed, report.language, subscriber.format)
        batch.append(
            Delivery(
                report=report,
                subscriber=subscriber,
                variant_key=variant.key if variant else "",
                status=Delivery.Status.PENDING if variant else Delivery.Status.SKIPPED,
                message_id=message_id(report, subscriber),
            )
        )
        if len(batch) >= chunk:
            created += len(Delivery.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        created += len(Delivery.objects.bulk_create(batch, ignore_conflicts=True))
    return created


def _variant_from_key(key: str) -> Variant:
    language, output, names = key.split("|", 2)
    return Variant(tuple(names.split(",")), language, output)


def prepare_variants(report: Report) -> int:
    """Compile each variant the deliveries need, once per report (workers only read them)."""
    keys = set(
        Delivery.objects.filter(report=report).exclude(variant_key="").values_list("variant_key", flat=True).distinct()
    )
    missing = keys - set(ReportVariant.objects.filter(report=report).values_list("key", flat=True))
    for key in sorted(missing):
        rendered = render_email(report, _variant_from_key(key))
        ReportVariant.objects.bulk_create(
            [ReportVariant(report=report, key=key, subject=rendered.subject, text=rendered.text, html=rendered.html)],
            ignore_conflicts=True,  # another worker compiled it meanwhile: theirs is as good
        )
    return len(missing)


# --- claiming and recovering ------------------------------------------------------------------------
def _alive(worker: str) -> bool | None:
    """True/False for a worker on this host; None when it ran elsewhere (then only its lease tells)."""
    host, _, rest = worker.partition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(rest.split(":")[0]), 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError):
        return True
    return True


def recover(report: Report, me: str) -> tuple[int, int]:
    """Claims of dead workers: `claimed` back to pending, `sending` to unknown. Returns both counts."""
    lease_end = timezone.now() - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    stale = Delivery.objects.filter(report=report, status__in=[Delivery.Status.CLAIMED, Delivery.Status.SENDING])
    dead = set()
    for worker, claimed_at in stale.exclude(claimed_by=me).values_list("claimed_by", "claimed_at").distinct():
        alive = _alive(worker)
        if alive is False or (alive is None and claimed_at and claimed_at < lease_end):
            dead.add(worker)
    if not dead:
        return 0, 0
    released = stale.filter(claimed_by__in=dead, status=Delivery.Status.CLAIMED).update(
        status=Delivery.Status.PENDING, claimed_by="", claimed_at=None
    )
    unknown = stale.filter(claimed_by__in=dead, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.UNKNOWN,
        last_error="the worker stopped while handing this message to the mail server; not resent automatically",
    )
    if unknown:
        logger.warning("%s: %d deliveries left mid-send by a dead worker need review", report, unknown)
    return released, unknown


def claim_batch(report: Report, me: str, size: int) -> list[Delivery]:
    """Reserve up to `size` due deliveries for this worker. Safe under concurrency on any database:
    the UPDATE only takes rows still pending, and the worker then reads back what it really got
    (PostgreSQL's SKIP LOCKED just keeps two workers from waiting on the same rows). Deliveries
    whose subscriber unsubscribed or bounced since they were created are skipped instead."""
    now = timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(report=report, status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        ids = list(due.order_by("pk").select_for_update(skip_locked=True).values_list("pk", flat=True)[:size])
        if ids:
            still_pending = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING)
            still_pending.filter(subscriber__status=Subscriber.Status.ACTIVE).update(
                status=Delivery.Status.CLAIMED, claimed_by=me, claimed_at=now
            )
            skip_if_left(still_pending)  # what is left of them: the subscriber is no longer active
    return list(
        Delivery.objects.filter(report=report, status=Delivery.Status.CLAIMED, claimed_by=me)
        .select_related("subscriber", "report")
        .order_by("pk")
    )


def skip_if_left(deliveries) -> int:
    """Deliveries (of these) whose subscriber is no longer active become skipped, with the reason."""
    skipped = 0
    left = deliveries.exclude(subscriber__status=Subscriber.Status.ACTIVE)
    for status in set(left.values_list("subscriber__status", flat=True)):
        skipped += deliveries.filter(subscriber__status=status).update(
            status=Delivery.Status.SKIPPED, last_error=LEFT.get(status, f"subscriber {status} before sending")
        )
    return skipped


# --- sending ----------------------------------------------------------------------------------------
def classify(error: Exception, *, ambiguous: bool = False) -> tuple[str, str]:
    """('transient' | 'permanent' | 'bounce' | 'ambiguous' | 'failed', a short reason) for a send failure."""
    if ambiguous:  # broke once the message was under way: the server may have accepted it
        return (
            "ambiguous",
            f"{type(error).__name__}: the mail server connection broke mid-message; it may have been delivered",
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        kind = "transient" if 400 <= code < 500 else "bounce"
        return kind, f"{code} {_text(text)}"
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        return ("transient" if 400 <= code < 500 else "permanent"), f"{code} {_text(error.smtp_error)}"
    if isinstance(error, OSError):  # smtplib's errors are OSErrors too: a connection that broke early
        return "transient", f"{type(error).__name__}: the mail server connection broke before the message was sent"
    return "failed", describe(error)  # not the mail server's doing: this message fails, the batch goes on


def _text(value) -> str:
    return (value.decode(errors="replace") if isinstance(value, bytes) else str(value))[:400]


class Sender:
    """One worker's pass over a report: one mail connection reused across batches, a rate limit."""

    def __init__(self, report: Report, me: str):
        self.report, self.me = report, me
        self.limiter = RateLimiter(settings.SEND_RATE_PER_SECOND)
        self.transport = Transport()
        self.variants: dict[str, ReportVariant] = {}

    def close(self) -> None:
        self.transport.close()

    def variant(self, key: str) -> ReportVariant:
        if key not in self.variants:
            self.variants[key] = ReportVariant.objects.get(report=self.report, key=key)
        return self.variants[key]

    def send_batch(self, batch: list[Delivery]) -> None:
        for index, delivery in enumerate(batch):
            try:
                self.transport.ready()
            except (smtplib.SMTPException, OSError) as error:
                # Nothing of these was handed over: they go back, to be tried again later.
                reason = f"cannot connect to the mail server ({type(error).__name__})"
                for waiting in batch[index:]:
                    self._retry_later(waiting, reason, count_attempt=False)
                self.close()
                return
            self.send_one(delivery)

    def send_one(self, delivery: Delivery) -> None:
        variant = self.variant(delivery.variant_key)
        try:
            message = report_email(delivery=delivery, variant=variant, subscriber=delivery.subscriber)
            wire = envelope(message)
        except Exception as error:  # noqa: BLE001 - whatever breaks one message fails it alone, never `sending`
            reason = f"cannot build the message: {describe(error)}"
            logger.warning("delivery %s: %s", delivery.pk, reason)
            Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.CLAIMED, claimed_by=self.me).update(
                status=Delivery.Status.FAILED, last_error=reason[:500]
            )
            return
        self.limiter.wait()
        if not self._mark_sending(delivery):
            return
        try:
            self.transport.send(message, wire)
        except HandoverError as failure:
            self._failed(delivery, failure)
            return
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.SENT, sent_at=timezone.now(), last_error="", claimed_by=self.me
        )
        if delivery.subscriber.hard_bounces:
            Subscriber.objects.filter(pk=delivery.subscriber_id).update(hard_bounces=0)

    def _mark_sending(self, delivery: Delivery) -> bool:
        """Claimed -> sending, committed, just before the handover; only while the claim is still ours
        and the subscriber still active (they may have left since the batch was claimed)."""
        mine = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.CLAIMED, claimed_by=self.me)
        if mine.filter(subscriber__status=Subscriber.Status.ACTIVE).update(
            status=Delivery.Status.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
        ):
            delivery.attempts += 1
            return True
        # Not ours to send: the subscriber left (skipped), was deleted with their deliveries, or
        # another worker recovered our claim meanwhile.
        skip_if_left(mine)
        return False

    def _failed(self, delivery: Delivery, failure: HandoverError) -> None:
        kind, reason = classify(failure.error, ambiguous=failure.ambiguous)
        if kind == "transient":
            self._retry_later(delivery, reason, count_attempt=True)
            return
        if kind == "ambiguous":
            Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.UNKNOWN, last_error=reason)
            return
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, last_error=reason[:500])
        if kind == "bounce":
            Subscriber.objects.filter(pk=delivery.subscriber_id).update(hard_bounces=F("hard_bounces") + 1)
            Subscriber.objects.filter(pk=delivery.subscriber_id, hard_bounces__gte=HARD_BOUNCE_LIMIT).exclude(
                status=Subscriber.Status.BOUNCED
            ).update(status=Subscriber.Status.BOUNCED, status_changed_at=timezone.now())

    def _retry_later(self, delivery: Delivery, reason: str, *, count_attempt: bool) -> None:
        attempts = delivery.attempts
        if count_attempt and attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED, last_error=f"gave up after {attempts} attempts: {reason}"[:500]
            )
            return
        delay = settings.DELIVERY_RETRY_SECONDS * (2 ** max(attempts - 1, 0))
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING,
            claimed_by="",
            claimed_at=None,
            last_error=reason[:500],
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )


def summarize(report: Report) -> DispatchSummary:
    counts = dict(Delivery.objects.filter(report=report).values_list("status").annotate(n=Count("pk")))
    return DispatchSummary(counts=counts)


def next_retry_at(report: Report):
    """When the earliest delivery still waiting (a temporary failure's retry) is due, or None."""
    return Delivery.objects.filter(report=report, status=Delivery.Status.PENDING).aggregate(at=Min("next_attempt_at"))[
        "at"
    ]


def finish_if_done(report: Report) -> bool:
    """Sending -> sent once no delivery waits or is in a worker's hands."""
    open_rows = Delivery.objects.filter(
        report=report, status__in=[Delivery.Status.PENDING, Delivery.Status.CLAIMED, Delivery.Status.SENDING]
    )
    if open_rows.exists():
        return False
    Report.objects.filter(pk=report.pk, status=Report.Status.SENDING).update(
        status=Report.Status.SENT, sent_at=timezone.now()
    )
    report.refresh_from_db(fields=["status", "sent_at"])
    return True


def dispatch_report(
    report: Report,
    *,
    worker: str | None = None,
    batch_size: int = 50,
    wait_for_retries: bool = True,
    max_wait: float = 3600.0,
    progress=None,
) -> DispatchSummary:
    """Run one worker over the report until nothing is due (and, if asked, until retries are done)."""
    me = worker or worker_name()
    start_dispatch(report)
    released, unknown = recover(report, me)
    sender = Sender(report, me)
    waited = 0.0
    try:
        while True:
            batch = claim_batch(report, me, batch_size)
            if batch:
                sender.send_batch(batch)
                if progress:
                    progress(summarize(report))
                continue
            if not wait_for_retries:
                break
            later = next_retry_at(report)
            others = Delivery.objects.filter(
                report=report, status__in=[Delivery.Status.CLAIMED, Delivery.Status.SENDING]
            ).exclude(claimed_by=me)
            if later is None and not others.exists():
                break
            if later is None:  # another worker holds the rest: see whether it is still alive
                more_released, more_unknown = recover(report, me)
                released, unknown = released + more_released, unknown + more_unknown
                pause = 1.0
            else:
                pause = max(0.05, (later - timezone.now()).total_seconds())
            if waited + pause > max_wait:
                break
            sender.close()  # don't hold an idle SMTP connection through a backoff
            time.sleep(pause)
            waited += pause
    finally:
        sender.close()
    finish_if_done(report)
    summary = summarize(report)
    summary.recovered, summary.marked_unknown = released, unknown
    summary.variants = ReportVariant.objects.filter(report=report).count()
    return summary
