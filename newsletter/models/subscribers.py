"""Who gets the newsletter, and one Delivery row per (report, subscriber) that says what happened."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from django.db import connections, models
from django.db.models.functions import Lower
from django.utils import timezone

from . import transitions
from .collected import Repository
from .reports import Language, Report, default_language


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending confirmation"
        ACTIVE = "active"
        UNSUBSCRIBED = "unsubscribed"
        BOUNCED = "bounced"

    class Format(models.TextChoices):
        HTML = "html", "HTML"
        MARKDOWN = "markdown", "Markdown (plain text)"

    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=default_language)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.HTML)
    repositories = models.ManyToManyField(Repository, related_name="subscribers", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Links issued before the last status change are spent: an old confirmation link must not
    # bring back someone who unsubscribed or bounced since.
    status_changed_at = models.DateTimeField(null=True, blank=True)
    consent_text = models.TextField(blank=True, help_text="What the subscriber agreed to, as shown to them.")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    hard_bounces = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(Lower("email"), name="unique_subscriber_email")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def set_status(self, status: str) -> None:
        """Change the status (not saved): every change is dated, which spends older links."""
        if status != self.status:
            self.status = status
            self.status_changed_at = timezone.now()

    def confirm(self) -> None:
        self.set_status(self.Status.ACTIVE)
        self.confirmed_at = timezone.now()
        self.unsubscribed_at = None
        self.hard_bounces = 0
        self.save(update_fields=["status", "status_changed_at", "confirmed_at", "unsubscribed_at", "hard_bounces"])

    def unsubscribe(self) -> None:
        if self.status != self.Status.UNSUBSCRIBED:
            self.set_status(self.Status.UNSUBSCRIBED)
            self.unsubscribed_at = timezone.now()
            self.save(update_fields=["status", "status_changed_at", "unsubscribed_at"])


def normalize_email(email: str) -> str:
    """Addresses compare case-insensitively; we store them lower-cased and trimmed."""
    return (email or "").strip().lower()


class ReportVariant(models.Model):
    """One compiled issue for a (repositories, language, format) combination: built once per report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="variants")
    key = models.CharField(max_length=500)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint("report", "key", name="unique_variant_per_report")]

    def __str__(self) -> str:
        return f"{self.report} · {self.key}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown", "unknown (worker died mid-send: review)"
    SKIPPED = "skipped", "skipped (no activity in followed repositories)"


_D = DeliveryStatus
# Where a delivery may go from each status. `sent` and `skipped` are final; `failed` and `unknown`
# wait for the editor, who may send them again (or mark an unknown one delivered).
DELIVERY_TRANSITIONS = {
    _D.PENDING: {_D.CLAIMED, _D.SKIPPED},
    _D.CLAIMED: {_D.PENDING, _D.SENDING, _D.FAILED, _D.SKIPPED},  # released, handed over, unbuildable, left
    _D.SENDING: {_D.SENT, _D.PENDING, _D.FAILED, _D.UNKNOWN},
    _D.UNKNOWN: {_D.SENT, _D.PENDING},
    _D.FAILED: {_D.PENDING},
    _D.SENT: set(),
    _D.SKIPPED: set(),
}


# The two moves mark_sending writes in one CASE, their sources checked against the table.
_TO_SENT = transitions.allowed_sources(DELIVERY_TRANSITIONS, "delivery", _D.SENT)
_TO_SENDING = transitions.allowed_sources(DELIVERY_TRANSITIONS, "delivery", _D.SENDING, [_D.CLAIMED])


class DeliveryQuerySet(models.QuerySet):
    """Status changes of many deliveries at once, each one UPDATE whose WHERE holds the states it
    may start from (rows in any other state are left alone); each returns how many rows moved."""

    def transition(self, target: str, *, sources: Iterable[str] | None = None, **fields) -> int:
        """Move to `target` from `sources` (by default every state the table allows; a source the
        table does not allow raises)."""
        sources = transitions.allowed_sources(DELIVERY_TRANSITIONS, "delivery", target, sources)
        return self.filter(status__in=sources).update(status=target, **fields)

    def claim(self, worker: str, now) -> int:
        return self.transition(_D.CLAIMED, claimed_by=worker, claimed_at=now)

    def release(self) -> int:
        """Claims of a dead worker: never handed over, so they go back to the queue."""
        return self.transition(_D.PENDING, sources=[_D.CLAIMED], claimed_by="", claimed_at=None)

    def mark_unknown(self, reason: str) -> int:
        """Handed over, and then the worker or the connection broke: delivered or not, nobody knows."""
        return self.transition(_D.UNKNOWN, last_error=reason[:500])

    def mark_sending(self, ids: Iterable[int], *, worker: str, now, sent: Iterable[int] = ()) -> int:
        """Claimed -> sending just before the handover, only while the claim is still the worker's
        and the subscriber still active; and, in the same UPDATE (one commit per message), the
        `sent` ones the mail server accepted meanwhile -> sent.

        It acts on the ids it is given (call it on the manager). This is the one write per message
        of a dispatch, so its SQL is written once per list length: built through the ORM, the five
        CASE expressions cost several milliseconds of Python per message, more than the database."""
        if self.query.where:
            raise TypeError("mark_sending acts on the ids it is given, not on a filtered queryset")
        ids, sent = list(ids), list(sent)
        if not (ids or sent):
            return 0
        connection = connections[self.db]
        params = {
            **{f"sent{n}": pk for n, pk in enumerate(sent)},
            **{f"id{n}": pk for n, pk in enumerate(ids)},
            **{f"sent_from{n}": status for n, status in enumerate(_TO_SENT)},
            **{f"sending_from{n}": status for n, status in enumerate(_TO_SENDING)},
            "sent": _D.SENT, "sending": _D.SENDING, "now": connection.ops.adapt_datetimefield_value(now),
            "worker": worker, "active": Subscriber.Status.ACTIVE,
        }  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(_mark_sending_sql(self.db, len(ids), len(sent)), params)
            return cursor.rowcount

    def retry_later(self, reason: str, at) -> int:
        return self.transition(
            _D.PENDING, sources=[_D.CLAIMED, _D.SENDING], claimed_by="", claimed_at=None,
            last_error=reason[:500], next_attempt_at=at,
        )  # fmt: skip

    def fail(self, reason: str) -> int:
        return self.transition(_D.FAILED, last_error=reason[:500])

    def skip(self, reason: str) -> int:
        return self.transition(_D.SKIPPED, last_error=reason[:500])

    def mark_delivered(self, now) -> int:
        """The editor's word for an unknown one: the subscriber got it."""
        return self.transition(_D.SENT, sources=[_D.UNKNOWN], sent_at=now)

    def send_again(self, now) -> int:
        """The editor's decision for failed and unknown ones: back to the queue, due now."""
        return self.transition(_D.PENDING, sources=[_D.FAILED, _D.UNKNOWN], claimed_by="", claimed_at=None,
                               next_attempt_at=now)  # fmt: skip


class Delivery(models.Model):
    """One report to one subscriber. Unique, so nobody can be queued twice for the same issue.

    pending -> claimed (a worker reserved it) -> sending (handed to the mail server) -> sent | failed;
    a 4xx sends it back to pending with a later next_attempt_at. A worker that dies leaves `claimed`
    rows, which go back to pending (never handed over), and at most one `sending` row, which becomes
    `unknown`: it may or may not have been delivered, so it is never resent without the editor.
    """

    Status = DeliveryStatus

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    variant_key = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=255)
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint("report", "subscriber", name="unique_delivery")]
        indexes = [
            # Counts by status. Not by next_attempt_at too: SQLite keeps an index's equal entries in
            # id order, which is the claim's order, and would sort every pending row otherwise.
            models.Index(fields=["report", "status"], name="delivery_report_status"),
            # The claim takes the first due pending rows in id order: with this it reads them off the
            # index instead of sorting every pending row of the report on each claim (quadratic).
            models.Index(fields=["report", "id"], condition=models.Q(status="pending"), name="delivery_pending"),
        ]

    def __str__(self) -> str:
        # No address: this is what the admin, its log and action pages show to editors too.
        return f"{self.report} → subscriber #{self.subscriber_id} ({self.status})"


@cache
def _mark_sending_sql(alias: str, handing: int, sent: int) -> str:
    """DeliveryQuerySet.mark_sending's UPDATE on database `alias` for `handing` ids to mark sending
    and `sent` ids to mark sent, with named parameters (mark_sending gives them)."""
    quote = connections[alias].ops.quote_name
    meta = Delivery._meta
    table, person = quote(meta.db_table), Subscriber._meta
    names = ("id", "status", "sent_at", "last_error", "attempts", "claimed_at", "claimed_by", "subscriber")
    column = {name: quote(meta.get_field(name).column) for name in names}

    def among(name: str, count: int) -> str:
        return "(" + ", ".join(f"%({name}{n})s" for n in range(count)) + ")" if count else "(NULL)"

    was_sent = (
        f"({column['id']} IN {among('sent', sent)} AND {column['status']} IN {among('sent_from', len(_TO_SENT))})"
    )

    def sent_else(value: str, otherwise: str) -> str:
        return f"CASE WHEN {was_sent} THEN {value} ELSE {otherwise} END"

    # The row's own subscriber, read by primary key. A scalar subquery, because PostgreSQL may run
    # an EXISTS or an IN as a hash of every active subscriber, built again for each UPDATE (with
    # the subscriber table's statistics stale, as after an import: 0.5 ms at 2,000, 18 ms at 50,000).
    active = (
        f"(SELECT {quote(person.get_field('status').column)} FROM {quote(person.db_table)}"
        f" WHERE {quote(person.pk.column)} = {table}.{column['subscriber']}) = %(active)s"
    )
    handing_over = (
        f"({column['id']} IN {among('id', handing)}"
        f" AND {column['status']} IN {among('sending_from', len(_TO_SENDING))}"
        f" AND {column['claimed_by']} = %(worker)s AND {active})"
    )
    empty = "''"
    assignments = [
        f"{column['status']} = {sent_else('%(sent)s', '%(sending)s')}",
        f"{column['sent_at']} = {sent_else('%(now)s', column['sent_at'])}",
        f"{column['last_error']} = {sent_else(empty, column['last_error'])}",
        f"{column['attempts']} = {sent_else(column['attempts'], column['attempts'] + ' + 1')}",
        f"{column['claimed_at']} = {sent_else(column['claimed_at'], '%(now)s')}",
        f"{column['claimed_by']} = %(worker)s",
    ]
    return f"UPDATE {table} SET {', '.join(assignments)} WHERE {was_sent} OR {handing_over}"
