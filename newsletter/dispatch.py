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
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from newsletter.mail import message_id, report_email
from newsletter.models import Delivery, Report, ReportVariant, Repository, Subscriber
from newsletter.render.email import Variant, active_repositories, render_email, variant_for

logger = logging.getLogger(__name__)
HARD_BOUNCE_LIMIT = 2  # permanent failures in a row before a subscriber counts as bounced


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
    (PostgreSQL's SKIP LOCKED just keeps two workers from waiting on the same rows)."""
    now = timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(report=report, status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        ids = list(due.order_by("pk").select_for_update(skip_locked=True).values_list("pk", flat=True)[:size])
        if ids:
            Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.CLAIMED, claimed_by=me, claimed_at=now
            )
    return list(
        Delivery.objects.filter(report=report, status=Delivery.Status.CLAIMED, claimed_by=me)
        .select_related("subscriber", "report")
        .order_by("pk")
    )


# --- sending ----------------------------------------------------------------------------------------
def classify(error: Exception) -> tuple[str, str]:
    """('transient' | 'permanent' | 'bounce' | 'ambiguous', a short reason) for a send failure."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        kind = "transient" if 400 <= code < 500 else "bounce"
        return kind, f"{code} {_text(text)}"
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        return ("transient" if 400 <= code < 500 else "permanent"), f"{code} {_text(error.smtp_error)}"
    # The connection broke while the message was being handed over: it may have been accepted.
    return "ambiguous", f"{type(error).__name__}: the mail server connection broke"


def _text(value) -> str:
    return (value.decode(errors="replace") if isinstance(value, bytes) else str(value))[:400]


class Sender:
    """One worker's pass over a report: one SMTP connection reused across batches, a rate limit."""

    def __init__(self, report: Report, me: str):
        self.report, self.me = report, me
        self.limiter = RateLimiter(settings.SEND_RATE_PER_SECOND)
        self.connection = None
        self.variants: dict[str, ReportVariant] = {}

    def _connection(self):
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                logger.debug("closing the mail connection failed", exc_info=True)
            self.connection = None

    def variant(self, key: str) -> ReportVariant:
        if key not in self.variants:
            self.variants[key] = ReportVariant.objects.get(report=self.report, key=key)
        return self.variants[key]

    def send_batch(self, batch: list[Delivery]) -> None:
        try:
            self._connection()
        except (smtplib.SMTPException, OSError) as error:
            # Nothing was handed over: the whole batch goes back, to be tried again later.
            reason = f"cannot connect to the mail server ({type(error).__name__})"
            for delivery in batch:
                self._retry_later(delivery, reason, count_attempt=False)
            self.close()
            return
        for delivery in batch:
            self.send_one(delivery)

    def send_one(self, delivery: Delivery) -> None:
        message = report_email(
            delivery=delivery, variant=self.variant(delivery.variant_key), subscriber=delivery.subscriber
        )
        self.limiter.wait()
        handed = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.CLAIMED, claimed_by=self.me).update(
            status=Delivery.Status.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
        )
        if not handed:  # our claim was recovered by another worker meanwhile: not ours to send
            return
        try:
            self._connection().send_messages([message])
        except (smtplib.SMTPException, OSError) as error:
            self._failed(delivery, error)
            return
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.SENT, sent_at=timezone.now(), last_error="", claimed_by=self.me
        )
        if delivery.subscriber.hard_bounces:
            Subscriber.objects.filter(pk=delivery.subscriber_id).update(hard_bounces=0)

    def _failed(self, delivery: Delivery, error: Exception) -> None:
        kind, reason = classify(error)
        if kind == "transient":
            delivery.refresh_from_db(fields=["attempts"])
            self._retry_later(delivery, reason, count_attempt=True)
            return
        if kind == "ambiguous":
            self.close()  # start the next message on a fresh connection
            Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.UNKNOWN, last_error=reason)
            return
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, last_error=reason)
        if kind == "bounce":
            Subscriber.objects.filter(pk=delivery.subscriber_id).update(hard_bounces=F("hard_bounces") + 1)
            Subscriber.objects.filter(pk=delivery.subscriber_id, hard_bounces__gte=HARD_BOUNCE_LIMIT).exclude(
                status=Subscriber.Status.BOUNCED
            ).update(status=Subscriber.Status.BOUNCED, status_changed_at=timezone.now())

    def _retry_later(self, delivery: Delivery, reason: str, *, count_attempt: bool) -> None:
        attempts = delivery.attempts
        if count_attempt and attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED, last_error=f"gave up after {attempts} attempts: {reason}"
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
