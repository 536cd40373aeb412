"""The offline analyzer on the bundled days: real, deterministic text in both languages."""

from datetime import date

import pytest

from newsletter.analysis.diffs import is_verbatim, language_for, patch_for
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.gather import day_input

pytestmark = pytest.mark.django_db


def draft_for(day, language):
    data = day_input(day, language)
    return data, HeuristicAnalyzer().analyze(data)


def items(draft):
    return {item.sha[:7]: item for section in draft.sections for item in section.highlights}


def test_it_is_deterministic(collected):
    _, first = draft_for(date(2026, 1, 29), "zh")
    _, second = draft_for(date(2026, 1, 29), "zh")
    assert first == second


def test_items_in_chinese_and_english(collected):
    _, zh = draft_for(date(2026, 1, 28), "zh")
    _, en = draft_for(date(2026, 1, 28), "en")
    bitblas_zh, bitblas_en = items(zh)["247d1a3"], items(en)["247d1a3"]
    assert bitblas_zh.category == bitblas_en.category == "Deprecation"
    assert bitblas_zh.risk == "high" and bitblas_zh.breaking
    assert "删除了公开符号" in bitblas_zh.impact and "BitBLAS" in bitblas_zh.impact
    assert bitblas_en.impact.startswith("Removes the public symbols")
    assert "共改动 15 个文件" in bitblas_zh.details and "Touches 15 files" in bitblas_en.details
    assert "Signed-off-by" not in bitblas_zh.details


def test_a_revert_says_what_it_undoes(collected):
    _, draft = draft_for(date(2026, 1, 28), "zh")
    revert = items(draft)["2e8de86"]
    assert revert.category == "Revert" and revert.risk == "high"
    assert revert.title == "Enable Cross layers KV cache layout at NIXL Connector"
    assert revert.impact.startswith("回退了 #30207（Enable Cross layers KV cache layout at NIXL Connector）引入的改动")


def test_code_details_are_verbatim_with_the_right_language(collected):
    data, draft = draft_for(date(2026, 1, 29), "en")
    snippets = 0
    for section, repo in zip(draft.sections, data.repos, strict=True):
        for item in section.highlights:
            for snippet in item.snippets:
                snippets += 1
                assert is_verbatim(snippet.code, patch_for(repo.commit(item.sha).files, snippet.path))
                assert snippet.language == language_for(snippet.path)
                assert len(snippet.code.splitlines()) <= 15
                assert "/test" not in snippet.path and not snippet.path.startswith("tests/")
    assert snippets >= 10


def test_ci_and_test_only_changes_are_low_risk(collected):
    _, draft = draft_for(date(2026, 1, 29), "en")
    perf = items(draft)["c4e744d"]  # [Perf] Optimize `moe_permute` for CUTLASS FP8: kernels
    assert perf.risk == "medium" and "benchmark" in perf.impact


def test_assessment_issues_summary_and_conclusions(collected):
    _, draft = draft_for(date(2026, 1, 29), "zh")
    flashinfer, sglang, _vllm = draft.sections
    assert flashinfer.assessment.startswith("今日没有新的提交。")
    assert [issue.number for issue in flashinfer.issues] == [2440]
    assert flashinfer.issues[0].why.startswith("缺陷报告（bug, op: misc）：We have received a report")
    assert sglang.assessment.startswith("今日合入 26 个提交（+10004/−10634 行，22 位作者）")
    assert [s.lead for s in draft.summary] == ["FlashInfer", "SGLang", "vLLM"]
    assert all(s.lead and "**" not in s.text + s.lead for s in draft.summary + draft.conclusions)
    assert all(statement.cites for statement in draft.summary + draft.conclusions)
    assert 1 <= len(draft.conclusions) <= 6
