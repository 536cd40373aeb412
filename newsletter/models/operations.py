"""What the scheduled jobs leave behind: a row per daily run, and the workers' heartbeat."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DailyRun(models.Model):
    """The daily job for one day: collect, build, tell the editors. Retried, never silently skipped."""

    class Status(models.TextChoices):
        RUNNING = "running"
        BUILT = "built", "built (waiting for approval)"
        APPROVED = "approved", "built and approved automatically"
        NO_ACTIVITY = "no_activity", "no activity: nothing to send"
        RETRYING = "retrying"
        FAILED = "failed"

    day = models.DateField(unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} {self.status}"


class Heartbeat(models.Model):
    """Written every minute by a scheduled task: proof that a django-q2 cluster is running tasks."""

    name = models.CharField(max_length=50, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} {self.at}"

    @classmethod
    def beat(cls, name: str = "qcluster") -> None:
        cls.objects.update_or_create(name=name, defaults={"at": timezone.now()})
