"""The offline analyzer on the bundled days: real, deterministic text in both languages, every
sentence from a fact, no sentence frame repeated, Chinese prose in Chinese."""

import re
import sys
from datetime import date
from pathlib import Path

import pytest

from newsletter.analysis.diffs import is_verbatim, language_for, patch_for
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.build import check_draft
from newsletter.gather import day_input
from newsletter.render.markdown import render_markdown
from newsletter.store import store_draft

pytestmark = pytest.mark.django_db
DAYS = (date(2026, 1, 28), date(2026, 1, 29))


def draft_for(day, language):
    data = day_input(day, language)
    return data, HeuristicAnalyzer().analyze(data)


def items(draft):
    return {item.sha[:7]: item for section in draft.sections for item in section.highlights}


def quality():
    """benchmarks/quality.py's measures, the same functions the benchmark reports."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import quality as measures

    return measures


def test_it_is_deterministic(collected):
    _, first = draft_for(date(2026, 1, 29), "zh")
    _, second = draft_for(date(2026, 1, 29), "zh")
    assert first == second


def test_items_in_chinese_and_english(collected):
    data, zh = draft_for(date(2026, 1, 28), "zh")
    _, en = draft_for(date(2026, 1, 28), "en")
    bitblas_zh, bitblas_en = items(zh)["247d1a3"], items(en)["247d1a3"]
    assert bitblas_zh.category == bitblas_en.category == "Deprecation"
    assert (bitblas_zh.title, bitblas_en.title) == ("移除 BitBlas", "Remove BitBlas")
    assert bitblas_zh.risk == "high" and bitblas_zh.breaking and bitblas_zh.verdict == bitblas_en.verdict == "risk"
    assert bitblas_zh.breaking_surface.startswith("`QuantizationMethods` 不再接受 `bitblas`")
    assert bitblas_en.breaking_surface.startswith("`QuantizationMethods` no longer accepts `bitblas`")
    assert "`QuantizationMethods` 的可选值里去掉了 `bitblas`、`gptq_bitblas`" in bitblas_zh.details
    assert "升级前需要换成其他取值" in bitblas_zh.impact and "must switch to another value" in bitblas_en.impact
    assert "个文件" not in bitblas_zh.details and "files" not in bitblas_en.details  # counts are in the table
    verdict = data.repos[2].triage.verdicts[bitblas_zh.sha]
    assert bitblas_zh.topics == list(verdict.topics) and bitblas_en.selection_reason == verdict.reason
    assert bitblas_zh.selection_reason.startswith("公开接口变化（")


def test_a_revert_says_what_it_undoes_and_never_that_it_fixes(collected):
    _, zh = draft_for(date(2026, 1, 28), "zh")
    _, en = draft_for(date(2026, 1, 28), "en")
    revert, english = items(zh)["2e8de86"], items(en)["2e8de86"]
    assert revert.category == "Revert" and revert.risk == "high" and revert.verdict == "risk"
    assert not revert.breaking  # a revert is not a breaking change unless a public surface goes
    assert revert.title == "回退「在 NIXL Connector 中启用 Cross layers KV cache 布局」"
    assert english.title == 'Revert "Enable Cross layers KV cache layout at NIXL Connector"'
    assert revert.details.startswith("撤销 #30207（在 NIXL Connector 中启用 Cross layers KV cache 布局）的改动")
    assert revert.impact.startswith("#30207 带来的能力随本次回退被撤下")
    assert "#33241" not in revert.impact + revert.verdict_reason  # its own pull request
    assert "修复" not in revert.impact + revert.verdict_reason and "fix" not in english.impact.lower()


def test_code_details_are_verbatim_with_the_right_language_and_a_note(collected):
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
                assert snippet.note
    assert snippets >= 10


def test_kernel_numerics_are_watched_and_fixes_say_who(collected):
    _, zh = draft_for(date(2026, 1, 29), "zh")
    _, en = draft_for(date(2026, 1, 29), "en")
    kernel = items(zh)["c4e744d"]  # [Perf] Optimize `moe_permute` for CUTLASS FP8: a kernel rewritten
    assert kernel.risk == "medium" and kernel.verdict == "watch" and "重跑精度与性能回归" in kernel.impact
    assert "rerun accuracy" in items(en)["c4e744d"].impact
    race = items(zh)["d09135f"]
    assert (
        race.verdict == "positive"
        and race.impact == "使用 EPLB（专家负载均衡）的部署此前可能遇到竞态条件，升级后即可修复。"
    )
    marlin = items(zh)["53fc166"]  # [BugFix] Fix EPLB fail for MoeFP4 model with Marlin backend
    assert marlin.impact == "使用 Marlin、EPLB（专家负载均衡）的部署此前可能遇到运行失败，升级后即可修复。"


def test_assessment_issues_summary_and_conclusions(collected):
    _, draft = draft_for(date(2026, 1, 29), "zh")
    flashinfer, sglang, _vllm = draft.sections
    assert flashinfer.assessment == "今日没有新的提交；另有 1 个新 Issue，见 Issues 看点。"
    assert [issue.number for issue in flashinfer.issues] == [2440]
    why = flashinfer.issues[0].why
    assert why.startswith("缺陷报告称 `mxfp8_quantize()` 会输出 NaN") and "We have received" not in why
    assert sglang.assessment.startswith("26 个提交中有 8 项值得细看，集中在")
    leads = [s.lead for s in draft.summary]
    assert "SGLang" not in leads and "vLLM" not in leads  # themes, not repositories
    repositories = {s.lead: {sha for sha in s.cites} for s in draft.summary}
    shas = {c.sha: section.repository.name for section in draft.sections for c in section.highlights}
    assert any(len({shas[sha] for sha in cites}) == 2 for cites in repositories.values())
    assert all(s.lead and "**" not in s.text + s.lead for s in draft.summary + draft.conclusions)
    assert all(statement.cites for statement in draft.summary + draft.conclusions)
    assert 1 <= len(draft.conclusions) <= 6
    assert draft.conclusions[-1].cites == ["flashinfer-ai/flashinfer#2440"]


def test_english_headlines_are_clean_and_nothing_is_stray(collected):
    for day in DAYS:
        for language in ("zh", "en"):
            _, draft = draft_for(day, language)
            texts = [s.text for s in draft.summary + draft.conclusions]
            for section in draft.sections:
                texts.append(section.assessment)
                texts += [i.why for i in section.issues]
                for item in section.highlights:
                    assert not re.search(r"\(#\d+\)|^\[", item.title), item.title
                    texts += [item.title, item.details, item.impact, item.verdict_reason]
            for text in texts:
                prose = re.sub(r"`[^`]*`", "C", text)
                assert not re.search(r"另有 -|[：:，,、；;]\s*-\s*[。.；;，,]|\{\w+\}|\bNone\b|\s[，。；]", prose), text


@pytest.mark.parametrize("day", DAYS)
def test_the_chinese_issue_reads_as_chinese_and_repeats_no_sentence_frame(collected, day):
    measures = quality()
    for language in ("zh", "en"):
        data = day_input(day, language)
        draft = HeuristicAnalyzer().analyze(data)
        check_draft(draft, data)
        assert draft.dropped == {}
        markdown = render_markdown(store_draft(draft, data))
        if language == "zh":
            assert measures.cjk_share(markdown) >= 0.55
        count, frame = measures.most_repeated_frame(markdown, language)
        assert count <= 4, frame
        highlights = [item for section in draft.sections for item in section.highlights]
        assert sum(measures.states_a_fact(item.details) for item in highlights) >= 0.8 * len(highlights)
        assert sum(item.breaking for item in highlights) <= len(highlights) / 4
