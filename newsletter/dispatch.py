"""Send an approved report to its subscribers: exactly once each, resumable after any crash.

The rule that makes a killed worker safe: a worker first *claims* a batch of pending deliveries
(status `claimed`, with its name), then marks each one `sending` in a committed update just
before handing it to the mail server. A message the server accepted is recorded `sent` by the
same UPDATE that marks the next one `sending` (one committed write per message); a
refusal is recorded at once (failed, or back to pending for a retry). With SEND_CONNECTIONS
connections a worker has at most that many `sending` rows, one per connection: in flight, or
accepted and about to be recorded. So when a worker dies, its `claimed` rows were never handed
over and go back to `pending`, while each `sending` row it leaves behind may or may not have
reached the subscriber: it becomes `unknown` and is never sent again unless the editor decides
so in the admin. Nobody gets two copies, and every delivery that was not in flight at the crash
is sent exactly once.

A worker is known dead when it ran on this host and its process is gone; on other hosts, when its
lease (DELIVERY_LEASE_SECONDS since it last claimed) has run out.

What the mail server answers (see smtp_transport): a refusal is definite (4xx, 421 included: retry
later with backoff; 5xx: failed), and a connection that broke before the message's content was
sent carried nothing, so it is reopened and the message tried again; only a break once the
content went out is ambiguous and makes the delivery `unknown`. After a 421 the next message goes
out on a new connection. A message that cannot be built (an address or header that cannot be
encoded, any error that is not the mail server's) fails alone, before it is marked `sending`, and
the batch goes on. Someone who unsubscribes, bounces or is deleted while an issue goes out gets
nothing more: the claim skips deliveries whose subscriber is no longer active, and marking
`sending` checks once more, in the same UPDATE.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Count, F, Min
from django.db.models.constants import OnConflict
from django.utils import timezone

from newsletter.audience import KEY_SEPARATOR, NAME_SEPARATOR, Variant, active_repositories
from newsletter.encoded_mail import EncodedEmail
from newsletter.mail import Links, message_id_around, report_email
from newsletter.models import Delivery, Report, ReportVariant, Repository, Subscriber
from newsletter.models.transitions import TransitionError
from newsletter.render.email import render_email
from newsletter.retry import delivery_retries
from newsletter.smtp_transport import Envelope, HandoverError, Transport, describe, envelope

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

    def due(self) -> bool:
        """Take the next slot if it has come already (never sleeps)."""
        if not self.interval:
            return True
        now = self.clock()
        if self.next_at > now:
            return False
        self.next_at = now + self.interval
        return True


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

    The deliveries are created once, in the transaction that starts the sending: a crash leaves
    either an approved report with no delivery or a sending one with all of them, and a worker
    that joins or resumes a report already sending adds nothing (someone who subscribes while an
    issue goes out gets the next one). Returns how many deliveries it created.
    """
    try:
        with transaction.atomic():  # the report's row stays locked until the deliveries are in
            started = report.start_sending()
            created = create_deliveries(report) if started else 0
    except TransitionError as error:
        raise DispatchError(
            f"the {report.language} report of {report.date} is {error.source}: only an approved report is sent"
        ) from error
    prepare_variants(report)
    return created


def create_deliveries(report: Report) -> int:
    """One row per active subscriber of the report's language, written by the database in one
    INSERT … SELECT (50,000 subscribers never pass through Python). A row's variant is the
    repositories with activity that the subscriber follows (every enabled one when they chose
    none), in `variant_for`'s order; with none of them it is skipped. The key is `Variant.key`,
    written by the database from the same separators.

    A subscriber who has their row already keeps it (ON CONFLICT DO NOTHING on the unique
    constraint). The SELECT never reads the delivery table to leave them out: planned with the
    table empty or its statistics stale, PostgreSQL reads such a check as a scan of the table,
    the rows the INSERT itself adds included, once per subscriber (2 minutes at 50,000)."""
    names = sorted(active_repositories(report))  # sorted, as a Variant's repositories are
    repositories = {repository.full_name: repository for repository in Repository.objects.all()}
    t = _sql_names()
    follows_any = f"EXISTS (SELECT 1 FROM {t['follows']} f WHERE f.{t['follower']} = s.id)"
    terms, term_params = [], []
    for name in names:
        chosen = f"EXISTS (SELECT 1 FROM {t['follows']} f WHERE f.{t['follower']} = s.id AND f.{t['followed']} = %s)"
        if repositories[name].enabled:  # also chosen by whoever follows nothing in particular
            chosen = f"({chosen} OR NOT {follows_any})"
        terms.append(f"CASE WHEN {chosen} THEN %s ELSE '' END")
        term_params += [repositories[name].pk, NAME_SEPARATOR + name]
    sql = f"""
        {connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)} {t["deliveries"]} ({t["columns"]})
        SELECT %s, chosen.id,
               CASE WHEN chosen.names = '' THEN '' ELSE %s || chosen.format || %s || SUBSTR(chosen.names, 2) END,
               CASE WHEN chosen.names = '' THEN %s ELSE %s END,
               0, '', %s || CAST(chosen.id AS TEXT) || %s, '', %s, %s
        FROM (
            SELECT s.id AS id, s.{t["format"]} AS format, {" || ".join(terms) or "''"} AS names
            FROM {t["subscribers"]} s
            WHERE s.{t["status"]} = %s AND s.{t["language"]} = %s
        ) chosen
        {connection.ops.on_conflict_suffix_sql([], OnConflict.IGNORE, [], [])}
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [
        report.pk, report.language + KEY_SEPARATOR, KEY_SEPARATOR, Delivery.Status.SKIPPED, Delivery.Status.PENDING,
        *message_id_around(report), now, now,
        *term_params,
        Subscriber.Status.ACTIVE, report.language,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _sql_names() -> dict[str, str]:
    """The quoted table and column names create_deliveries' SQL uses."""
    q = connection.ops.quote_name
    delivery, subscriber = Delivery._meta, Subscriber._meta
    follows = Subscriber.repositories.through._meta
    inserted = ["report", "subscriber", "variant_key", "status", "attempts", "last_error", "message_id",
                "claimed_by", "next_attempt_at", "created_at"]  # fmt: skip
    return {
        "deliveries": q(delivery.db_table),
        "columns": ", ".join(q(delivery.get_field(name).column) for name in inserted),
        "subscribers": q(subscriber.db_table),
        "format": q(subscriber.get_field("format").column),
        "status": q(subscriber.get_field("status").column),
        "language": q(subscriber.get_field("language").column),
        "follows": q(follows.db_table),
        "follower": q(follows.get_field("subscriber").column),
        "followed": q(follows.get_field("repository").column),
    }


def prepare_variants(report: Report) -> int:
    """Compile each variant the deliveries need, once per report (workers only read them)."""
    keys = set(
        Delivery.objects.filter(report=report).exclude(variant_key="").values_list("variant_key", flat=True).distinct()
    )
    missing = keys - set(ReportVariant.objects.filter(report=report).values_list("key", flat=True))
    for key in sorted(missing):
        rendered = render_email(report, Variant.from_key(key))
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
    released = stale.filter(claimed_by__in=dead).release()
    unknown = stale.filter(claimed_by__in=dead).mark_unknown(
        "the worker stopped while handing this message to the mail server; not resent automatically"
    )
    if unknown:
        logger.warning("%s: %d deliveries left mid-send by a dead worker need review", report, unknown)
    return released, unknown


def due_deliveries(report: Report, now):
    """Pending deliveries that are due, in the order they are claimed (served by the partial index
    `delivery_pending`, so a claim reads the first rows instead of sorting all of them)."""
    return Delivery.objects.filter(report=report, status=Delivery.Status.PENDING, next_attempt_at__lte=now).order_by(
        "pk"
    )


def claim_batch(report: Report, me: str, size: int) -> list[Delivery]:
    """Reserve up to `size` due deliveries for this worker. Safe under concurrency on any database:
    the UPDATE only takes rows still pending, and the worker then reads back what it really got
    (PostgreSQL's SKIP LOCKED just keeps two workers from waiting on the same rows). Deliveries
    whose subscriber unsubscribed or bounced since they were created are skipped instead."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(due_deliveries(report, now).select_for_update(skip_locked=True).values_list("pk", flat=True)[:size])
        if ids:
            still_pending = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING)
            still_pending.filter(subscriber__status=Subscriber.Status.ACTIVE).claim(me, now)
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
        skipped += deliveries.filter(subscriber__status=status).skip(
            LEFT.get(status, f"subscriber {status} before sending")
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


class InlineExecutor(Executor):
    """One connection has nothing to overlap: its handover runs in the calling thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller through the future, as a pool would
            future.set_exception(error)
        return future


class Sender:
    """One worker's pass over a report: SEND_CONNECTIONS mail connections (one for the backends that
    are not SMTP), each with at most one message in flight, all under one rate limit.

    Only the calling thread touches the database (the connections' threads only speak SMTP), so
    there is one database connection per worker, whatever the number of mail connections. A
    message's `sent` is recorded by the same UPDATE that marks the next one `sending`: one
    committed write per message, and at any time at most one `sending` row per mail connection
    (in flight, or accepted and about to be recorded), which is all a killed worker can leave
    `unknown`.
    """

    def __init__(self, report: Report, me: str):
        self.report, self.me = report, me
        self.limiter = RateLimiter(settings.SEND_RATE_PER_SECOND)
        first = Transport()
        count = settings.SEND_CONNECTIONS if first.speaks_smtp else 1
        self.transports = [first, *(Transport() for _ in range(count - 1))]
        self.pool = ThreadPoolExecutor(count, thread_name_prefix="smtp") if count > 1 else InlineExecutor()
        self.variants: dict[str, ReportVariant] = {}
        self.encoded: dict[str, EncodedEmail] = {}
        self.links = Links()
        self.accepted: list[Delivery] = []  # handed over, `sent` not recorded yet

    def hang_up(self) -> None:
        for transport in self.transports:
            transport.close()

    def close(self) -> None:
        self.hang_up()
        self.pool.shutdown()

    def variant(self, key: str) -> ReportVariant:
        if key not in self.variants:
            self.variants[key] = ReportVariant.objects.get(report=self.report, key=key)
        return self.variants[key]

    def build(self, delivery: Delivery) -> tuple[EmailMessage | None, Envelope]:
        """What goes to the mail server: the variant's pre-encoded copy over SMTP, Django's message
        for the other backends (they take message objects)."""
        variant, subscriber = self.variant(delivery.variant_key), delivery.subscriber
        links = self.links.personal(subscriber)
        if not self.transports[0].speaks_smtp:
            message = report_email(delivery=delivery, variant=variant, subscriber=subscriber, links=links)
            return message, envelope(message)
        if delivery.variant_key not in self.encoded:
            self.encoded[delivery.variant_key] = EncodedEmail(self.report, variant)
        copy = self.encoded[delivery.variant_key].envelope_for(
            to=subscriber.email, message_id=delivery.message_id, links=links
        )
        return None, copy

    def send_batch(self, batch: list[Delivery]) -> None:
        waiting = deque(batch)  # claimed, message not built yet
        built: deque[tuple[Delivery, tuple]] = deque()  # message built, not marked `sending` yet
        idle = list(self.transports)
        in_flight: dict[Future, tuple[Transport, Delivery]] = {}
        try:
            while waiting or built or in_flight:
                if idle and (waiting or built):
                    self._build(waiting, built, len(idle))
                    for transport, delivery, future in self._start(idle, built, waiting):
                        idle.remove(transport)
                        in_flight[future] = (transport, delivery)
                if in_flight:
                    # While the connections send, build what they take next: a connection that
                    # comes free then waits only for its `sending` to be written.
                    self._build(waiting, built, len(self.transports))
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        transport, delivery = in_flight.pop(future)
                        idle.append(transport)
                        self._finish(delivery, future)
        finally:
            self._record_accepted()  # whatever ends the batch, what the server accepted is recorded

    def _start(
        self, idle: list[Transport], built: deque[tuple[Delivery, tuple]], waiting: deque[Delivery]
    ) -> list[tuple[Transport, Delivery, Future]]:
        """Hand the next built messages to the idle connections' threads, marked `sending` in one
        UPDATE: when the database is what takes time, several connections come free at once and
        share a commit. Under a rate limit only the messages already due go together."""
        ready: list[tuple[Transport, Delivery, tuple]] = []
        for transport in idle:
            if not built:
                break
            if not ready:
                self.limiter.wait()
            elif not self.limiter.due():
                break
            try:
                transport.ready()
            except (smtplib.SMTPException, OSError) as error:
                # Nothing of these was handed over: they go back, to be tried again later.
                reason = f"cannot connect to the mail server ({type(error).__name__})"
                for left in (*(d for _, d, _ in ready), *(d for d, _ in built), *waiting):
                    self._retry_later(left, reason, count_attempt=False)
                built.clear()
                waiting.clear()
                transport.close()
                return []
            delivery, handover = built.popleft()
            ready.append((transport, delivery, handover))
        marked = self._mark_sending([delivery for _, delivery, _ in ready])
        return [(t, d, self.pool.submit(t.send, *handover)) for t, d, handover in ready if d.pk in marked]

    def _build(self, waiting: deque[Delivery], built: deque[tuple[Delivery, tuple]], count: int) -> None:
        """Build messages until `count` are ready; one that cannot be built fails alone, never `sending`."""
        while waiting and len(built) < count:
            delivery = waiting.popleft()
            try:
                built.append((delivery, self.build(delivery)))
            except Exception as error:  # noqa: BLE001 - whatever breaks one message fails it alone
                reason = f"cannot build the message: {describe(error)}"
                logger.warning("delivery %s: %s", delivery.pk, reason)
                Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.CLAIMED, claimed_by=self.me).fail(reason)

    def _finish(self, delivery: Delivery, future: Future) -> None:
        try:
            future.result()
        except HandoverError as failure:
            self._failed(delivery, failure)
            return
        self.accepted.append(delivery)

    def _record_accepted(self) -> None:
        if self.accepted:
            self._mark_sending([])

    def _mark_sending(self, deliveries: list[Delivery]) -> set[int]:
        """Claimed -> sending just before the handover, in one UPDATE (so one commit) that also
        records the `sent` of what the server accepted meanwhile. Only while the claim is still
        ours and the subscriber still active (they may have left since the batch was claimed).
        Returns the ids marked."""
        accepted, self.accepted = self.accepted, []
        sent, ids = [d.pk for d in accepted], [d.pk for d in deliveries]
        changed = Delivery.objects.mark_sending(ids, worker=self.me, now=timezone.now(), sent=sent)
        bounced_before = [d.subscriber_id for d in accepted if d.subscriber.hard_bounces]
        if bounced_before:
            Subscriber.objects.filter(pk__in=bounced_before).update(hard_bounces=0)
        marked = set(ids)
        if changed < len(sent) + len(ids):  # not all of them were ours to send any more
            marked = set(
                Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).values_list("pk", flat=True)
            )
        for delivery in deliveries:
            if delivery.pk in marked:
                delivery.attempts += 1
            else:
                # Not ours to send: the subscriber left (skipped), was deleted with their
                # deliveries, or another worker recovered our claim meanwhile.
                skip_if_left(
                    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.CLAIMED, claimed_by=self.me)
                )
        return marked

    def _failed(self, delivery: Delivery, failure: HandoverError) -> None:
        kind, reason = classify(failure.error, ambiguous=failure.ambiguous)
        if kind == "transient":
            self._retry_later(delivery, reason, count_attempt=True)
            return
        if kind == "ambiguous":
            Delivery.objects.filter(pk=delivery.pk).mark_unknown(reason)
            return
        Delivery.objects.filter(pk=delivery.pk).fail(reason)
        if kind == "bounce":
            Subscriber.objects.filter(pk=delivery.subscriber_id).update(hard_bounces=F("hard_bounces") + 1)
            Subscriber.objects.filter(pk=delivery.subscriber_id, hard_bounces__gte=HARD_BOUNCE_LIMIT).exclude(
                status=Subscriber.Status.BOUNCED
            ).update(status=Subscriber.Status.BOUNCED, status_changed_at=timezone.now())

    def _retry_later(self, delivery: Delivery, reason: str, *, count_attempt: bool) -> None:
        attempts, policy = delivery.attempts, delivery_retries()
        if count_attempt and policy.exhausted(attempts):
            Delivery.objects.filter(pk=delivery.pk).fail(f"gave up after {attempts} attempts: {reason}")
            return
        later = timezone.now() + timedelta(seconds=policy.delay(attempts))
        Delivery.objects.filter(pk=delivery.pk).retry_later(reason, later)


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
    report.finish()
    report.refresh_from_db(fields=["status", "sent_at"])
    return True


def dispatch_report(
    report: Report,
    *,
    worker: str | None = None,
    batch_size: int | None = None,
    wait_for_retries: bool = True,
    max_wait: float = 3600.0,
    progress=None,
) -> DispatchSummary:
    """Run one worker over the report until nothing is due (and, if asked, until retries are done)."""
    me = worker or worker_name()
    batch_size = batch_size or settings.SEND_BATCH_SIZE
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
            sender.hang_up()  # don't hold idle SMTP connections through a backoff
            time.sleep(pause)
            waited += pause
    finally:
        sender.close()
    finish_if_done(report)
    summary = summarize(report)
    summary.recovered, summary.marked_unknown = released, unknown
    summary.variants = ReportVariant.objects.filter(report=report).count()
    return summary
