"""Reverts, redos and the changes they name: references in titles and bodies, stories across days."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from newsletter.analysis.references import Reference, linked_issues, reference_of
from newsletter.analysis.stories import EarlierMember, link_stories
from newsletter.analysis.triage import triage

REPO = "vllm-project/vllm"


@pytest.mark.parametrize(
    ("title", "message", "own", "expected"),
    [
        ('Revert "Enable Cross layers KV cache layout at NIXL Connector (#30207)" (#33241)', "", 33241,
         Reference("revert", (30207,), ("Enable Cross layers KV cache layout at NIXL Connector",))),
        ("[Critical] Revert #17000 (#17001)", "", 17001, Reference("revert", (17000,))),
        ("[Redo] #17000 (#17050)", "", 17050, Reference("redo", (17000,))),
        ("Reapply #17000 with a fix (#17051)", "", 17051, Reference("redo", (17000,))),
        ("Reland https://github.com/vllm-project/vllm/pull/99 (#100)", "", 100, Reference("redo", (99,))),
        # Any host's change URL: a GitLab merge request of the same repository, another repository's PR.
        ("Revert https://git.example.com/vllm-project/vllm/-/merge_requests/98 (#100)", "", 100,
         Reference("revert", (98,))),
        ("Revert https://github.com/other-org/vllm/pull/97 (#100)", "", 100, Reference("revert")),
        ('Revert "Revert "Faster MoE (#1)" (#2)" (#3)', "", 3,
         Reference("redo", (1, 2), ("Faster MoE", 'Revert "Faster MoE (#1)"'))),
        ("[Misc] Undo a change (#5)", "Reverts vllm-project/vllm#4", 5, Reference("revert", (4,))),
        ("[Misc] Undo a change (#5)", "Reverts other-org/vllm#4", 5, Reference("revert")),
        ("Undo it (#8)", "This reverts commit 0123456789abcdef.", 8, Reference("revert", shas=("0123456789abcdef",))),
        # Never itself: its own number, its own SHA.
        ("[Critical] Revert #7 (#7)", "", 7, Reference("revert")),
        # A verb that is no reference.
        ("Restore the old default for prefix caching (#9)", "", 9, None),
        ("[Bugfix] Fix P/D with non-MoE DP (#33037)", "Fixes #33000", 33037, None),
    ],
)  # fmt: skip
def test_references(title, message, own, expected):
    assert reference_of(title, message, own_pr=own, own_sha="f" * 40, repository=REPO) == expected


def test_linked_issues_of_the_same_repository():
    body = (
        "Fixes #12, closes vllm-project/vllm#13 and resolves https://github.com/vllm-project/vllm/issues/14.\n"
        "Fix: #16. Related to #17; fixes other-org/vllm#15; Fixes #12 again."
    )
    assert linked_issues(body, REPO) == (12, 13, 14, 16)


@dataclass
class C:
    sha: str
    title: str
    pr_number: int | None
    committed_at: datetime
    message: str = ""


def reference(commit):
    return reference_of(commit.title, commit.message, own_pr=commit.pr_number, own_sha=commit.sha, repository=REPO)


T0 = datetime(2026, 1, 20, 4, tzinfo=UTC)


def test_a_story_across_three_days_is_told_once_under_the_newest_commit_of_the_day():
    change = C("a" * 40, "[Core] Cross-layer KV blocks (#100)", 100, T0)
    revert = C("b" * 40, 'Revert "[Core] Cross-layer KV blocks (#100)" (#101)', 101, T0 + timedelta(days=1))
    redo = C("c" * 40, "Reland #100 behind a flag (#102)", 102, T0 + timedelta(days=2))
    other = C("d" * 40, "[Misc] Unrelated (#103)", 103, T0 + timedelta(days=2, hours=1))
    stories, undone = link_stories([redo, other], [change, revert], reference)
    assert list(stories) == [redo.sha]
    story = stories[redo.sha]
    assert story.members == [(redo.sha, "redo")]
    assert story.earlier == [
        EarlierMember(change.sha, "change", date(2026, 1, 20), change.title),
        EarlierMember(revert.sha, "revert", date(2026, 1, 21), revert.title),
    ]
    assert story.related(redo.sha) == [
        {"sha": change.sha, "role": "change", "day": "2026-01-20", "earlier": True},
        {"sha": revert.sha, "role": "revert", "day": "2026-01-21", "earlier": True},
    ]
    assert undone == {redo.sha: change}


def test_the_same_change_landing_again_after_its_revert_is_a_redo():
    change = C("a" * 40, "[Core] Cross-layer KV blocks (#100)", 100, T0)
    revert = C("b" * 40, 'Revert "[Core] Cross-layer KV blocks (#100)" (#101)', 101, T0 + timedelta(hours=1))
    again = C("c" * 40, "[Core] Cross-layer KV blocks (#104)", 104, T0 + timedelta(hours=5))
    stories, _ = link_stories([change, revert, again], [], reference)
    assert stories[again.sha].members == [(change.sha, "change"), (revert.sha, "revert"), (again.sha, "redo")]


def test_stories_of_earlier_days_alone_are_not_today_s():
    change = C("a" * 40, "[Core] Cross-layer KV blocks (#100)", 100, T0)
    revert = C("b" * 40, 'Revert "[Core] Cross-layer KV blocks (#100)" (#101)', 101, T0 + timedelta(hours=1))
    today = C("c" * 40, "[Misc] Something else (#105)", 105, T0 + timedelta(days=3))
    assert link_stories([today], [change, revert], reference) == ({}, {})


def test_the_triage_dates_earlier_members_in_the_report_zone():
    from zoneinfo import ZoneInfo

    @dataclass
    class Full(C):
        files: tuple = ()
        author_login: str = ""
        additions: int = 0
        deletions: int = 0

    late = Full("a" * 40, "[Core] Cross-layer KV blocks (#100)", 100, datetime(2026, 1, 27, 17, tzinfo=UTC))
    revert = Full("b" * 40, "[Critical] Revert #100 (#101)", 101, datetime(2026, 1, 28, 3, tzinfo=UTC))
    result = triage([revert], 8, earlier=[late], repository=REPO, zone=ZoneInfo("Asia/Shanghai"))
    assert result.stories[revert.sha].earlier[0].day == date(2026, 1, 28)  # 01:00 in Shanghai
    verdict = result.verdicts[revert.sha]
    assert (verdict.reverts_pr, verdict.reverts_sha, verdict.reverts_title) == (
        100,
        late.sha,
        "Cross-layer KV blocks",
    )
