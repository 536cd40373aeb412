"""What an analyzer reads about a day: each repository's commits, new issues, triage and numbers.

Besides the day's own rows, every repository-day carries the context an inference engineer's
report needs, all read here so that the triage and the analyzers stay pure:

- `pull_requests`: the pull request each commit was merged from (body, labels, linked issues);
- `earlier_commits`: commits of the last EARLIER_DAYS days that a revert or redo of the day names
  (the triage tells them as members of the day's stories, dated, so readers can find that issue);
- `history`: the same repository's highlights of the previous HISTORY_DAYS days' issues.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Q

from newsletter.analysis.draft import DayInput, PastHighlight, PullRequest, RepoDay
from newsletter.analysis.references import Reference, linked_issues, reference_of
from newsletter.analysis.triage import triage
from newsletter.days import day_window, report_zone
from newsletter.models import Commit, Issue, Report, ReportItem, Repository

TREND_DAYS = 7
EARLIER_DAYS = 30  # how far back a revert's change or a redo's revert is looked for
HISTORY_DAYS = 7  # how far back earlier issues' highlights are recalled
# Titles and messages that may name another change: only these earlier commits are read in full.
_STORY_WORDS = ("revert", "reapply", "re-apply", "reland", "re-land", "redo", "re-do", "restore")


def day_input(day: date, language: str, repositories: list[Repository] | None = None) -> DayInput:
    since, until = day_window(day)
    zone = report_zone()
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
        pull_requests = pull_requests_of(repository, commits)
        candidates = earlier_candidates(repository, commits, since, pull_requests)
        result = triage(
            commits,
            settings.HIGHLIGHTS_PER_REPO,
            earlier=candidates,
            pull_requests=pull_requests,
            repository=repository.full_name,
            zone=zone,
        )
        told = {member.sha for story in result.stories.values() for member in story.earlier}
        repos.append(
            RepoDay(
                repository=repository,
                commits=commits,
                new_issues=new_issues,
                triage=result,
                stats=stats,
                pull_requests=pull_requests,
                history=past_highlights(repository, day, language),
                earlier_commits=[c for c in candidates if c.sha in told],
            )
        )
    return DayInput(day=day, language=language, repos=repos)


def pull_requests_of(repository: Repository, commits: list[Commit]) -> dict[int, PullRequest]:
    """The pull requests the commits were merged from, by number, whatever day they were collected."""
    numbers = {c.pr_number for c in commits if c.pr_number}
    rows = Issue.objects.filter(repository=repository, is_pull_request=True, number__in=numbers)
    return {
        row.number: PullRequest(
            number=row.number,
            title=row.title,
            body=row.body,
            labels=tuple(row.labels),
            linked_issues=linked_issues(row.body, repository.full_name),
            html_url=row.html_url,
        )
        for row in rows
    }


def earlier_candidates(
    repository: Repository, commits: list[Commit], since: datetime, pull_requests: dict[int, PullRequest] | None = None
) -> list[Commit]:
    """Commits of the EARLIER_DAYS days before `since` that the day's reverts and redos may name.

    Two kinds: the changes, reverts and redos they name (by PR number, quoted title or SHA), and
    earlier reverts and redos that may name the same change (found by their title's verb and
    confirmed by the triage). What names nothing of the day is dropped by the triage's stories.
    """
    window = Commit.objects.filter(
        repository=repository, committed_at__gte=since - timedelta(days=EARLIER_DAYS), committed_at__lt=since
    )
    found: dict[str, Commit] = {}
    story_words = reduce(or_, (Q(title__icontains=word) for word in _STORY_WORDS)) | Q(
        message__icontains="this reverts commit"
    )
    for commit in window.filter(story_words):
        found[commit.sha] = commit
    frontier = list(commits) + list(found.values())
    for _ in range(2):  # a redo names a revert, which names the change
        query = reduce(or_, (_named(ref) for c in frontier if (ref := _reference(c, repository, pull_requests))), Q())
        if not query:
            break
        frontier = [c for c in window.filter(query) if c.sha not in found]
        found.update((c.sha, c) for c in frontier)
    return sorted(found.values(), key=lambda c: (c.committed_at, c.sha))


def _reference(
    commit: Commit, repository: Repository, pull_requests: dict[int, PullRequest] | None
) -> Reference | None:
    ref = reference_of(
        commit.title, commit.message, own_pr=commit.pr_number, own_sha=commit.sha, repository=repository.full_name
    )
    pr = (pull_requests or {}).get(commit.pr_number) if commit.pr_number else None
    if ref is None and pr is not None:
        ref = reference_of(
            commit.title, pr.body, own_pr=commit.pr_number, own_sha=commit.sha, repository=repository.full_name
        )
    return ref


def _named(reference: Reference) -> Q:
    """The rows a reference may name: by PR number, SHA prefix, or a title as it was written."""
    query = Q(pr_number__in=reference.prs) if reference.prs else Q()
    for prefix in reference.shas:
        query |= Q(sha__startswith=prefix.lower())
    for title in reference.titles:
        query |= Q(title__iexact=title) | Q(title__istartswith=f"{title} (#")
    return query


def past_highlights(repository: Repository, day: date, language: str) -> list[PastHighlight]:
    """The repository's highlights in the issues of the HISTORY_DAYS days before `day`, newest first.

    Sent issues are what readers saw; when none of those days was sent yet (a new installation,
    or an editor working ahead), drafts and approved issues stand in.
    """
    reports = Report.objects.filter(language=language, date__gte=day - timedelta(days=HISTORY_DAYS), date__lt=day)
    sent = reports.filter(status=Report.Status.SENT)
    chosen = sent if sent.exists() else reports.filter(status__in=(Report.Status.DRAFT, Report.Status.APPROVED))
    items = (
        ReportItem.objects.filter(
            report__in=chosen, section__repository=repository, kind=ReportItem.Kind.HIGHLIGHT, hidden=False
        )
        .select_related("report", "commit")
        .order_by("-report__date", "order", "pk")
    )
    return [
        PastHighlight(
            day=item.report.date,
            sha=item.commit.sha,
            title=item.title,
            category=item.category,
            url=f"{settings.SITE_URL}/reports/{item.report.date.isoformat()}/",
        )
        for item in items
    ]


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
