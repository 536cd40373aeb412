"""What we collect from the repositories' hosts: tracked repositories, their commits and issues, and each run."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils import timezone

from newsletter.days import day_window
from newsletter.validators import split_full_name, validate_header_text, validate_owner, validate_repository_name
from sources.base import DEFAULT_HOST, host_choices


class RepositoryQuerySet(models.QuerySet):
    def enabled(self) -> RepositoryQuerySet:
        return self.filter(enabled=True)

    def get_by_full_name(self, full_name: str) -> Repository:
        try:
            owner, name = split_full_name(full_name)
        except ValueError as error:
            raise Repository.DoesNotExist(str(error)) from None
        return self.get(owner__iexact=owner, name__iexact=name)


class Repository(models.Model):
    # Only hosts a source reads (sources/base.py); the repository's web pages are on this host too.
    host = models.CharField(max_length=255, default=DEFAULT_HOST, choices=host_choices)
    owner = models.CharField(max_length=100, validators=[validate_owner])
    name = models.CharField(max_length=100, validators=[validate_repository_name])
    display_name = models.CharField(
        max_length=100, validators=[validate_header_text], help_text="How reports and subjects name it, e.g. vLLM."
    )
    default_branch = models.CharField(max_length=255, default="main")
    enabled = models.BooleanField(default=True, help_text="Collected, analyzed and offered to subscribers.")
    order = models.PositiveSmallIntegerField(default=100, help_text="Position in reports; lower first.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["order", "owner", "name"]
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint(
                "owner", "name", name="unique_repository", violation_error_message="This repository is tracked already."
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def html_url(self) -> str:
        return f"https://{self.host}/{self.full_name}"


class CommitQuerySet(models.QuerySet):
    def on_day(self, day: date) -> CommitQuerySet:
        since, until = day_window(day)
        return self.filter(committed_at__gte=since, committed_at__lt=until)


class Commit(models.Model):
    """A commit of a repository's default branch; its natural key is (repository, sha)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commits")
    sha = models.CharField(max_length=40)
    title = models.TextField()
    message = models.TextField(blank=True)
    author_name = models.CharField(max_length=255, blank=True)
    author_login = models.CharField(max_length=100, blank=True)
    authored_at = models.DateTimeField()
    committed_at = models.DateTimeField(db_index=True)
    html_url = models.URLField(max_length=500)
    additions = models.PositiveIntegerField(default=0)
    deletions = models.PositiveIntegerField(default=0)
    # [{path, status, additions, deletions, patch, previous_path}] as GitHub lists them; patch is
    # null for binary files and for diffs GitHub does not show.
    files = models.JSONField(default=list)
    pr_number = models.PositiveIntegerField(null=True, blank=True, help_text="From a trailing (#N) in the title.")

    objects = CommitQuerySet.as_manager()

    class Meta:
        ordering = ["repository", "committed_at"]
        constraints = [models.UniqueConstraint("repository", "sha", name="unique_commit")]

    def __str__(self) -> str:
        return f"{self.short_sha} {self.title}"

    @property
    def short_sha(self) -> str:
        return self.sha[:7]


class IssueQuerySet(models.QuerySet):
    def on_day(self, day: date) -> IssueQuerySet:
        """Created or updated during the day."""
        since, until = day_window(day)
        return self.filter(
            models.Q(created_at__gte=since, created_at__lt=until)
            | models.Q(updated_at__gte=since, updated_at__lt=until)
        )


class Issue(models.Model):
    """An issue or pull request; its natural key is (repository, number)."""

    class State(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="issues")
    number = models.PositiveIntegerField()
    title = models.TextField()
    body = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    labels = models.JSONField(default=list)
    author_login = models.CharField(max_length=100, blank=True)
    comments = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    html_url = models.URLField(max_length=500)
    is_pull_request = models.BooleanField(default=False)

    objects = IssueQuerySet.as_manager()

    class Meta:
        ordering = ["repository", "-number"]
        constraints = [models.UniqueConstraint("repository", "number", name="unique_issue")]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class CollectRun(models.Model):
    """One collection of one repository for one day: what it stored, what it cost, how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="collect_runs")
    day = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    commits = models.PositiveIntegerField(default=0)
    issues = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0, help_text="HTTP requests sent to GitHub.")
    not_modified = models.PositiveIntegerField(default=0, help_text="Of those, answered 304 from the cache.")
    retries = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["day", "status"])]

    def __str__(self) -> str:
        return f"{self.repository.full_name} {self.day} {self.status}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None

    def finish(self, *, error: str = "", commits: int = 0, issues: int = 0, cost=None) -> None:
        """Record the outcome; `cost` is the source's RequestStats for this run."""
        self.status = self.Status.FAILED if error else self.Status.SUCCEEDED
        self.error = error
        self.commits, self.issues = commits, issues
        if cost is not None:
            self.requests, self.not_modified, self.retries = cost.requests, cost.not_modified, cost.retries
        self.finished_at = timezone.now()
        self.save()
