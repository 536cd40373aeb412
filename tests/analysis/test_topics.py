"""Topic tags of the bundled days' commits, from their titles, paths and the rules that fired."""

import pytest

from newsletter.analysis import draft
from newsletter.analysis.topics import TOPICS
from newsletter.analysis.triage import judge
from newsletter.models import Commit

pytestmark = pytest.mark.django_db

EXPECTED = {
    "8b3f0a9": ["model"],  # [Models] Qwen3-ASR
    "0368ddf": ["kernel"],  # [JIT Kernel] Support fused_add_rmsnorm in JIT Kernel
    "c4e744d": ["kernel", "quantization"],  # [Perf] Optimize `moe_permute` for CUTLASS FP8
    "7b79326": ["hardware", "quantization"],  # [NPU] support GPTQ quantization on npu
    "bd92089": ["model", "speculative"],  # support eagle3 for HunyuanVL & Hunyuan
    "a2b877d": ["speculative"],  # Lazy import NgramProposer in GPU model runner
    "d09135f": ["distributed"],  # Async Eplb fix potential race condition
    "cbf90d7": ["distributed", "api"],  # [PD] Support KV transfer with MORI-IO (a new backend choice)
    "3e44078": ["distributed", "scheduling"],  # async scheduling + PP
    "2e8de86": ["distributed", "scheduling"],  # the NIXL connector's cross-layer KV cache layout
    "0ff0d18": ["api"],  # custom request header logging, a new environment variable
    "3bba2ed": ["api"],  # token ids in the responses API
    "8acd4d7": ["hardware", "kernel"],  # flashMLA on CUDA 13 and B300
    "3c9cc44": ["hardware", "kernel", "quantization", "api"],  # mxfp8: SM90/SM100, Triton, a quantization choice
    "46ec6d7": [],  # [Model Runner V2]: the runner is not a model
}


def test_topics_of_bundled_commits(collected):
    commits = {c.sha[:7]: c for c in Commit.objects.select_related("repository")}
    for short, topics in EXPECTED.items():
        verdict = judge(commits[short], repository=commits[short].repository.full_name)
        assert list(verdict.topics) == topics, short


def test_the_topics_are_the_drafts():
    assert TOPICS == draft.TOPICS
