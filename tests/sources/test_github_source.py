"""GitHubSource over PyGithub, against the replay server: real HTTP, no mocks of PyGithub."""

import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from replay.server import Faults, ReplayServer
from sources.records import SourceError
from tests.conftest import make_source
from tests.replay_folders import sha_for, write_repo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def window(day: date, zone=SHANGHAI):
    since = datetime(day.year, day.month, day.day, tzinfo=zone)
    return since, since + timedelta(days=1)


@pytest.mark.parametrize(
    ("full_name", "day", "commits", "issues"),
    [
        ("vllm-project/vllm", date(2026, 1, 28), 31, 31),
        ("vllm-project/vllm", date(2026, 1, 29), 45, 45),
        ("sgl-project/sglang", date(2026, 1, 28), 23, 23),
        ("sgl-project/sglang", date(2026, 1, 29), 26, 26),
        ("flashinfer-ai/flashinfer", date(2026, 1, 28), 3, 3),
        ("flashinfer-ai/flashinfer", date(2026, 1, 29), 0, 1),
    ],
)
def test_exact_counts_of_the_bundled_days_in_shanghai(replay, full_name, day, commits, issues):
    snapshot = make_source(replay.url).fetch(full_name, *window(day))
    assert len(snapshot.commits) == commits
    assert len(snapshot.issues) == issues
    since, until = window(day)
    assert all(since <= c.committed_at < until for c in snapshot.commits)
    # 1 for the repository, 1 page of commits, 1 per commit (stats, files and patches at once), 1 page of issues
    assert snapshot.requests == commits + 3 == len(replay.state.log)


def test_times_are_sent_in_utc(replay):
    make_source(replay.url).fetch("flashinfer-ai/flashinfer", *window(date(2026, 1, 29)))
    listing = next(entry.path for entry in replay.state.log if "/commits?" in entry.path)
    query = parse_qs(urlsplit(listing).query)
    assert query["since"] == ["2026-01-28T16:00:00Z"]
    assert query["until"] == ["2026-01-29T16:00:00Z"]


def test_naive_datetimes_are_refused(replay):
    with pytest.raises(ValueError, match="naive"):
        make_source(replay.url).fetch("vllm-project/vllm", datetime(2026, 1, 29), datetime(2026, 1, 30))


def test_a_commit_is_normalized_with_stats_files_and_patch(replay):
    snapshot = make_source(replay.url).fetch("flashinfer-ai/flashinfer", *window(date(2026, 1, 28)))
    commit = next(c for c in snapshot.commits if c.sha.startswith("67fc0a15"))
    assert commit.title == "refactor: simplify fp4 rmsnorm (#2421)"
    assert commit.pr_number == 2421
    assert commit.author_name == "Zihao Ye"
    assert commit.committed_at == datetime(2026, 1, 27, 19, 28, 29, tzinfo=UTC)
    assert (commit.additions, commit.deletions) == (1223, 2531)
    assert commit.files[0].path == "flashinfer/cute_dsl/add_rmsnorm_fp4quant.py"
    assert commit.html_url == f"https://github.com/flashinfer-ai/flashinfer/commit/{commit.sha}"
    with_patch = next(c for c in snapshot.commits if any(f.patch for f in c.files))
    assert next(f for f in with_patch.files if f.patch).patch.startswith("@@")


def test_issues_and_pull_requests_are_told_apart(replay):
    snapshot = make_source(replay.url).fetch("flashinfer-ai/flashinfer", *window(date(2026, 1, 29)))
    (issue,) = snapshot.issues
    assert issue.number == 2440 and not issue.is_pull_request
    assert issue.labels == ("bug", "op: misc") and issue.author_login == "bkryu"
    assert all(
        i.is_pull_request for i in make_source(replay.url).fetch("vllm-project/vllm", *window(date(2026, 1, 29))).issues
    )


def test_a_commit_on_the_boundary_second_belongs_to_the_next_day(tmp_path):
    boundary = datetime(2026, 1, 28, 16, 0, 0, tzinfo=UTC)  # 2026-01-29 00:00:00 in Shanghai
    write_repo(
        tmp_path,
        "acme/edge",
        [
            (sha_for(1), boundary - timedelta(seconds=1), "last of the 28th"),
            (sha_for(2), boundary, "first of the 29th"),
            (sha_for(3), boundary + timedelta(seconds=1), "second of the 29th"),
        ],
    )
    with ReplayServer(tmp_path) as server:
        source = make_source(server.url)
        first_day = source.fetch("acme/edge", *window(date(2026, 1, 28)))
        second_day = source.fetch("acme/edge", *window(date(2026, 1, 29)))
    assert [c.title for c in first_day.commits] == ["last of the 28th"]
    assert [c.title for c in second_day.commits] == ["first of the 29th", "second of the 29th"]


def test_pagination_past_100_commits(tmp_path):
    start = datetime(2026, 1, 28, 16, 0, tzinfo=UTC)
    write_repo(
        tmp_path, "acme/busy", [(sha_for(i), start + timedelta(minutes=5 * i), f"commit {i}") for i in range(250)]
    )
    with ReplayServer(tmp_path) as server:
        snapshot = make_source(server.url).fetch("acme/busy", *window(date(2026, 1, 29)))
        listings = [entry.path for entry in server.state.log if "/commits?" in entry.path]
    assert len(snapshot.commits) == 250
    assert len({c.sha for c in snapshot.commits}) == 250
    assert len(listings) == 3  # 100 + 100 + 50
    assert snapshot.requests == 1 + 3 + 250 + 1


def test_a_rerun_with_the_cache_is_answered_by_304s(replay, tmp_path):
    day = window(date(2026, 1, 28))
    first = make_source(replay.url, cache_dir=tmp_path).fetch("sgl-project/sglang", *day)
    assert first.not_modified == 0
    replay.state.reset()
    second = make_source(replay.url, cache_dir=tmp_path).fetch("sgl-project/sglang", *day)
    assert [entry.status for entry in replay.state.log] == [304] * second.requests
    assert all(entry.if_none_match for entry in replay.state.log)
    assert second.not_modified == second.requests == first.requests
    assert second.commits == first.commits and second.issues == first.issues


def test_injected_502s_are_retried(replay):
    replay.state.reset(Faults(fail_first=2))
    snapshot = make_source(replay.url).fetch("flashinfer-ai/flashinfer", *window(date(2026, 1, 28)))
    assert len(snapshot.commits) == 3
    assert snapshot.retries == 2
    assert replay.state.statuses()[:3] == [502, 502, 200]


def test_persistent_502s_end_in_a_clear_error(replay):
    replay.state.reset(Faults(fail_first=100))
    with pytest.raises(SourceError) as failure:
        make_source(replay.url, retries=2).fetch("vllm-project/vllm", *window(date(2026, 1, 29)))
    assert str(failure.value) == (
        "vllm-project/vllm: the repository: GitHub kept failing after 2 retries (too many 502 error responses)"
    )


def test_a_secondary_rate_limit_honours_retry_after(replay):
    replay.state.reset(Faults(secondary_limit_first=1, retry_after=1))
    started = time.monotonic()
    snapshot = make_source(replay.url).fetch("flashinfer-ai/flashinfer", *window(date(2026, 1, 28)))
    assert time.monotonic() - started >= 1
    assert len(snapshot.commits) == 3 and replay.state.statuses()[0] == 403


def test_an_exhausted_rate_limit_far_from_reset_is_a_clear_message(replay):
    replay.state.reset(Faults(rate_limit_after=2, rate_limit_reset_in=3600))
    started = time.monotonic()
    with pytest.raises(SourceError) as failure:
        make_source(replay.url).fetch("vllm-project/vllm", *window(date(2026, 1, 29)))
    assert time.monotonic() - started < 5  # it does not sit and wait for an hour
    reset = replay.state.rate_limit_reset_at
    expected = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    message = str(failure.value)
    assert message.startswith("vllm-project/vllm: commit ")
    assert f"GitHub rate limit exhausted; it resets at {expected}" in message
    assert "GITHUB_TOKEN" in message and "Traceback" not in message


def test_an_exhausted_rate_limit_about_to_reset_is_waited_for(replay):
    replay.state.reset(Faults(rate_limit_after=2, rate_limit_reset_in=1))
    snapshot = make_source(replay.url, max_rate_limit_wait=10).fetch(
        "flashinfer-ai/flashinfer", *window(date(2026, 1, 28))
    )
    assert len(snapshot.commits) == 3
    assert 403 in replay.state.statuses()


@pytest.mark.parametrize(
    ("where", "step"),
    [
        ("/commits?", "the commit list"),
        ("/commits/67fc0a15", "commit 67fc0a152d6b"),
        ("/issues?", "the issue list"),
    ],
)
def test_a_malformed_body_is_a_clear_error(replay, where, step):
    replay.state.reset(Faults(malformed=where))
    with pytest.raises(SourceError) as failure:
        make_source(replay.url).fetch("flashinfer-ai/flashinfer", *window(date(2026, 1, 28)))
    assert str(failure.value).startswith(f"flashinfer-ai/flashinfer: {step}: GitHub sent a malformed answer")


def test_an_unknown_repository(replay):
    with pytest.raises(SourceError, match="acme/nothing: the repository: not found on GitHub"):
        make_source(replay.url).fetch("acme/nothing", *window(date(2026, 1, 28)))


def test_an_unreachable_api():
    with pytest.raises(SourceError, match=r"cannot reach the GitHub API at http://127\.0\.0\.1:9"):
        make_source("http://127.0.0.1:9", retries=0).fetch("vllm-project/vllm", *window(date(2026, 1, 28)))


@pytest.mark.parametrize("full_name", ["../../user", "acme/x?per_page=1", "acme", "acme/x/y", "a b/c"])
def test_a_name_github_could_not_have_is_refused_before_any_request(replay, full_name):
    source = make_source(replay.url)
    with pytest.raises(SourceError, match="not an OWNER/NAME GitHub repository"):
        source.fetch(full_name, datetime(2026, 1, 28, tzinfo=UTC), datetime(2026, 1, 29, tzinfo=UTC))
    with pytest.raises(SourceError, match="not an OWNER/NAME GitHub repository"):
        source.repository(full_name)
    assert replay.state.log == []
