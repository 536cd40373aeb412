"""A day's issue as editable rows: Report -> a Section per repository -> Items (commits, issues)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

from newsletter import archive_version
from newsletter.validators import validate_header_text

from . import transitions
from .collected import Commit, Issue, Repository


class Language(models.TextChoices):
    ZH = "zh", "中文"
    EN = "en", "English"


def default_language() -> str:
    return settings.REPORT_LANGUAGE


class ReportStatus(models.TextChoices):
    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# Where a report may go from each status. Only a sent issue is public: reaching `sent` or leaving
# it changes the archive, approval does not.
REPORT_TRANSITIONS = {
    ReportStatus.DRAFT: {ReportStatus.APPROVED},
    ReportStatus.APPROVED: {ReportStatus.DRAFT, ReportStatus.SENDING},  # withdrawn, or sending starts
    ReportStatus.SENDING: {ReportStatus.SENT, ReportStatus.FAILED},
    ReportStatus.SENT: {ReportStatus.SENDING},  # deliveries sent again from the admin
    ReportStatus.FAILED: set(),
}


class ReportQuerySet(models.QuerySet):
    def transition(self, target: str, *, sources: Iterable[str] | None = None, **fields) -> int:
        """These reports move to `target` from `sources` (by default every status the table
        allows) in one UPDATE whose WHERE holds those states: the others are left as they are.
        A source the table does not allow raises. Returns how many moved."""
        sources = transitions.allowed_sources(REPORT_TRANSITIONS, "report", target, sources)
        touched = ()
        if ReportStatus.SENT in sources:  # leaving the archive
            touched = set(self.filter(status=ReportStatus.SENT).values_list("language", flat=True))
        moved = self.filter(status__in=sources).update(status=target, **fields)
        for language in touched:
            archive_version.bump(language)
        return moved

    def send_again(self) -> int:
        """Sent -> sending, when some of their deliveries go out again: off the archive meanwhile."""
        return self.transition(ReportStatus.SENDING, sources=[ReportStatus.SENT])


class Report(models.Model):
    Status = ReportStatus

    class Analyzer(models.TextChoices):
        HEURISTIC = "heuristic"
        ANTHROPIC = "anthropic"

    date = models.DateField()
    language = models.CharField(max_length=2, choices=Language.choices, default=default_language)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
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
    objects = ReportQuerySet.as_manager()

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

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if self.is_public:  # a correction, or a withdrawal: the archive shows something else now
            archive_version.bump(self.language)

    @property
    def is_locked(self) -> bool:
        """Approved or later: a rebuild must never overwrite it."""
        return self.status != self.Status.DRAFT

    @property
    def is_frozen(self) -> bool:
        """Sending has started: nothing in it may change any more."""
        return self.status in (self.Status.SENDING, self.Status.SENT, self.Status.FAILED)

    @property
    def is_public(self) -> bool:
        """Shown by the archive, or was (a withdrawn issue keeps its `sent_at`)."""
        return self.status == self.Status.SENT or self.sent_at is not None

    def _move(self, target: str, **values) -> None:
        transitions.check(REPORT_TRANSITIONS, "report", self.status, target)
        for name, value in values.items():
            setattr(self, name, value)
        self.status = target
        self.save(update_fields=["status", *values, "updated_at"])

    def approve(self, *, by=None) -> None:
        self._move(self.Status.APPROVED, approved_by=by, approved_at=timezone.now())

    def withdraw_approval(self) -> None:
        """An edit after approval needs a new approval: what was approved is not what would go out."""
        self._move(self.Status.DRAFT, approved_by=None, approved_at=None)

    def start_sending(self) -> bool:
        """Approved -> sending, under a row lock so that two workers starting at once agree; a
        report already sending stays so (another worker started it, or this one resumes). True
        when this call started it. Inside a transaction the lock holds until it commits, so what
        the starter does in it (creating the deliveries) is done before anyone else goes on."""
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            started = locked.status != self.Status.SENDING
            if started:
                locked._move(self.Status.SENDING)
        self.status = self.Status.SENDING
        return started

    def finish(self) -> bool:
        """Sending -> sent, dated: the issue is public from now on. False when it was not sending
        (another worker finished it first). One UPDATE, which leaves `updated_at` alone: the
        content did not change."""
        now = timezone.now()
        if not type(self).objects.filter(pk=self.pk).transition(self.Status.SENT, sent_at=now):
            return False
        self.status, self.sent_at = self.Status.SENT, now
        archive_version.bump(self.language)
        return True

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

    # The analyzers' vocabularies (newsletter.analysis.draft.VERDICTS and TOPICS); readers see
    # them in their own language, named by the renderers.
    class Verdict(models.TextChoices):
        POSITIVE = "positive"
        WATCH = "watch"
        RISK = "risk"

    class Topic(models.TextChoices):
        HARDWARE = "hardware"
        MODEL = "model"
        KERNEL = "kernel", "Kernel/attention"
        QUANTIZATION = "quantization"
        SPECULATIVE = "speculative", "Speculative decoding"
        DISTRIBUTED = "distributed"
        SCHEDULING = "scheduling", "Scheduling/memory"
        API = "api", "API/CLI"

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
    impact = models.TextField(blank=True)
    risk = models.CharField(max_length=6, choices=Risk.choices, default=Risk.LOW)
    breaking = models.BooleanField(default=False)
    breaking_surface = models.CharField(
        max_length=300, blank=True, help_text="Which public surface changed, e.g. CLI flag `--foo` removed."
    )
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True)
    verdict_reason = models.TextField(blank=True, help_text="Shown only with a verdict.")
    topics = models.JSONField(default=list, blank=True, help_text="Topic slugs, labels on the web page.")
    selection_reason = models.TextField(blank=True, help_text="Why the analyzer picked it; never shown to readers.")
    # An issue of the day that a commit of the same day fixes.
    fixed_by = models.ForeignKey(Commit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
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


class ItemSnippet(models.Model):
    """Lines quoted verbatim from a highlighted commit's diff, with a line on what they show."""

    item = models.ForeignKey(ReportItem, on_delete=models.CASCADE, related_name="snippets")
    order = models.PositiveSmallIntegerField(default=0)
    path = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=30, blank=True)
    code = models.TextField()
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["item", "order", "pk"]

    def __str__(self) -> str:
        return self.path or f"snippet {self.order}"


class ReportStatement(models.Model):
    """A sentence of the summary or the conclusions, with the commits and issues it cites.

    Its text is plain text; links are built from the cited rows when it is rendered, and a variant
    keeps it only when everything it cites belongs to the variant's repositories.
    """

    class Kind(models.TextChoices):
        SUMMARY = "summary"
        CONCLUSION = "conclusion"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="statements")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    order = models.PositiveSmallIntegerField(default=0)
    lead = models.CharField(max_length=200, blank=True, help_text="A few words in bold before the sentence.")
    text = models.TextField()
    commits = models.ManyToManyField(Commit, blank=True, related_name="+")
    issues = models.ManyToManyField(Issue, blank=True, related_name="+")
    # Written before statements were rows: Markdown with its own links and full stop, shown as
    # written (links to the web kept, anything else disarmed), and kept in every variant.
    legacy = models.BooleanField(default=False, editable=False)
    history = HistoricalRecords(m2m_fields=[commits, issues])

    class Meta:
        ordering = ["report", "kind", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order}"


def record_versions(statements: list[ReportStatement], *, update: bool = False) -> None:
    """One history version of each statement as it now is, its citations included.

    Saving a statement and then setting its citations would leave a version per step (the
    citations removed, then added); a statement written that way is saved without history and
    then recorded once, so its edit shows as one change.
    """
    if not statements:
        return
    ReportStatement.history.bulk_history_create(statements, update=update)
    history = ReportStatement.history.model
    latest = {}
    for version in history.objects.filter(id__in=[s.pk for s in statements]).order_by("history_date", "history_id"):
        latest[version.id] = version
    for field, column in (("commits", "commit_id"), ("issues", "issue_id")):
        links = getattr(ReportStatement, field).through
        past = getattr(history, field).model
        # The link rows as they are, their own keys included: read back, not assumed.
        past.objects.bulk_create(
            past(id=link.pk, history=latest[link.reportstatement_id], reportstatement_id=link.reportstatement_id,
                 **{column: getattr(link, column)})
            for link in links.objects.filter(reportstatement_id__in=latest)
        )  # fmt: skip


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
