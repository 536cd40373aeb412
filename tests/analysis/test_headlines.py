"""Headlines: the title's verb and object rebuilt in Chinese around names kept as written; English cleaned."""

import pytest

from newsletter.analysis.headlines import clean_title, headline, zh_phrase

CASES = [
    # title, Chinese headline, English headline
    ("[Bugfix] Fix FP8 scale in fused MoE", "修复 fused MoE 中的 FP8 scale 问题", "Fix FP8 scale in fused MoE"),
    ("[Perf] Optimize `moe_permute` for CUTLASS FP8 (#32892)", "为 CUTLASS FP8 优化 `moe_permute`",
     "Optimize `moe_permute` for CUTLASS FP8"),
    ("[Bugfix][CPU] Fix thread num for shared memory communication (#33317)", "修复共享内存通信的线程数问题",
     "Fix thread num for shared memory communication"),
    ("[BugFix] Async Eplb fix potential race condition (#32881)", "修复 Async Eplb 中潜在的竞态条件问题",
     "Async Eplb fix potential race condition"),
    ("[Bugfix] Fix broken GLM-OCR initialization (#33350)", "修复 GLM-OCR initialization 损坏的问题",
     "Fix broken GLM-OCR initialization"),
    ("Add mxfp8 support for online quantization, Triton dense linear, and CUTLASS MoE (#17449)",
     "为 online 量化、Triton dense linear 和 CUTLASS MoE 新增 mxfp8 支持",
     "Add mxfp8 support for online quantization, Triton dense linear, and CUTLASS MoE"),
    ("[PD] Support KV transfer with MORI-IO (#14626)",
     "借助 MORI-IO 支持 KV transfer",
     "Support KV transfer with MORI-IO"),
    ("support returning tokenids in responses api (#33212)", "在 responses api 中支持返回 tokenids",
     "Support returning tokenids in responses api"),
    ("Make flashMLA work on: Cu13, B300 (#17600)",
     "让 flashMLA 可在 Cu13、B300 上运行",
     "Make flashMLA work on: Cu13, B300"),
    ("[Chore] Remove `use_data_parallel` kwargs from ViT implementation  (#33310)",
     "从 ViT implementation 中移除 `use_data_parallel` kwargs",
     "Remove `use_data_parallel` kwargs from ViT implementation"),
    ("[AMD] ROCm: route W4A16 MoE to Triton and fix packed-weight loading (#17863)",
     "将 W4A16 MoE 路由到 Triton，并修复 packed-weight 加载问题",
     "Route W4A16 MoE to Triton and fix packed-weight loading"),
    ("[diffusion] endpoint: fix vertex generate (#17611)", "endpoint：修复 vertex generate 问题",
     "endpoint: fix vertex generate"),
    ("[Feature] Fully support for async scheduling + PP, 30.8% E2E throughput improvement (#32618)",
     "完整支持 async scheduling + PP，E2E throughput 提升 30.8%",
     "Fully support for async scheduling + PP, 30.8% E2E throughput improvement"),
    ("[model-gateway] Optimize HashRing construction to reduce heap allocations (#17575)",
     "优化 HashRing construction，以减少堆分配", "Optimize HashRing construction to reduce heap allocations"),
    ("[Refactor] Define MM data parser in processing info instead of processor itself (#33260)",
     "在 processing info 中定义 MM data 解析器，而非 processor itself",
     "Define MM data parser in processing info instead of processor itself"),
    ("[lora/moe] Avoid extra intermediate buffer in expand phase when split_k == 1 (#32774)",
     "split_k == 1 时，在 expand phase 中避免额外的中间缓冲区",
     "Avoid extra intermediate buffer in expand phase when split_k == 1"),
    ('Revert "Enable Cross layers KV cache layout at NIXL Connector (#30207)" (#33241)',
     "回退「在 NIXL Connector 中启用 Cross layers KV cache 布局」",
     'Revert "Enable Cross layers KV cache layout at NIXL Connector"'),
    ("feat: add an arg for controlling the number of prefetched layers", "新增参数，用于控制 prefetched 层的数量",
     "Add an arg for controlling the number of prefetched layers"),
    ("[Misc] Cleanup Kimi-K2.5's vision chunk modality entrypoints (#33157)",
     "清理 Kimi-K2.5 的 vision chunk 模态入口", "Cleanup Kimi-K2.5's vision chunk modality entrypoints"),
    ("[Model] sync with upstream z-Image (#17842)", "与上游 z-Image 同步", "Sync with upstream z-Image"),
]  # fmt: skip


@pytest.mark.parametrize(("title", "zh", "en"), CASES)
def test_headlines_keep_names_as_written_and_follow_the_verb(title, zh, en):
    assert headline(title, "zh") == zh
    assert headline(title, "en") == en


def test_english_headlines_lose_tags_and_numbers_only():
    assert (
        clean_title("[Misc][Build] Lazy load cv2 in nemotron_parse.py. (#33189)")
        == "Lazy load cv2 in nemotron_parse.py"
    )
    assert clean_title("Adds FunAudioChat support (#2) (#33058)") == "Adds FunAudioChat support"
    assert headline("[Models] Qwen3-ASR (#33312)", "en") == "Qwen3-ASR"


def test_a_title_without_a_verb_keeps_its_words_unless_the_triage_knows_more():
    assert headline("[Models] Qwen3-ASR (#33312)", "zh") == "Qwen3-ASR"
    assert headline("[Models] Qwen3-ASR (#33312)", "zh", new_model=True) == "支持 Qwen3-ASR 模型"
    assert (
        headline("[FIX] kimi_k2 reasoning parser (#17901)", "zh", category="Bugfix")
        == "修复 kimi_k2 reasoning 解析器问题"
    )
    # Generic words are translated only when they are not part of a name ("Container image" stays).
    assert zh_phrase("Container image WORKDIR consistency") == "Container image WORKDIR 一致性"
    assert zh_phrase("use existing docker image") == "使用现有的 docker 镜像"


def test_names_and_measured_figures_of_the_title_survive_verbatim():
    for title, zh, _ in CASES:
        for token in ("`moe_permute`", "`use_data_parallel`", "30.8%", "MORI-IO", "GLM-OCR", "split_k == 1"):
            if token in title:
                assert token in zh, (title, zh)
