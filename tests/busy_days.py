"""Days the bundled recordings don't have, made from them: many repositories, or one very busy one.

Each is a copy of real collected rows (commits with their files and patches, issues) under new
SHAs and names, so the offline analyzer builds a report from them as from any collected day.
Call after the bundled days are collected.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from newsletter.collect import COMMIT_FIELDS, ISSUE_FIELDS, row_of
from newsletter.days import day_window
from newsletter.models import Commit, Issue, Repository

DAY = date(2026, 1, 29)


def _copy_commit(commit: Commit, repository: Repository, salt: str, shift: timedelta = timedelta()) -> Commit:
    sha = hashlib.sha1(f"{repository.full_name}:{commit.sha}:{salt}".encode()).hexdigest()
    return row_of(
        Commit,
        repository,
        commit,
        COMMIT_FIELDS,
        sha=sha,
        authored_at=commit.authored_at + shift,
        committed_at=commit.committed_at + shift,
        html_url=f"{repository.html_url}/commit/{sha}",
    )


def many_repositories(count: int, day: date = DAY) -> list[Repository]:
    """`count` repositories with activity on `day`: the bundled ones with activity that day, then
    copies of vLLM and SGLang taking turns ("vLLM 4", "SGLang 5" …), in report order."""
    originals = [r for r in Repository.objects.order_by("order") if Commit.objects.filter(repository=r).on_day(day)]
    for repository in Repository.objects.exclude(pk__in=[r.pk for r in originals]):
        repository.enabled = False
        repository.save(update_fields=["enabled"])
    chosen = originals[:count]
    for n in range(len(chosen), count):
        source = originals[n % len(originals)]
        copy = Repository.objects.create(
            owner=f"{source.owner}-copy{n + 1}", name=source.name, display_name=f"{source.display_name} {n + 1}",
            order=source.order + n,
        )  # fmt: skip
        Commit.objects.bulk_create(
            _copy_commit(c, copy, "copy") for c in Commit.objects.filter(repository=source).on_day(day)
        )
        Issue.objects.bulk_create(
            row_of(Issue, copy, i, ISSUE_FIELDS, number=i.number, html_url=f"{copy.html_url}/issues/{i.number}")
            for i in Issue.objects.filter(repository=source).on_day(day)
        )
        chosen.append(copy)
    return list(Repository.objects.enabled())  # in report order


def busy_day(commits: int = 80, day: date = DAY, full_name: str = "vllm-project/vllm") -> Repository:
    """Fill `day` of one repository up to `commits` commits with copies of its commits of that day
    and the day before (moved a day later), as many rounds as it takes."""
    repository = Repository.objects.get_by_full_name(full_name)
    since, _ = day_window(day)
    sources = list(Commit.objects.filter(repository=repository).on_day(day - timedelta(days=1)))
    sources += list(Commit.objects.filter(repository=repository).on_day(day))
    missing = commits - Commit.objects.filter(repository=repository).on_day(day).count()
    Commit.objects.bulk_create(
        _copy_commit(source, repository, f"busy{n}", timedelta(days=1) if source.committed_at < since else timedelta())
        for n, source in ((n, sources[n % len(sources)]) for n in range(missing))
    )
    return repository
