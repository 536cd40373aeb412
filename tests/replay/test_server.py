"""The replay server speaks enough of the GitHub REST API for PyGithub, faults included."""

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from replay.server import Faults, ReplayServer
from tests.conftest import BUNDLED
from tests.replay_folders import sha_for, write_repo
from tests.smtp_server import free_port

VLLM = "/repos/vllm-project/vllm"


def get(server, path, **kwargs):
    return requests.get(server.url + path, timeout=5, **kwargs)


def test_repository_object_points_at_the_server(replay):
    answer = get(replay, VLLM)
    assert answer.status_code == 200
    body = answer.json()
    assert body["full_name"] == "vllm-project/vllm"
    assert body["default_branch"] == "main"
    assert body["url"] == f"{replay.url}{VLLM}"
    assert "api.github.com" not in answer.text


def test_commit_list_filters_on_committer_date_with_inclusive_bounds(replay):
    params = {"since": "2026-01-28T16:00:00Z", "until": "2026-01-29T16:00:00Z", "per_page": 100}
    commits = get(replay, f"{VLLM}/commits", params=params).json()
    dates = [c["commit"]["committer"]["date"] for c in commits]
    assert len(commits) == 45
    assert all("2026-01-28T16:00:00Z" <= d <= "2026-01-29T16:00:00Z" for d in dates)
    assert dates == sorted(dates, reverse=True)  # newest first, as GitHub lists them


def test_pages_carry_link_headers(replay):
    first = get(replay, f"{VLLM}/commits", params={"per_page": 30})
    assert len(first.json()) == 30
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.links["next"]["url"]
    last_url = first.links["last"]["url"]
    last = requests.get(last_url, timeout=5)
    assert 'rel="next"' not in last.headers["Link"] and 'rel="prev"' in last.headers["Link"]
    one_page = get(replay, f"{VLLM}/commits", params={"per_page": 100})
    assert len(one_page.json()) == 76 and "Link" not in one_page.headers


def test_commit_detail_has_files_and_patches(replay):
    listed = get(replay, f"{VLLM}/commits", params={"per_page": 1}).json()[0]
    detail = get(replay, f"{VLLM}/commits/{listed['sha']}").json()
    assert detail["sha"] == listed["sha"]
    assert detail["stats"]["total"] >= 0 and detail["files"]
    assert get(replay, f"{VLLM}/commits/{listed['sha'][:10]}").json()["sha"] == listed["sha"]


def test_issue_list_honours_state_since_and_sort(replay):
    closed = get(replay, "/repos/flashinfer-ai/flashinfer/issues", params={"state": "closed"}).json()
    assert closed and all(i["state"] == "closed" for i in closed)
    assert get(replay, "/repos/flashinfer-ai/flashinfer/issues").json() == []  # default: open only
    since = get(replay, f"{VLLM}/issues", params={"state": "all", "since": "2026-01-29T12:00:00Z"}).json()
    assert since and all(i["updated_at"] >= "2026-01-29T12:00:00Z" for i in since)
    by_update = get(replay, f"{VLLM}/issues", params={"state": "all", "sort": "updated", "per_page": 100}).json()
    updated = [i["updated_at"] for i in by_update]
    assert updated == sorted(updated, reverse=True)
    number = by_update[0]["number"]
    assert get(replay, f"{VLLM}/issues/{number}").json()["number"] == number


def test_etag_and_if_none_match_answer_304(replay):
    first = get(replay, f"{VLLM}/commits")
    etag = first.headers["ETag"]
    again = get(replay, f"{VLLM}/commits", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    other_page = get(replay, f"{VLLM}/commits", params={"page": 2}, headers={"If-None-Match": etag})
    assert other_page.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/repos/nobody/nothing",
        f"{VLLM}/commits/{'f' * 40}",
        f"{VLLM}/commits/not-a-sha",
        f"{VLLM}/issues/999999",
        "/repos/vllm-project/..%2F..%2Fetc/commits",
        "/users/octocat",
    ],
)
def test_what_it_lacks_is_a_404(replay, path):
    answer = get(replay, path)
    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"


def test_bad_parameters_are_a_422(replay):
    assert get(replay, f"{VLLM}/commits", params={"since": "yesterday"}).status_code == 422
    assert get(replay, f"{VLLM}/commits", params={"per_page": "ten"}).status_code == 422
    assert get(replay, f"{VLLM}/issues", params={"state": "merged"}).status_code == 422


def test_rate_limit_headers_on_every_answer(replay):
    headers = get(replay, VLLM).headers
    assert int(headers["X-RateLimit-Remaining"]) < int(headers["X-RateLimit-Limit"])


def test_fault_first_requests_answer_502(replay):
    replay.state.reset(Faults(fail_first=2))
    assert [get(replay, VLLM).status_code for _ in range(3)] == [502, 502, 200]


def test_fault_primary_rate_limit_until_reset(replay):
    replay.state.reset(Faults(rate_limit_after=1, rate_limit_reset_in=1))
    assert get(replay, VLLM).status_code == 200
    limited = get(replay, VLLM)
    assert limited.status_code == 403
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert abs(int(limited.headers["X-RateLimit-Reset"]) - time.time()) <= 2
    assert limited.json()["message"].startswith("API rate limit exceeded")
    time.sleep(1.1)
    assert get(replay, VLLM).status_code == 200  # the reset came


def test_fault_secondary_rate_limit_has_retry_after(replay):
    replay.state.reset(Faults(secondary_limit_first=1, retry_after=7))
    limited = get(replay, VLLM)
    assert limited.status_code == 403 and limited.headers["Retry-After"] == "7"
    assert "secondary rate limit" in limited.json()["message"]


def test_fault_malformed_body(replay):
    replay.state.reset(Faults(malformed="/issues"))
    answer = get(replay, f"{VLLM}/issues")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)
    assert get(replay, VLLM).json()["name"] == "vllm"


def test_a_folder_of_its_own_with_a_non_default_ref_and_per_page_capped(tmp_path):
    base = datetime(2026, 1, 28, tzinfo=UTC)
    write_repo(tmp_path, "acme/tool", [(sha_for(i), base + timedelta(minutes=i), f"change {i}") for i in range(150)])
    with ReplayServer(tmp_path) as server:
        capped = get(server, "/repos/acme/tool/commits", params={"per_page": 500})
        assert len(capped.json()) == 100 and "page=2" in capped.links["next"]["url"]
        assert [c["sha"] for c in get(server, "/repos/acme/tool/commits", params={"sha": sha_for(1)}).json()] == [
            sha_for(1),
            sha_for(0),
        ]
        assert get(server, "/repos/acme/tool/commits", params={"sha": "feature-branch"}).status_code == 404


def test_command_line_serves_a_folder():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sources.replay", str(BUNDLED), "--port", str(port), "--fail-first", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"127.0.0.1:{port}" in process.stdout.readline()
        url = f"http://127.0.0.1:{port}{VLLM}"
        assert requests.get(url, timeout=5).status_code == 502
        assert requests.get(url, timeout=5).json()["full_name"] == "vllm-project/vllm"
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_command_line_rejects_a_missing_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sources.replay", str(tmp_path / "absent")], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "replay folder not found" in result.stderr
