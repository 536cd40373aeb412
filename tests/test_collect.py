"""`collect`: a day of every repository into rows, idempotently, one repository's failure isolated."""

import subprocess
import sys
from datetime import date
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from newsletter.models import CollectRun, Commit, Issue, Repository
from replay.server import Faults

pytestmark = pytest.mark.django_db


def collect(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("collect", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rows() -> tuple[list, list]:
    commits = [model_to_dict(c) | {"id": c.id} for c in Commit.objects.order_by("id")]
    issues = [model_to_dict(i) | {"id": i.id} for i in Issue.objects.order_by("id")]
    return commits, issues


def counts(model) -> dict[str, int]:
    return {r.full_name: model.objects.filter(repository=r).count() for r in Repository.objects.all()}


def test_collect_stores_the_day_and_says_what_it_cost(replay):
    out, err = collect("--date", "2026-01-29")
    assert counts(Commit) == {"flashinfer-ai/flashinfer": 0, "sgl-project/sglang": 26, "vllm-project/vllm": 45}
    assert counts(Issue) == {"flashinfer-ai/flashinfer": 1, "sgl-project/sglang": 26, "vllm-project/vllm": 45}
    lines = out.splitlines()
    assert len(lines) == 3 and err == ""
    vllm = next(line for line in lines if line.startswith("vllm-project/vllm"))
    assert "45 commits" in vllm and "45 issues" in vllm and "48 requests" in vllm
    runs = CollectRun.objects.filter(status=CollectRun.Status.SUCCEEDED)
    assert sorted(runs.values_list("commits", "requests")) == [(0, 3), (26, 29), (45, 48)]


def test_a_commit_row_holds_what_reports_need(replay):
    collect("--date", "2026-01-28", "--repo", "flashinfer-ai/flashinfer")
    commit = Commit.objects.get(sha__startswith="67fc0a15")
    assert commit.title == "refactor: simplify fp4 rmsnorm (#2421)"
    assert commit.pr_number == 2421 and commit.short_sha == "67fc0a1"
    assert (commit.additions, commit.deletions) == (1223, 2531)
    assert commit.message.startswith("refactor: simplify fp4 rmsnorm (#2421)\n")
    assert {"path", "status", "additions", "deletions", "patch", "previous_path"} == set(commit.files[0])
    assert Commit.objects.on_day(date(2026, 1, 28)).count() == 3


def test_a_second_run_leaves_the_same_rows(replay):
    collect("--date", "2026-01-28")
    before = rows()
    collect("--date", "2026-01-28")
    assert rows() == before
    assert CollectRun.objects.count() == 6


def test_one_failing_repository_never_loses_the_others(replay):
    # The second commit detail of vLLM that day comes back truncated: vLLM must store nothing.
    replay.state.reset(Faults(malformed="/repos/vllm-project/vllm/commits/c6e7404c"))
    with pytest.raises(CommandError, match=r"^1 of 3 repositories failed: vllm-project/vllm$"):
        collect("--date", "2026-01-29")
    assert counts(Commit) == {"flashinfer-ai/flashinfer": 0, "sgl-project/sglang": 26, "vllm-project/vllm": 0}
    assert counts(Issue)["vllm-project/vllm"] == 0
    failed = CollectRun.objects.get(status=CollectRun.Status.FAILED)
    assert failed.repository.full_name == "vllm-project/vllm"
    assert failed.error.startswith("vllm-project/vllm: commit c6e7404cc571: GitHub sent a malformed answer")
    assert failed.requests > 0


def test_a_failed_rerun_keeps_what_an_earlier_run_stored(replay):
    collect("--date", "2026-01-29", "--repo", "vllm-project/vllm")
    before = rows()
    replay.state.reset(Faults(malformed="/issues"))
    with pytest.raises(CommandError):
        collect("--date", "2026-01-29", "--repo", "vllm-project/vllm")
    assert rows() == before


def test_the_failure_is_named_on_stderr(replay):
    replay.state.reset(Faults(rate_limit_after=0))
    with pytest.raises(CommandError):
        out, err = StringIO(), StringIO()
        call_command("collect", "--date", "2026-01-29", "--repo", "sgl-project/sglang", stdout=out, stderr=err)
    assert "sgl-project/sglang" in err.getvalue() and "rate limit exhausted; it resets at" in err.getvalue()


def test_repo_option_picks_repositories_in_any_case(replay):
    collect("--date", "2026-01-29", "--repo", "SGL-Project/SGLang")
    assert counts(Commit) == {"flashinfer-ai/flashinfer": 0, "sgl-project/sglang": 26, "vllm-project/vllm": 0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "--date: expected a date as YYYY-MM-DD, got '2026-13-01'"),
        (["--date", "yesterday"], "--date: expected a date as YYYY-MM-DD, got 'yesterday'"),
        (["--date", "2999-01-01"], "--date: 2999-01-01 has not begun yet in Asia/Shanghai"),
        (["--date", "2026-01-29", "--repo", "acme/nothing"], "--repo: unknown repository 'acme/nothing' (known: "),
        (["--date", "2026-01-29", "--repo", "vllm"], "--repo: unknown repository 'vllm'"),
    ],
)
def test_bad_input_is_a_clear_error_and_stores_nothing(replay, args, message):
    with pytest.raises(CommandError) as failure:
        collect(*args)
    assert str(failure.value).startswith(message)
    assert not Commit.objects.exists() and not CollectRun.objects.exists()
    assert replay.state.log == []


def test_no_enabled_repository(replay):
    Repository.objects.update(enabled=False)
    with pytest.raises(CommandError, match="no enabled repository"):
        collect("--date", "2026-01-29")


def test_a_bad_date_is_one_line_on_the_command_line():
    result = subprocess.run(
        [sys.executable, "manage.py", "collect", "--date", "2026-02-30"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: --date: expected a date as YYYY-MM-DD, got '2026-02-30'"
    ]


def test_the_progress_bar_shows_only_on_a_terminal(capsys):
    from newsletter.management.arguments import progress_bar

    class Terminal(StringIO):
        def isatty(self):
            return True

    with progress_bar("vllm-project/vllm", StringIO()) as update:
        update(1, 2)
    assert capsys.readouterr().err == ""
    with progress_bar("vllm-project/vllm", Terminal()) as update:
        update(1, 2)
    assert "vllm-project/vllm" in capsys.readouterr().err


def test_collecting_today_says_the_day_is_not_over(replay):
    from newsletter.days import today

    out, _ = collect("--date", today().isoformat())
    assert f"note: {today()} is not over yet in Asia/Shanghai" in out
    assert "collect the day again once it has ended" in out
    out, _ = collect("--date", "2026-01-29")
    assert "not over" not in out
