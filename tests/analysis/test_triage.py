"""Triage on the bundled days: what gets highlighted, what goes to the table, and the rules."""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from newsletter.analysis.triage import HIGHLIGHT_MIN, NEVER_LOW, NOISE_CAP, judge, parse_title, triage
from newsletter.models import Commit, Repository

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
    assert set(result.floor) == set(result.highlighted)  # three commits or fewer: all of them, always


BUNDLED = [(name, date(2026, 1, day)) for name in ("vllm", "sglang", "flashinfer") for day in (28, 29)]


@pytest.mark.parametrize(("name", "day"), BUNDLED)
def test_every_commit_once_and_what_a_selection_call_needs(collected, name, day):
    commits = day_of(name, day)
    repository = Repository.objects.get(name=name).full_name
    result = triage(commits, limit=8, repository=repository)
    check_each_commit_once(result, commits)
    assert sorted(result.ranked) == sorted(c.sha for c in commits)  # no stories on these days
    assert [sha for sha in result.ranked if sha in result.highlighted] == result.highlighted
    assert set(result.floor) <= set(result.highlighted) and len(result.highlighted) <= 8
    scores = [result.verdicts[sha].score for sha in result.ranked]
    assert scores == sorted(scores, reverse=True)
    for verdict in result.verdicts.values():
        assert verdict.reason and "\n" not in verdict.reason
        assert verdict.breaking == bool(verdict.surface)


def test_breaking_is_a_public_surface_and_a_minority(collected):
    flagged, highlights = {}, 0
    for name, day in BUNDLED:
        repository = Repository.objects.get(name=name).full_name
        result = triage(day_of(name, day), limit=8, repository=repository)
        highlights += len(result.highlighted)
        flagged.update(
            {sha[:7]: result.verdicts[sha].surface for sha in result.highlighted if result.verdicts[sha].breaking}
        )
    assert flagged == {
        "247d1a3": "accepted value `bitblas` of `QuantizationMethods` removed; "
        "accepted value `gptq_bitblas` of `QuantizationMethods` removed",
        "af9b69f": "accepted value `gptq_marlin_24` of `QuantizationMethods` removed; exported name "
        "`CompressedTensorsW4A16Sparse24` removed from "
        "`vllm.model_executor.layers.quantization.compressed_tensors.schemes` (and 1 more)",
        "fb74e43": "exported name `timestep_embedding` removed from `sgl_kernel`",
        "3a92c6f": "registered name `identity` removed from `VIDEO_LOADER_REGISTRY`",
    }
    assert len(flagged) * 4 <= highlights
    # Model-internal helpers, private server-args helpers and parser classes are not public surfaces.
    for name, day, sha in [("vllm", 28, "1cbccb6"), ("sglang", 28, "1507dc6"), ("sglang", 29, "3c34d2c"),
                           ("vllm", 29, "6bf3b46"), ("sglang", 29, "ac16d44"), ("sglang", 28, "647428d")]:  # fmt: skip
        commit = next(c for c in day_of(name, date(2026, 1, day)) if c.sha.startswith(sha))
        assert not judge(commit).breaking, sha


def test_peer_picks_that_the_rules_now_reach(collected):
    """Model support and new options rank high enough to be analyzed (calibration, not a target)."""
    vllm = triage(day_of("vllm", date(2026, 1, 28)), limit=8)
    assert "36d450e" in short(vllm.highlighted)  # a new model file and a registry entry
    sglang = triage(day_of("sglang", date(2026, 1, 29)), limit=8)
    assert {"3c9cc44", "f1384f5", "0769de9"} <= short(sglang.highlighted)  # mxfp8, MoRI EP, a new model


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
    exported = src(
        "vllm/__init__.py", patch="@@ -1,3 +1,2 @@\n from .entry import (\n-    generate_stream,\n     LLM,\n", add=0
    )
    breaking = FakeCommit("4" * 40, "Tidy up", [exported])
    noise = [FakeCommit(f"{n}" * 40, f"[CI] Tweak pipeline {n}", [src(".buildkite/a.yaml")]) for n in range(5, 9)]
    for commit in (revert, critical, security, breaking):
        assert judge(commit).score >= NEVER_LOW and judge(commit).floor, commit.title
    assert judge(breaking).surface == "exported name `generate_stream` removed from `vllm`"
    result = triage([revert, critical, security, breaking, *noise], limit=8)
    assert set(result.highlighted) == set(result.floor) == {c.sha for c in (revert, critical, security, breaking)}


def test_removing_a_module_function_that_nobody_exports_is_not_breaking():
    removed = src(
        "vllm/api.py", patch="@@ -1,3 +1,1 @@\n-def generate_stream(prompt):\n-    return 1\n keep = 1\n", add=0
    )
    verdict = judge(FakeCommit("4" * 40, "Tidy up", [removed]))
    assert verdict.symbols.removed == ("generate_stream",) and not verdict.breaking and not verdict.floor


def test_a_change_its_revert_and_its_redo_are_one_story_told_under_the_newest():
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
    assert list(result.stories) == [redo.sha]
    story = result.stories[redo.sha]
    assert story.members == [(change.sha, "change"), (revert.sha, "revert"), (redo.sha, "redo")]
    assert story.related(redo.sha) == [{"sha": change.sha, "role": "change"}, {"sha": revert.sha, "role": "revert"}]
    assert redo.sha in result.highlighted and redo.sha in result.floor
    assert result.verdicts[redo.sha].category == "Core"  # what it brings back
    assert change.sha not in result.highlighted + result.listed and revert.sha not in result.highlighted + result.listed
    assert result.ranked == [sha for sha in result.ranked if sha not in (change.sha, revert.sha)]
    verdict = result.verdicts[revert.sha]
    assert (verdict.reverts_pr, verdict.reverts_sha) == (100, change.sha)


def test_a_critical_revert_by_number_and_its_redo_are_one_story():
    start = datetime(2026, 1, 29, 1, tzinfo=UTC)
    revert = FakeCommit("5" * 40, "[Critical] Revert #17000 (#17001)", [src()], pr_number=17001, committed_at=start)
    redo = FakeCommit("6" * 40, "[Redo] #17000 (#17050)", [src()], pr_number=17050,
                      committed_at=start + timedelta(hours=5))  # fmt: skip
    fillers = [FakeCommit(f"{n}" * 40, f"[Misc] Small thing {n}", [src()], committed_at=start) for n in (7, 8, 9)]
    result = triage([revert, redo, *fillers], limit=8)
    assert result.stories[redo.sha].members == [(revert.sha, "revert"), (redo.sha, "redo")]
    verdict = result.verdicts[revert.sha]
    assert verdict.category == "Revert" and verdict.reverts_pr == 17000 and "critical" in verdict.signals
    # The next day, the revert is an earlier member: dated, so the renderer can link its issue.
    next_day = replace(redo, committed_at=start + timedelta(days=1))
    story = triage([next_day, *fillers], limit=8, earlier=[revert]).stories[redo.sha]
    assert story.members == [(redo.sha, "redo")]
    assert story.related(redo.sha) == [{"sha": revert.sha, "role": "revert", "day": "2026-01-29", "earlier": True}]


def test_a_commit_never_reverts_itself():
    own_number = FakeCommit("a" * 40, "[Critical] Revert #7 (#7)", [src()], pr_number=7)
    own_sha = FakeCommit("b" * 40, "Undo it (#8)", [src()], pr_number=8, message=f"This reverts commit {'b' * 12}.")
    assert judge(own_number).reverts_pr is None and judge(own_number).reference.prs == ()
    assert judge(own_sha).reference is None
    assert triage([own_number, own_sha], limit=8).stories == {}


def test_a_revert_of_something_outside_the_day_stands_alone():
    revert = FakeCommit("3" * 40, 'Revert "Enable X (#30207)" (#33241)', [src()])
    verdict = judge(revert)
    assert verdict.category == "Revert" and verdict.reverts_pr == 30207 and verdict.reverts_title == "Enable X"
    assert triage([revert], limit=8).stories == {}


def test_low_scores_stay_in_the_table_even_with_room():
    small = FakeCommit("5" * 40, "[Misc] Adjust a log message", [src("vllm/logger.py", add=1)], additions=1)
    others = [FakeCommit(f"{n}" * 40, f"[Core] Change {n}", [src()]) for n in (6, 7, 8)]
    assert judge(small).score < HIGHLIGHT_MIN
    assert triage([small, *others], limit=8).listed == [small.sha]


def test_three_commits_or_fewer_are_all_analyzed_noise_included():
    small = FakeCommit("5" * 40, "[Misc] Adjust a log message", [src("vllm/logger.py", add=1)], additions=1)
    docs = FakeCommit("6" * 40, "[Docs] Fix a link", [src("docs/usage.md")])
    result = triage([small, docs], limit=8)
    assert set(result.highlighted) == set(result.floor) == {small.sha, docs.sha} and result.listed == []
    assert triage([small, docs], limit=1).highlighted == [small.sha]  # the cap still holds


def test_the_pull_request_counts_for_perf_claims_and_explicit_breaking_notes():
    @dataclass
    class PR:
        body: str
        labels: tuple = ()

    commit = FakeCommit("7" * 40, "[Perf] Faster sampler (#9)", [src()], pr_number=9)
    assert "perf-claim" not in judge(commit).signals
    verdict = judge(commit, PR("Decode throughput: 1.35x on H100, TPOT -12%"))
    assert "perf-claim" in verdict.signals and "perf-claim (claims 1.35x)" in verdict.reason
    noted = judge(commit, PR("BREAKING CHANGE: the sampler API changed"))
    assert noted.breaking and noted.surface == "declared breaking in the commit message"
    labelled = judge(commit, PR("", ("bc-breaking",)))
    assert labelled.breaking and labelled.surface == "labelled breaking on the pull request"


def test_the_floor_is_never_cut_even_past_the_limit():
    start = datetime(2026, 1, 29, 1, tzinfo=UTC)
    reverts = [
        FakeCommit(f"{n}" * 40, f'Revert "Tweak part {n} (#{n}0)" (#{n}1)', [src()], committed_at=start)
        for n in (1, 2, 3)
    ]
    change = FakeCommit("4" * 40, "[Misc] Tidy a log line (#400)", [src("vllm/logger.py", add=1)], pr_number=400,
                        additions=1, committed_at=start)  # fmt: skip
    redo = FakeCommit("5" * 40, "Reapply [Misc] Tidy a log line (#400) (#401)", [src("vllm/logger.py", add=1)],
                      pr_number=401, additions=1, committed_at=start + timedelta(hours=1))  # fmt: skip
    result = triage([*reverts, change, redo], limit=2)
    assert set(result.floor) >= {c.sha for c in reverts}  # three reverts over a limit of two: all kept
    assert set(result.highlighted) >= {c.sha for c in reverts}
    assert redo.sha in result.floor and change.sha not in result.listed  # a redo is floor too, told with its change
    assert result.stories[redo.sha].members == [(change.sha, "change"), (redo.sha, "redo")]
