"""Who gets the newsletter, and one Delivery row per (report, subscriber) that says what happened."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

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


class Delivery(models.Model):
    """One report to one subscriber. Unique, so nobody can be queued twice for the same issue.

    pending -> claimed (a worker reserved it) -> sending (handed to the mail server) -> sent | failed;
    a 4xx sends it back to pending with a later next_attempt_at. A worker that dies leaves `claimed`
    rows, which go back to pending (never handed over), and at most one `sending` row, which becomes
    `unknown`: it may or may not have been delivered, so it is never resent without the editor.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        UNKNOWN = "unknown", "unknown (worker died mid-send: review)"
        SKIPPED = "skipped", "skipped (no activity in followed repositories)"

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
