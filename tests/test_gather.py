"""What an analyzer reads besides the day's commits: pull requests, fixed issues, earlier days, history."""

from datetime import UTC, date, datetime

import pytest

from newsletter.analysis.draft import PastHighlight
from newsletter.gather import day_input
from newsletter.models import Commit, Issue, Report, ReportItem, ReportSection, Repository

pytestmark = pytest.mark.django_db


def repository(name: str) -> Repository:
    return Repository.objects.get(name=name)


def day_of(name: str, day: date):
    return day_input(day, "en", [repository(name)]).repos[0]


def commit(name: str, sha: str, title: str, when: datetime, pr_number: int | None = None, message: str = ""):
    repo = repository(name)
    patch = "@@ -1,1 +1,2 @@\n x = 1\n+use_cross_layer_blocks = True"
    return Commit.objects.create(
        repository=repo,
        sha=sha,
        title=title,
        message=message or title,
        authored_at=when,
        committed_at=when,
        html_url=f"{repo.html_url}/commit/{sha}",
        pr_number=pr_number,
        additions=1,
        files=[{"path": "vllm/distributed/kv_transfer/nixl.py", "status": "modified", "additions": 1, "deletions": 0,
                "patch": patch}],
    )  # fmt: skip


def starting(day, prefix: str) -> str:
    return next(c.sha for c in day.commits if c.sha.startswith(prefix))


def test_pull_requests_linked_issues_and_the_commit_that_fixes_an_issue(collected):
    vllm = repository("vllm")
    body = "Fixes #33399, closes https://github.com/vllm-project/vllm/issues/33400; see other-org/vllm#1"
    Issue.objects.filter(repository=vllm, number=33350).update(body=body, labels=["bug"])
    Commit.objects.filter(sha__startswith="d09135f").update(message="[BugFix] Async Eplb race (#32881)\n\nFixes #33401")
    opened = datetime(2026, 1, 29, 3, tzinfo=UTC)
    Issue.objects.create(
        repository=vllm, number=33399, title="GLM-OCR fails to load", state="open", created_at=opened,
        updated_at=opened, html_url="https://github.com/vllm-project/vllm/issues/33399",
    )  # fmt: skip
    day = day_of("vllm", date(2026, 1, 29))
    glm = starting(day, "5e73e49")
    pull_request = day.pull_request(glm)
    assert (pull_request.number, pull_request.linked_issues, pull_request.labels) == (33350, (33399, 33400), ("bug",))
    assert pull_request.html_url == "https://github.com/vllm-project/vllm/pull/33350"
    assert day.pull_request(starting(day, "abb34ac")).body.startswith("## Purpose")  # a curated PR thread
    assert set(day.pull_requests) == {c.pr_number for c in day.commits}  # every commit's PR was collected
    assert [issue.number for issue in day.new_issues] == [33399]
    assert day.fixing_commit(33399) == glm and day.fixing_commit(33400) == glm
    assert day.fixing_commit(33401) == starting(day, "d09135f")  # "Fixes #N" in the message itself
    assert day.fixing_commit(1) is None


def test_a_revert_names_a_change_collected_days_before_and_a_reapply_tells_all_three(collected):
    change = commit(
        "vllm", "3" * 40, "Enable Cross layers KV cache layout at NIXL Connector (#30207)",
        datetime(2026, 1, 20, 3, tzinfo=UTC), pr_number=30207,
    )  # fmt: skip
    commit("vllm", "4" * 40, "[Misc] Nothing to do with it (#29000)", datetime(2026, 1, 21, 3, tzinfo=UTC), 29000)
    day = day_of("vllm", date(2026, 1, 28))
    revert = starting(day, "2e8de86")
    assert day.earlier_commits == [change]
    story = day.triage.stories[revert]
    assert story.members == [(revert, "revert")]
    assert story.related(revert) == [{"sha": change.sha, "role": "change", "day": "2026-01-20", "earlier": True}]
    verdict = day.triage.verdicts[revert]
    assert (verdict.reverts_pr, verdict.reverts_sha) == (30207, change.sha) and revert in day.triage.highlighted

    reapply = commit(
        "vllm", "5" * 40, 'Reapply "Enable Cross layers KV cache layout at NIXL Connector (#30207)" (#33400)',
        datetime(2026, 1, 29, 9, tzinfo=UTC), pr_number=33400,
    )  # fmt: skip
    next_day = day_of("vllm", date(2026, 1, 29))
    story = next_day.triage.stories[reapply.sha]
    assert [(m.sha, m.role, m.day) for m in story.earlier] == [
        (change.sha, "change", date(2026, 1, 20)),
        (revert, "revert", date(2026, 1, 28)),
    ]
    assert reapply.sha in next_day.triage.floor and reapply.sha in next_day.triage.highlighted
    assert {c.sha for c in next_day.earlier_commits} == {change.sha, revert}


def test_a_critical_revert_by_number_and_the_next_day_s_redo(collected):
    revert = commit(
        "sglang", "6" * 40, "[Critical] Revert #17000 (#17001)", datetime(2026, 1, 28, 4, tzinfo=UTC), 17001
    )
    redo = commit("sglang", "7" * 40, "[Redo] #17000 (#17050)", datetime(2026, 1, 29, 4, tzinfo=UTC), 17050)
    first = day_of("sglang", date(2026, 1, 28))
    assert revert.sha in first.triage.floor and first.triage.stories.get(revert.sha) is None  # #17000: not collected
    assert first.triage.verdicts[revert.sha].reverts_pr == 17000
    second = day_of("sglang", date(2026, 1, 29))
    assert second.triage.stories[redo.sha].related(redo.sha) == [
        {"sha": revert.sha, "role": "revert", "day": "2026-01-28", "earlier": True}
    ]
    assert second.earlier_commits == [revert]


def add_report(day: date, status: str, highlights: list[tuple[str, bool]], language: str = "zh", name: str = "vllm"):
    repo = repository(name)
    report = Report.objects.create(date=day, language=language, status=status, analyzer="heuristic")
    section = ReportSection.objects.create(report=report, repository=repo)
    commits = list(Commit.objects.filter(repository=repo).order_by("committed_at", "sha"))
    for order, (title, hidden) in enumerate(highlights):
        ReportItem.objects.create(
            report=report, section=section, kind=ReportItem.Kind.HIGHLIGHT, commit=commits[order], title=title,
            category="Feature", order=order, hidden=hidden,
        )  # fmt: skip
    ReportItem.objects.create(
        report=report, section=section, kind=ReportItem.Kind.LISTED, commit=commits[-1], title="x"
    )
    return report, commits


def test_history_is_the_previous_week_of_highlights_sent_ones_first(collected, settings):
    settings.SITE_URL = "https://daily.example.com"
    older, commits = add_report(date(2026, 1, 27), Report.Status.DRAFT, [("A", False), ("Hidden", True)])
    add_report(date(2026, 1, 28), Report.Status.APPROVED, [("C", False)])
    add_report(date(2026, 1, 20), Report.Status.SENT, [("Too old", False)])
    add_report(date(2026, 1, 28), Report.Status.DRAFT, [("English", False)], language="en")
    add_report(date(2026, 1, 26), Report.Status.DRAFT, [("Other repository", False)], name="sglang")
    history = day_input(date(2026, 1, 29), "zh", [repository("vllm")]).repos[0].history
    assert history == [
        PastHighlight(
            date(2026, 1, 28), commits[0].sha, "C", "Feature", "https://daily.example.com/reports/2026-01-28/"
        ),
        PastHighlight(
            date(2026, 1, 27), commits[0].sha, "A", "Feature", "https://daily.example.com/reports/2026-01-27/"
        ),
    ]
    # Once an issue of the week went out, only what readers saw is recalled.
    Report.objects.filter(pk=older.pk).update(status=Report.Status.SENT)
    history = day_input(date(2026, 1, 29), "zh", [repository("vllm")]).repos[0].history
    assert [h.title for h in history] == ["A"]
