"""Topic tags of a commit, for readers who follow only some areas: a pure function of the commit.

A topic applies when the title (with its tags) names it, when the rules of signals.py found it in
the diff (a new kernel, a new model, hardware enablement, a changed option), or when files of
that area carry at least a quarter of the shipped lines changed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from newsletter.analysis.diffs import NOT_SHIPPED, file_role, is_model_path

if TYPE_CHECKING:
    from newsletter.analysis.triage import CommitLike, Verdict

# The same tuple as draft.TOPICS (a test keeps them equal); draft imports the triage, so it cannot
# be imported from here.
TOPICS = ("hardware", "model", "kernel", "quantization", "speculative", "distributed", "scheduling", "api")

_TITLE = {
    "hardware": r"\b(rocm|hip|amd|aiter|mi3\d\dx?|mi35x|gfx9\d\d|npu|ascend|tpu|xpu|intel gpu|gaudi|hpu|musa|cpu|x86"
    r"|arm|blackwell|hopper|gb[23]00|b[23]00|h[12]00|h20|a100|sm_?\d{2,3}|cu1[23]|turing)\b",
    "model": r"\b(models?|multimodal|vlm?|asr|ocr|tts|qwen\w*|llama\w*|deepseek\w*|dsv3\w*|glm\w*|kimi\w*|gemma\w*"
    r"|mistral\w*|mixtral|phi\d*|gpt-oss|nemotron\w*|hunyuan\w*|minicpm\w*|internvl\w*|whisper|voxtral|diffusion"
    r"|mova|z-image|wan\d*|flux)\b",
    "kernel": r"\b(kernels?|attention|mla|flash ?attn|flashinfer|flashmla|triton|cuda|cutlass|cudnn|gemm|bmm|moe_\w+"
    r"|fused|rmsnorm|rope|cubins?|jit)\b",
    "quantization": r"\b(quant\w*|fp8|fp4|nvfp4|mxfp4|mxfp8|int8|int4|w4a16|w8a8|w4a8|awq|gptq|marlin\w*|bitblas"
    r"|modelopt|compressed[- ]tensors|gguf|bitsandbytes|torchao)\b",
    "speculative": r"\b(eagle\d*|mtp|medusa|draft model|spec(ulative)?[ _-]?decod\w*|speculat\w*|speculators?"
    r"|acceptance length|ngram\w*)\b",
    "distributed": r"\b(tensor parallel\w*|pipeline parallel\w*|expert parallel\w*|tp|pp|ep|dp|dcp|all[- ]?reduce"
    r"|all[- ]?gather|all2all|a2a|nccl|pynccl|disaggregat\w*|p/d|pd|prefill/decode|kv transfer|kv connector|nixl"
    r"|mooncake|mori(-io|ep)?|eplb|deepep|multi[- ]node|2 node|distributed)\b",
    "scheduling": r"\b(schedul\w*|kv[ _-]?cache|prefix[ _-]?cach\w*|radix|hicache|batch\w*|chunked prefill"
    r"|preempt\w*|offload\w*|memory|cuda ?graphs?)\b",
    "api": r"\b(openai|api|apis|entrypoints?|endpoints?|serving|http|cli|args?|server args|env(ironment)? var\w*"
    r"|tool[ _-]?call\w*|reasoning ?parser|responses|chat template|protocol|request|logging|ux|frontend)\b",
}
_PATH = {
    "hardware": r"(^|/)(platforms|hardware_backend)/|rocm|(^|/|_)(npu|xpu|tpu|hpu|musa|cpu)(/|_|\.)|aiter",
    "model": r"",  # model directories, see is_model_path
    "kernel": r"(^|/)(attention|ops|triton_ops|cute_dsl|gemm|jit_kernel|csrc|kernels?)(/|_)|\.(cu|cuh)$",
    "quantization": r"quant",
    "speculative": r"spec_decode|speculative|eagle|(^|/)mtp",
    "distributed": r"(^|/)(distributed|disaggregation|kv_transfer|eplb|device_communicators|token_dispatcher)(/|_)",
    "scheduling": r"sched|kv_cache|block_pool|prefix_cach|radix|mem_cache|hicache|offload",
    "api": r"(^|/)(entrypoints|openai|cli)(/|\.)|server_args|(^|/)(envs|environ)\.py$|http_server|protocol|serving",
}
_SIGNALS = {
    "hardware-enablement": "hardware",
    "new-model": "model",
    "new-kernel": "kernel",
    "new-option": "api",
    "changed-default": "api",
}


def topics_for(commit: CommitLike, verdict: Verdict) -> list[str]:
    """The topics of TOPICS a commit belongs to, in TOPICS order."""
    found = {_SIGNALS[name] for name in verdict.signals if name in _SIGNALS}
    if "kernel" in verdict.roles and any(
        file_role(f["path"]) == "kernel" and f.get("additions", 0) + f.get("deletions", 0) for f in commit.files
    ):
        found.add("kernel")
    title = re.sub(r"\(#\d+\)", "", commit.title).replace("_", " ")
    title = re.sub(r"\bmodel ?runner\b", "runner", title, flags=re.I)  # the engine's runner, not a model
    for topic, pattern in _TITLE.items():
        if re.search(pattern, title, re.I):
            found.add(topic)
    shipped = [f for f in commit.files if file_role(f["path"]) not in NOT_SHIPPED]
    total = sum(_size(f) for f in shipped)
    for topic, pattern in _PATH.items():
        matching = [
            f for f in shipped if (is_model_path(f["path"]) if topic == "model" else re.search(pattern, f["path"]))
        ]
        if total and sum(_size(f) for f in matching) * 4 >= total:
            found.add(topic)
    return [topic for topic in TOPICS if topic in found]


def _size(change: dict) -> int:
    return change.get("additions", 0) + change.get("deletions", 0) or 1
