"""Collect a day of a repository from its host's source into Commit and Issue rows (idempotent upserts)."""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.db import DatabaseError, transaction

from newsletter.days import day_window
from newsletter.models import CollectRun, Commit, Issue, Repository
from sources.base import Progress, RequestStats, Source, source_for
from sources.records import RepositorySnapshot, SourceError

logger = logging.getLogger(__name__)

COMMIT_FIELDS = [
    "title", "message", "author_name", "author_login", "authored_at", "committed_at",
    "html_url", "additions", "deletions", "files", "pr_number",
]  # fmt: skip
ISSUE_FIELDS = [
    "title", "body", "state", "labels", "author_login", "comments",
    "created_at", "updated_at", "closed_at", "html_url", "is_pull_request",
]  # fmt: skip


def source_of(repository: Repository) -> Source:
    """The source that reads the repository's host, configured from settings."""
    return source_for(repository.host, settings)


def row_of(model, repository: Repository, source, fields: list[str], **values):
    """A `model` row of `repository` with `fields` read from `source` (a record or a row that names
    them the same), and `values` set over them."""
    return model(repository=repository, **({name: getattr(source, name) for name in fields} | values))


def collect_day(
    *,
    repository: Repository,
    day: date,
    source: Source | None = None,
    progress: Progress | None = None,
) -> CollectRun:
    """Fetch the day and store it; the returned run says how it went. Never half-writes a repo.

    `source` defaults to the source of the repository's host (the demo passes its replay's).
    """
    source = source or source_of(repository)
    since, until = day_window(day)
    run = CollectRun.objects.create(repository=repository, day=day)
    start = RequestStats(**vars(source.stats))
    try:
        snapshot = source.fetch(repository.full_name, since, until, progress=progress)
    except SourceError as error:
        run.finish(error=str(error), cost=source.stats.since(start))
        return run
    try:
        with transaction.atomic():
            store_snapshot(repository, snapshot)
    except DatabaseError as error:
        logger.exception("storing %s for %s failed", repository.full_name, day)
        run.finish(
            error=f"{repository.full_name}: storing failed ({type(error).__name__})", cost=source.stats.since(start)
        )
        return run
    run.finish(commits=len(snapshot.commits), issues=len(snapshot.issues), cost=source.stats.since(start))
    return run


def store_snapshot(repository: Repository, snapshot: RepositorySnapshot) -> None:
    """Upsert by natural key: a second run updates the same rows and creates none."""
    if snapshot.default_branch and snapshot.default_branch != repository.default_branch:
        repository.default_branch = snapshot.default_branch
        repository.save(update_fields=["default_branch"])
    # Lengths are cut to the columns': a host may send a longer name than the row keeps.
    commits = [
        row_of(
            Commit,
            repository,
            record,
            COMMIT_FIELDS,
            sha=record.sha,
            author_name=record.author_name[:255],
            author_login=record.author_login[:100],
            files=[change.as_dict() for change in record.files],
        )
        for record in snapshot.commits
    ]
    Commit.objects.bulk_create(
        commits, batch_size=100, update_conflicts=True, unique_fields=["repository", "sha"], update_fields=COMMIT_FIELDS
    )
    issues = [
        row_of(
            Issue,
            repository,
            record,
            ISSUE_FIELDS,
            number=record.number,
            labels=list(record.labels),
            author_login=record.author_login[:100],
        )
        for record in snapshot.issues
    ]
    Issue.objects.bulk_create(
        issues,
        batch_size=200,
        update_conflicts=True,
        unique_fields=["repository", "number"],
        update_fields=ISSUE_FIELDS,
    )
