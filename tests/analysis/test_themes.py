"""The day by theme: what two repositories share is one statement citing both; conclusions say what to do."""

from newsletter.analysis.draft import IssueDraft, ItemDraft
from newsletter.analysis.facts import Fact
from newsletter.analysis.themes import Entry, assessment, conclusions, keys_of, summary


def entry(repo, sha, title, headline, category="Feature", facts=(), **fields):
    item = ItemDraft(sha=sha, category=category, title=headline, details="", impact="", risk="low", breaking=False,
                     snippets=[], score=50, **fields)  # fmt: skip
    return Entry(repo, item, title, list(facts))


ROCM_SGLANG = entry("SGLang", "a" * 40, "[AMD] Add aiter fused MoE for MI355", "为 MI355 新增 aiter fused MoE")
ROCM_VLLM = entry("vLLM", "b" * 40, "[ROCm] Enable FP8 KV cache on ROCm", "在 ROCm 上启用 FP8 KV cache")
QWEN = entry("vLLM", "c" * 40, "[Model] Support Qwen3-Next", "支持 Qwen3-Next", category="Model",
             facts=[Fact("model_registered", ("Qwen3NextForCausalLM",))])  # fmt: skip
KERNEL = entry("SGLang", "d" * 40, "[Perf] Rewrite the decode attention kernel", "改写 decode attention kernel",
               category="Perf", facts=[Fact("kernel_touched", ("decode_kernel",))], verdict="watch")  # fmt: skip


def test_a_theme_two_repositories_share_is_one_statement_citing_both():
    statements = summary([ROCM_SGLANG, QWEN, ROCM_VLLM, KERNEL], "zh")
    rocm = statements[0]
    assert rocm.lead == "AMD ROCm 平台"
    assert set(rocm.cites) == {ROCM_SGLANG.item.sha, ROCM_VLLM.item.sha}
    assert rocm.text.startswith("SGLang 为 MI355 新增 aiter fused MoE；vLLM 在 ROCm 上启用 FP8 KV cache")
    assert "2 个项目同一天都在推进 AMD ROCm 平台" in rocm.text
    told = [sha for s in statements for sha in s.cites]
    assert len(told) == len(set(told)), "an item is told under one theme only"
    english = summary([ROCM_SGLANG, QWEN, ROCM_VLLM, KERNEL], "en")[0]
    assert english.lead == "AMD ROCm" and english.text.startswith("SGLang: 为 MI355")  # headlines are the items' own


def test_theme_keys_come_from_the_title_and_the_facts():
    assert ("platform", "AMD ROCm") in keys_of(ROCM_SGLANG) and ("component", "moe") in keys_of(ROCM_SGLANG)
    assert ("dtype", "FP8") in keys_of(ROCM_VLLM)
    assert ("model", "Qwen") in keys_of(QWEN) and ("new_models", "") in keys_of(QWEN)


def test_conclusions_say_what_to_do_and_cite_what_they_are_about():
    issue = IssueDraft(number=7, title="Crash on B200", why="缺陷报告称 `decode()` 会崩溃。")
    found = conclusions([ROCM_SGLANG, QWEN, ROCM_VLLM, KERNEL], [("SGLang", "o/sglang", issue)], "zh")
    leads = [s.lead for s in found]
    assert leads[0] == "重跑精度回归" and found[0].cites == [KERNEL.item.sha]
    assert "新模型可用" in leads and leads[-1] == "跟进未修复的 Issue"
    assert found[-1].cites == ["o/sglang#7"] and found[-1].text.startswith("SGLang #7：缺陷报告称 `decode()` 会崩溃")
    fixed = IssueDraft(number=8, title="x", why="y", fixed_by="e" * 40)
    assert all(s.lead != "跟进未修复的 Issue" for s in conclusions([], [("SGLang", "o/sglang", fixed)], "zh"))


def test_a_repository_assessment_names_its_themes_not_a_category_count():
    text = assessment("vLLM", {"commits": 12}, [ROCM_VLLM, QWEN], [], "zh")
    assert text.startswith("12 个提交中有 2 项值得细看，集中在")
    assert "AMD ROCm 平台" in text and "个缺陷修复" not in text
    assert assessment("FlashInfer", {"commits": 0}, [], [IssueDraft(1, "t", "w")], "zh") == (
        "今日没有新的提交；另有 1 个新 Issue，见 Issues 看点。"
    )


def test_an_acronym_keeps_its_case_mid_sentence(collected):
    from datetime import date

    from newsletter.analysis.heuristic import HeuristicAnalyzer
    from newsletter.gather import day_input

    draft = HeuristicAnalyzer().analyze(day_input(date(2026, 1, 28), "en"))
    texts = " ".join(statement.text for statement in draft.summary)
    assert "touched MoE" in texts and "moE" not in texts
    assert "touched multimodal" in texts


def test_an_english_assessment_names_breaking_items_by_their_headlines():
    broken = entry("vLLM", "e" * 40, "[Deprecation] Remove BitBlas", "Remove BitBlas")
    gone = entry("vLLM", "f" * 40, "[Deprecation] Remove Marlin 24", "Remove Marlin 24")
    broken.item.breaking = gone.item.breaking = True
    moe = entry("vLLM", "1" * 40, "[MoE] Faster MoE routing", "Faster MoE routing",
                facts=[Fact("kernel_touched", ("moe_align",))])  # fmt: skip
    text = assessment("vLLM", {"commits": 9}, [broken, gone, moe], [IssueDraft(1, "t", "w")], "en")
    assert "2 of them change a public surface (Remove BitBlas; Remove Marlin 24), so check before upgrading" in text
    assert "one new issue" in text and "issue(s)" not in text and "moE" not in text
    one = assessment("vLLM", {"commits": 9}, [broken], [], "en")
    assert "one of them changes a public surface (Remove BitBlas)" in one
