"""A day's issue as editable rows: Report -> a Section per repository -> Items (commits, issues)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from newsletter.validators import validate_header_text

from .collected import Commit, Issue, Repository


class Language(models.TextChoices):
    ZH = "zh", "中文"
    EN = "en", "English"


def default_language() -> str:
    return settings.REPORT_LANGUAGE


class Report(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        APPROVED = "approved"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    class Analyzer(models.TextChoices):
        HEURISTIC = "heuristic"
        ANTHROPIC = "anthropic"

    date = models.DateField()
    language = models.CharField(max_length=2, choices=Language.choices, default=default_language)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Markdown lines. Each line cites items with links built by code; a variant keeps only the
    # lines whose citations all belong to its repositories.
    summary = models.TextField(blank=True)
    conclusions = models.TextField(blank=True)
    analyzer = models.CharField(max_length=10, choices=Analyzer.choices)
    model_ids = models.JSONField(default=dict, blank=True, help_text="Model ids by role: item, synthesis.")
    prompt_version = models.CharField(max_length=20, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    llm_calls = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal(0))
    warnings = models.JSONField(default=list, blank=True, help_text="For the editor: fallbacks, dropped items.")
    built_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the last delivery was settled.")
    # Every save keeps the previous version: the editor's changes can always be looked back at.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-date", "language"]
        constraints = [models.UniqueConstraint("date", "language", name="unique_report_per_day_and_language")]
        permissions = [
            ("approve_report", "Can approve a report for sending"),
            ("dispatch_report", "Can dispatch an approved report"),
            ("send_test_report", "Can send a test of a report to oneself"),
        ]

    def __str__(self) -> str:
        return f"AI Infra Daily {self.date} ({self.language})"

    @property
    def is_locked(self) -> bool:
        """Approved or later: a rebuild must never overwrite it."""
        return self.status != self.Status.DRAFT

    @property
    def is_frozen(self) -> bool:
        """Sending has started: nothing in it may change any more."""
        return self.status in (self.Status.SENDING, self.Status.SENT, self.Status.FAILED)

    def approve(self, *, by=None) -> None:
        if self.status != self.Status.DRAFT:
            raise ValueError(f"only a draft can be approved; this report is {self.status}")
        self.status = self.Status.APPROVED
        self.approved_by = by
        self.approved_at = timezone.now()
        self.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])

    def withdraw_approval(self) -> None:
        """An edit after approval needs a new approval: what was approved is not what would go out."""
        if self.status == self.Status.APPROVED:
            self.status = self.Status.DRAFT
            self.approved_by = None
            self.approved_at = None
            self.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])

    def add_warning(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


class ReportSection(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="sections")
    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)
    assessment = models.TextField(blank=True)
    # {commits, additions, deletions, authors, issues_opened, prs_merged}, computed by code.
    stats = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["report", "order"]
        constraints = [models.UniqueConstraint("report", "repository", name="unique_section_per_repository")]

    def __str__(self) -> str:
        return f"{self.report} · {self.repository}"


class ReportItem(models.Model):
    """A highlighted commit (with its analysis), a commit of the day's table, or a notable issue."""

    class Kind(models.TextChoices):
        HIGHLIGHT = "highlight", "highlighted commit"
        LISTED = "listed", "commit in the day's table"
        ISSUE = "issue"

    class Risk(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    class Source(models.TextChoices):
        HEURISTIC = "heuristic"
        ANTHROPIC = "anthropic"
        FALLBACK = "fallback", "heuristic (model output rejected)"
        EDITOR = "editor"

    # The report is the section's; it is kept here too so the admin can edit items on the report page.
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(ReportSection, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    commit = models.ForeignKey(Commit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issue = models.ForeignKey(Issue, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Other commits told in this item's story: [{"sha", "role"}] with role change/revert/redo.
    related = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=20, blank=True)
    title = models.TextField(validators=[validate_header_text])  # the top one becomes the email subject
    details = models.TextField(blank=True)
    code_snippet = models.TextField(blank=True)
    code_path = models.CharField(max_length=500, blank=True)
    code_language = models.CharField(max_length=30, blank=True)
    impact = models.TextField(blank=True)
    risk = models.CharField(max_length=6, choices=Risk.choices, default=Risk.LOW)
    breaking = models.BooleanField(default=False)
    score = models.PositiveSmallIntegerField(default=0, help_text="Triage significance, 0-100.")
    order = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False, help_text="Left out of every variant.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.HEURISTIC)
    history = HistoricalRecords()

    class Meta:
        ordering = ["section", "kind", "order"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="issue", issue__isnull=False, commit__isnull=True)
                | (~models.Q(kind="issue") & models.Q(commit__isnull=False, issue__isnull=True)),
                name="item_points_at_its_kind",
            )
        ]

    def __str__(self) -> str:
        return self.title


class CommitAnalysis(models.Model):
    """A model's analysis of one commit. A commit never changes, so this is reused on rebuilds."""

    sha = models.CharField(max_length=40)
    model = models.CharField(max_length=100)
    prompt_version = models.CharField(max_length=20)
    language = models.CharField(max_length=2, choices=Language.choices)
    payload = models.JSONField()
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("sha", "model", "prompt_version", "language", name="unique_commit_analysis")
        ]

    def __str__(self) -> str:
        return f"{self.sha[:7]} {self.model} {self.prompt_version} {self.language}"


class TableRow(ReportItem):
    """The day's other commits, as their own list in the admin (the same rows as ReportItem)."""

    class Meta:
        proxy = True
        verbose_name = "commit in the day's table"
        verbose_name_plural = "the day's other commits"
