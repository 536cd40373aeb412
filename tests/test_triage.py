"""Triage on the bundled days: what gets highlighted, what goes to the table, and the rules."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from newsletter.analysis.triage import HIGHLIGHT_MIN, NEVER_LOW, NOISE_CAP, judge, parse_title, triage
from newsletter.models import Commit

pytestmark = pytest.mark.django_db


def day_of(name: str, day: date) -> list[Commit]:
    return list(Commit.objects.on_day(day).filter(repository__name=name))


def short(shas) -> set[str]:
    return {sha[:7] for sha in shas}


def check_each_commit_once(result, commits):
    covered = list(result.highlighted) + list(result.listed)
    covered += [sha for story in result.stories.values() for sha, _ in story.members if sha != story.lead]
    assert sorted(covered) == sorted(c.sha for c in commits)


def test_vllm_2026_01_28(collected):
    commits = day_of("vllm", date(2026, 1, 28))
    result = triage(commits, limit=8)
    check_each_commit_once(result, commits)
    highlighted = short(result.highlighted)
    # Removals of deprecated quantization methods and a revert are what upgraders must see.
    assert {"247d1a3", "af9b69f", "2e8de86"} <= highlighted
    assert "3a6d5cb" in highlighted  # [Perf] Optimize dcp allocate tensor
    listed = short(result.listed)
    noise = {
        "5914090",  # [CI] Update job dependency for hardware and CPU jobs
        "ecb4f82",  # [CI] Update job dependency syntax for Intel and AMD jobs
        "2eb673a",  # Add flake8-implicit-str-concat rules to Ruff
        "fb7abfc",  # [docs] Improve tlparse section
        "911b51b",  # [ROCm][CI] Add TORCH_NCCL_BLOCKING_WAIT For Distributed Tests
    }
    assert noise <= listed
    assert all(result.verdicts[c.sha].score <= NOISE_CAP for c in commits if c.sha[:7] in noise)


def test_vllm_2026_01_29(collected):
    commits = day_of("vllm", date(2026, 1, 29))
    result = triage(commits, limit=8)
    check_each_commit_once(result, commits)
    assert len(result.highlighted) == 8
    assert {"c4e744d", "3e44078", "8b3f0a9"} <= short(result.highlighted)  # moe_permute perf, async+PP, Qwen3-ASR
    assert {"31b25f6", "a663b21", "8bdd397", "d697581"} <= short(result.listed)  # typos, CODEOWNERS, CI, doc link


def test_sglang_2026_01_29(collected):
    commits = day_of("sglang", date(2026, 1, 29))
    result = triage(commits, limit=8)
    check_each_commit_once(result, commits)
    assert {"09a9147", "0368ddf", "cbf90d7"} <= short(result.highlighted)  # MOVA, JIT fused_add_rmsnorm, MORI-IO
    assert {"1b22f2e", "cfa09d3"} <= short(result.listed)  # ascend docs, npu image release


def test_flashinfer_2026_01_28_has_room_for_all(collected):
    commits = day_of("flashinfer", date(2026, 1, 28))
    result = triage(commits, limit=8)
    assert short(result.highlighted) == {"e5f63cb", "67fc0a1", "48966b6"} and result.listed == []


def test_the_limit_is_respected(collected):
    commits = day_of("vllm", date(2026, 1, 29))
    result = triage(commits, limit=3)
    assert len(result.highlighted) == 3
    check_each_commit_once(result, commits)


@pytest.mark.parametrize(
    ("title", "tags", "text"),
    [
        ("[Bugfix] Fix P/D with non-MoE DP (#33037)", ("bugfix",), "Fix P/D with non-MoE DP"),
        ("[Quantization][Deprecation] Remove BitBlas (#32683)", ("quantization", "deprecation"), "Remove BitBlas"),
        ("[diffusion] perf: apply mul add fusion (#16299)", ("diffusion", "perf"), "apply mul add fusion"),
        ("feat!: drop the v0 engine", ("feat", "breaking"), "drop the v0 engine"),
        ("fix(scheduler): guard empty batch", ("fix",), "guard empty batch"),
        ("[Hardware][AMD] Enable FP8 on MI300", ("hardware", "amd"), "Enable FP8 on MI300"),
        ("Plain title", (), "Plain title"),
    ],
)
def test_parse_title(title, tags, text):
    parts = parse_title(title)
    assert parts.tags == tags and parts.text == text


# --- rules on synthetic commits -----------------------------------------------------------------
@dataclass
class FakeCommit:
    sha: str
    title: str
    files: list = field(default_factory=list)
    message: str = ""
    author_login: str = "someone"
    additions: int = 10
    deletions: int = 2
    pr_number: int | None = None
    committed_at: datetime = datetime(2026, 1, 29, 3, tzinfo=UTC)

    def __post_init__(self):
        self.message = self.message or self.title


def src(path="vllm/v1/core/sched/scheduler.py", patch="@@ -1 +1,2 @@\n x = 1\n+y = compute(x)\n", add=40):
    return {"path": path, "status": "modified", "additions": add, "deletions": 1, "patch": patch}


def test_noise_never_ranks_high_even_when_big():
    bot = FakeCommit("a" * 40, "Bump dependencies", [src(add=5000)], author_login="dependabot[bot]")
    sync = FakeCommit("b" * 40, "[Misc] Auto-sync from upstream", [src(add=5000)])
    typo = FakeCommit("c" * 40, "Fix typos in scheduler", [src(add=900)])
    readme = FakeCommit("d" * 40, "[Feature] Great new README", [src("README.md", add=900)])
    ci = FakeCommit("e" * 40, "[Perf] Faster CI", [src(".buildkite/test-pipeline.yaml", add=900)])
    for commit in (bot, sync, typo, readme, ci):
        verdict = judge(commit)
        assert verdict.noise and verdict.score <= NOISE_CAP, commit.title
    assert triage([bot, sync, typo, readme, ci], limit=8).highlighted == []


def test_reverts_criticals_security_and_breaking_never_rank_low():
    tiny_docs = [src("docs/usage.md", add=1)]
    revert = FakeCommit("1" * 40, 'Revert "Tweak docs (#10)" (#11)', tiny_docs)
    critical = FakeCommit("2" * 40, "[Critical] Fix docs link", tiny_docs)
    security = FakeCommit("3" * 40, "Fix security issue in docs renderer", tiny_docs)
    removed = src(
        "vllm/api.py", patch="@@ -1,3 +1,1 @@\n-def generate_stream(prompt):\n-    return 1\n keep = 1\n", add=0
    )
    breaking = FakeCommit("4" * 40, "Tidy up", [removed])
    for commit in (revert, critical, security, breaking):
        assert judge(commit).score >= NEVER_LOW, commit.title
    assert judge(breaking).breaking and judge(breaking).symbols.removed == ("generate_stream",)
    assert set(triage([revert, critical, security, breaking], limit=8).highlighted) == {
        c.sha for c in (revert, critical, security, breaking)
    }


def test_a_change_its_revert_and_its_redo_are_one_story():
    start = datetime(2026, 1, 29, 1, tzinfo=UTC)
    change = FakeCommit(
        "1" * 40, "[Core] Enable cross-layer KV blocks (#100)", [src()], pr_number=100, committed_at=start
    )
    other = FakeCommit("2" * 40, "[Bugfix] Fix an unrelated thing (#101)", [src()], pr_number=101,
                       committed_at=start + timedelta(hours=1))  # fmt: skip
    revert = FakeCommit("3" * 40, 'Revert "[Core] Enable cross-layer KV blocks (#100)" (#102)', [src()],
                        pr_number=102, committed_at=start + timedelta(hours=2))  # fmt: skip
    redo = FakeCommit("4" * 40, "Reapply [Core] Enable cross-layer KV blocks (#100) with a guard (#103)", [src()],
                      pr_number=103, committed_at=start + timedelta(hours=3))  # fmt: skip
    result = triage([redo, other, change, revert], limit=8)
    story = result.stories[revert.sha]
    assert story.members == [(change.sha, "change"), (revert.sha, "revert"), (redo.sha, "redo")]
    assert revert.sha in result.highlighted
    assert change.sha not in result.highlighted and redo.sha not in result.highlighted
    assert change.sha not in result.listed and redo.sha not in result.listed
    assert other.sha in result.highlighted or other.sha in result.listed


def test_a_revert_of_something_outside_the_day_stands_alone():
    revert = FakeCommit("3" * 40, 'Revert "Enable X (#30207)" (#33241)', [src()])
    verdict = judge(revert)
    assert verdict.category == "Revert" and verdict.reverts_pr == 30207 and verdict.reverts_title == "Enable X"
    assert triage([revert], limit=8).stories == {}


def test_low_scores_stay_in_the_table_even_with_room():
    small = FakeCommit("5" * 40, "[Misc] Adjust a log message", [src("vllm/logger.py", add=1)], additions=1)
    assert judge(small).score < HIGHLIGHT_MIN
    assert triage([small], limit=8).listed == [small.sha]
