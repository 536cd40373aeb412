"""影响 and 评估 from facts: nothing that can be false, nothing about a revert that is not so."""

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from newsletter.analysis.assess import ItemContext, assess, surface_text
from newsletter.analysis.facts import CommitView, facts_of
from newsletter.analysis.subjects import COMPONENT_LABELS, COMPONENTS, subjects_of
from newsletter.analysis.surfaces import Surface
from newsletter.analysis.triage import triage
from newsletter.gather import day_input

pytestmark = pytest.mark.django_db


def commit(sha, title, files=(), pr_number=None, message=None, minute=0):
    return SimpleNamespace(
        sha=sha,
        title=title,
        message=message or title,
        files=list(files),
        author_login="dev",
        additions=sum(f["additions"] for f in files),
        deletions=sum(f["deletions"] for f in files),
        pr_number=pr_number,
        committed_at=datetime(2026, 1, 29, 3, minute, tzinfo=UTC),
    )


CODE = {"path": "vllm/v1/core/sched/scheduler.py", "status": "modified", "additions": 3, "deletions": 3,
        "patch": "@@ -1,3 +1,3 @@ def schedule(self):\n-    a = 1\n+    a = 2\n"}  # fmt: skip


def context(commits, sha, language):
    result = triage(commits, 8, repository="o/r")
    verdict = result.verdicts[sha]
    this = next(c for c in commits if c.sha == sha)
    story = result.story_of(sha)
    return ItemContext(
        title=this.title,
        verdict=verdict,
        facts=facts_of(CommitView(this.title, this.message, this.files), symbols=verdict.symbols),
        subjects=subjects_of(this.title),
        files=this.files,
        language=language,
        revert_target=f"#{verdict.reverts_pr}" if verdict.reverts_pr else "",
        revert_title=verdict.reverts_title,
        redo=next((s for s, role in (story.members if story else []) if role == "redo" and s != sha), ""),
    )


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_revert_of_a_fix_never_says_it_fixes_anything_nor_names_itself(language):
    revert = commit("b" * 40, 'Revert "[Bugfix] Fix crash in the scheduler (#100)" (#200)', [CODE], pr_number=200)
    judged = assess(context([revert], revert.sha, language))
    said = f"{judged.impact} {judged.reason}"
    assert "#100" in said and "#200" not in said and "bbbbbbb" not in said
    assert not re.search(r"修复|\bfix", said, re.I), said
    assert judged.verdict == "watch"  # a fix withdrawn is a behaviour to watch, not a lost feature


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_revert_of_a_feature_is_a_risk_and_a_redo_is_told(language):
    change = commit("a" * 40, "Add the fast path (#90)", [CODE], pr_number=90, minute=1)
    revert = commit("b" * 40, 'Revert "Add the fast path (#90)" (#91)', [CODE], pr_number=91, minute=2)
    redo = commit("c" * 40, 'Reapply "Add the fast path (#90)" (#92)', [CODE], pr_number=92, minute=3)
    judged = assess(context([change, revert], revert.sha, language))
    assert judged.verdict == "risk" and "#90" in judged.reason and judged.risk == "high"
    assert "#91" not in judged.impact + judged.reason
    ctx = context([change, revert, redo], revert.sha, language)
    ctx.redo = redo.sha
    told = assess(ctx)
    assert told.verdict == "watch" and "ccccccc" in told.impact + told.reason


def test_a_revert_with_nothing_known_about_its_target_names_nothing():
    revert = commit("b" * 40, "[Revert] undo the last change", [CODE], pr_number=300)
    judged = assess(context([revert], revert.sha, "zh"))
    assert "#300" not in judged.impact + judged.reason and "bbbbbbb" not in judged.impact + judged.reason
    assert "一项较早的改动" in judged.reason


def test_every_component_found_has_its_labels():
    assert list(COMPONENT_LABELS) == list(COMPONENTS)


def test_the_breaking_surface_is_translated_with_its_names_verbatim():
    surface = (
        Surface("value_removed", "bitblas", "QuantizationMethods"),
        Surface("flag_renamed", "--foo", new="--bar"),
        Surface("env_removed", "VLLM_A"),
        Surface("env_removed", "VLLM_B"),
    )
    assert surface_text(surface, "zh") == (
        "`QuantizationMethods` 不再接受 `bitblas`、命令行参数 `--foo` 改名为 `--bar`等另外 2 项"
    )
    assert surface_text(surface, "en") == (
        "`QuantizationMethods` no longer accepts `bitblas`, CLI flag `--foo` renamed to `--bar` and 2 more"
    )
    assert surface_text((), "zh") == ""


def test_bundled_items_say_who_is_affected_only_when_the_facts_do(collected):
    from newsletter.analysis.heuristic import item_draft

    older = day_input(date(2026, 1, 28), "zh")
    vllm = older.repos[2]

    def item(prefix, repo=vllm):
        return item_draft(repo, next(c.sha for c in repo.commits if c.sha.startswith(prefix)), "zh")

    revert = item("2e8de86")
    assert revert.verdict == "risk" and revert.impact.startswith("#30207 带来的能力随本次回退被撤下")
    assert "修复" not in revert.impact + revert.verdict_reason
    audio = item("36d450e")  # a new model that also edits a shared module
    assert "共享模块 `audio.py`" in audio.impact and "未触及共享代码" not in audio.impact
    turing = item("66e601e")
    assert (
        turing.verdict == "positive"
        and "SM75（Turing）GPU 现在也能通过 `get_min_capability` 的算力检查" in turing.impact
    )
    bitblas = item("247d1a3")
    assert bitblas.breaking and bitblas.verdict == "risk" and "`bitblas`、`gptq_bitblas`" in bitblas.impact
    newer = day_input(date(2026, 1, 29), "zh")
    race = item("d09135f", newer.repos[2])
    assert race.verdict == "positive" and "竞态条件" in race.impact and "EPLB" in race.impact
    kernel = item("c4e744d", newer.repos[2])
    assert kernel.verdict == "watch" and "`expandInputRowsKernel`" in kernel.impact and "精度" in kernel.impact


def test_a_fix_in_platform_code_says_other_platforms_are_not_affected():
    patch = "@@ -1,2 +1,3 @@ class CpuCommunicator:\n-    n = 1\n+    n = get_threads()\n+    sync(n)\n"
    path = "vllm/distributed/device_communicators/cpu_communicator.py"
    cpu = {"path": path, "status": "modified", "additions": 2, "deletions": 1, "patch": patch}
    fix = commit("d" * 40, "[Bugfix][CPU] Fix thread num for shared memory communication (#5)", [cpu], pr_number=5)
    judged = assess(context([fix], fix.sha, "zh"))
    assert "改动只在 CPU 专用的代码路径中，其他平台不受影响" in judged.impact
