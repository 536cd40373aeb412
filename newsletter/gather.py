"""What an analyzer reads about a day: each repository's commits, new issues, triage and numbers."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Q

from newsletter.analysis.draft import DayInput, RepoDay
from newsletter.analysis.triage import triage
from newsletter.days import day_window, report_zone
from newsletter.models import Commit, Issue, Repository

TREND_DAYS = 7


def day_input(day: date, language: str, repositories: list[Repository] | None = None) -> DayInput:
    since, until = day_window(day)
    repos = []
    for repository in repositories or Repository.objects.enabled():
        commits = list(Commit.objects.on_day(day).filter(repository=repository).order_by("committed_at", "sha"))
        new_issues = list(
            Issue.objects.filter(
                repository=repository, is_pull_request=False, created_at__gte=since, created_at__lt=until
            ).order_by("number")
        )
        prs = Issue.objects.filter(repository=repository, is_pull_request=True).filter(
            Q(created_at__gte=since, created_at__lt=until) | Q(closed_at__gte=since, closed_at__lt=until)
        )
        stats = {
            "trend": commit_trend(repository, day),
            "commits": len(commits),
            "additions": sum(c.additions for c in commits),
            "deletions": sum(c.deletions for c in commits),
            "authors": len({c.author_login or c.author_name for c in commits}),
            "issues_opened": len(new_issues),
            "pull_requests": prs.count(),
        }
        repos.append(
            RepoDay(
                repository=repository,
                commits=commits,
                new_issues=new_issues,
                triage=triage(commits, settings.HIGHLIGHTS_PER_REPO),
                stats=stats,
            )
        )
    return DayInput(day=day, language=language, repos=repos)


def commit_trend(repository: Repository, day: date, days: int = TREND_DAYS) -> list[dict]:
    """Commits per day over the `days` days ending with `day` (in REPORT_TIME_ZONE), oldest first."""
    since, _ = day_window(day - timedelta(days=days - 1))
    _, until = day_window(day)
    zone = report_zone()
    counts = Counter(
        moment.astimezone(zone).date()
        for moment in Commit.objects.filter(
            repository=repository, committed_at__gte=since, committed_at__lt=until
        ).values_list("committed_at", flat=True)
    )
    dates = [day - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    return [{"day": d.isoformat(), "commits": counts.get(d, 0)} for d in dates]
