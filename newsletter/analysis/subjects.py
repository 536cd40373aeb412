"""Who a change is about, read from a title (or an issue): hardware, model family, data type, component.

These are the words a reader filters by ("does this touch my B200s, my Qwen deployment, my FP8
checkpoints, my EPLB setup?"), and the keys the summary groups items from different repositories
by. Each finding keeps the spelling a reader knows (the canonical name), plus a Chinese label for
components. Pure functions over text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Hardware as readers name it: the canonical platform, and the family it belongs to.
PLATFORMS = [
    (r"\bblackwell\b|\bgb[23]00\b|\bb[23]00\b|\bsm_?1[0-2]\d[af]?\b|\brtx ?50\d0\b|\brtx pro 6000\b", "Blackwell"),
    (r"\bhopper\b|\bh[12]00\b|\bh20\b|\bh800\b|\bsm_?90a?\b|\bgh200\b", "Hopper"),
    (r"\bampere\b|\ba100\b|\ba10g?\b|\ba800\b|\bsm_?8[06]\b|\brtx ?30\d0\b", "Ampere"),
    (r"\bada\b|\bl40s?\b|\bl4\b|\bsm_?89\b|\brtx ?40\d0\b", "Ada"),
    (r"\bturing\b|\bt4\b|\bsm_?75\b", "Turing"),
    (r"\brocm\b|\bhip\b|\bamd\b|\baiter\b|\bmi3\d\dx?\b|\bmi35x\b|\bgfx9\d\d\b|\bmori(?:-io|ep)?\b", "AMD ROCm"),
    (r"\bnpu\b|\bascend\b", "Ascend NPU"),
    (r"\bxpu\b|\bintel gpu\b", "Intel XPU"),
    (r"\bgaudi\b|\bhpu\b", "Intel Gaudi"),
    (r"\btpu\b", "TPU"),
    (r"\bmusa\b|\bmtlink\b", "Moore Threads MUSA"),
    (r"\bcpu\b|\bx86(?:_64)?\b|\bavx512\w*\b", "CPU"),
    (r"\barm\b|\baarch64\b", "Arm"),
    (r"\bcu13\b|\bcuda 13\b", "CUDA 13"),
]
# Model families: the spelling readers use; one pattern per family.
MODEL_FAMILIES = [
    (r"\bqwen[\w.-]*", "Qwen"), (r"\bdeepseek[\w.-]*|\bdsv3\w*|\bdsv32\b", "DeepSeek"), (r"\bllama[\w.-]*", "Llama"),
    (r"\bglm[\w.-]*", "GLM"), (r"\bkimi[\w.-]*", "Kimi"), (r"\bgemma[\w.-]*", "Gemma"),
    (r"\bmistral[\w.-]*|\bmixtral\b|\bvoxtral\b|\bpixtral\b", "Mistral"), (r"\bgpt-oss\b", "gpt-oss"),
    (r"\bnemotron[\w.-]*", "Nemotron"), (r"\bhunyuan[\w.-]*", "Hunyuan"), (r"\bminicpm[\w.-]*", "MiniCPM"),
    (r"\binternvl[\w.-]*", "InternVL"), (r"\bphi-?\d[\w.-]*", "Phi"), (r"\bwhisper\b", "Whisper"),
    (r"\bernie[\w.-]*", "ERNIE"), (r"\bminimax[\w.-]*", "MiniMax"), (r"\bstep-?\d[\w.-]*", "Step"),
    (r"\bling\b|\bring\b", "Ling"), (r"\bgranite[\w.-]*", "Granite"), (r"\bmimo\b", "MiMo"),
]  # fmt: skip
DTYPES = [
    (r"\bnvfp4\b", "NVFP4"), (r"\bmxfp4\b", "MXFP4"), (r"\bmxfp8\b", "MXFP8"), (r"\bfp4\b", "FP4"),
    (r"\bfp8\b", "FP8"), (r"\bint8\b|\bw8a8\b", "INT8"), (r"\bint4\b|\bw4a16\b|\bw4a8\b", "INT4"),
    (r"\bbf16\b|\bbfloat16\b", "BF16"), (r"\bgptq\b", "GPTQ"), (r"\bawq\b", "AWQ"), (r"\bmarlin\w*", "Marlin"),
]  # fmt: skip
# Components, by a canonical key: the pattern that names each, in the order they are looked for.
COMPONENTS = {
    "eplb": r"\beplb\b",
    "moe": r"\bmoe\b|\bmixture of experts\b|\bexperts?\b|\ba2a\b|\ball2all\b|\bdeepep\b",
    "pd": r"\bp/d\b|\bpd\b|\bdisagg\w*|\bkv transfer\b|\bnixl\b|\bmooncake\b",
    "pp": r"\bpp\b|\bpipeline parallel\w*",
    "dp": r"\bdp\b|\bdata parallel\w*",
    "ep": r"\bep\b|\bexpert parallel\w*",
    "cp": r"\bdcp\b|\bcontext parallel\w*",
    "lora": r"\blora\b",
    "spec": r"\beagle\d*\b|\bmtp\b|\bspec(?:ulative)?[ _-]?decod\w*|\bspeculat\w*|\bngram\w*|\bdraft model\b",
    "prefix": r"\bprefix[ _-]?cach\w*|\bradix\w*|\bhicache\b",
    "kvcache": r"\bkv[ _-]?cache\b",
    "cudagraph": r"\bcuda ?graphs?\b|\bcudagraph\w*",
    "compile": r"\btorch\.compile\b|\binductor\b",
    "structured": r"\bstructured output\w*|\bgrammar\b|\bxgrammar\b|\bguided decod\w*",
    "tools": r"\btool[ _-]?call\w*|\btool parser\b",
    "reasoning": r"\breasoning[ _-]?parser\b|\bthinking\b",
    "api": r"\bresponses api\b|\bopenai\b|\bchat completion\w*|\bentrypoints?\b",
    "async": r"\basync(?:hronous)? scheduling\b",
    "scheduling": r"\bscheduler\b|(?<!async )\bscheduling\b",
    "multimodal": r"\bmultimodal\b|\bmm\b|\bvision\b|\bvlm?\b|\bimage\b|\baudio\b|\bvideo\b|\basr\b|\bocr\b",
    "diffusion": r"\bdiffusion\b|\bdit\b|\bimage generation\b|\bvideo generation\b",
    "attention": r"\battention\b|\bmla\b|\bflash ?attn\w*|\bflashmla\b|\bfmha\b|\bmha\b|\bsliding window\b",
    "gemm": r"\bgemm\b|\bbmm\b|\bmatmul\b|\bgrouped[ _]mm\b|\bcutlass\b|\bcublas\w*|\bcudnn\b",
    "norm": r"\brmsnorm\b|\blayernorm\b|\bnorm\b",
    "rope": r"\brope\b|\brotary\b",
    "quantization": r"\bquant\w*\b",
    "shm": r"\bshared memory\b|\bshm\b",
    "collective": r"\ball[- ]?reduce\b|\ball[- ]?gather\b|\bnccl\b|\bpynccl\b",
    "offload": r"\boffload\w*",
    "gateway": r"\bmodel[- ]gateway\b|\brouter\b|\bsmg\b",
}
# The labels readers see for each component, in Chinese and in English.
COMPONENT_LABELS = {
    "eplb": ("EPLB（专家负载均衡）", "EPLB"),
    "moe": ("MoE", "MoE"),
    "pd": ("PD 分离", "prefill/decode disaggregation"),
    "pp": ("流水线并行", "pipeline parallelism"),
    "dp": ("数据并行", "data parallelism"),
    "ep": ("专家并行", "expert parallelism"),
    "cp": ("上下文并行", "context parallelism"),
    "lora": ("LoRA", "LoRA"),
    "spec": ("投机解码", "speculative decoding"),
    "prefix": ("前缀缓存", "prefix caching"),
    "kvcache": ("KV cache", "KV cache"),
    "cudagraph": ("CUDA Graph", "CUDA graphs"),
    "compile": ("torch.compile", "torch.compile"),
    "structured": ("结构化输出", "structured outputs"),
    "tools": ("工具调用", "tool calling"),
    "reasoning": ("推理解析", "reasoning parsing"),
    "api": ("OpenAI 兼容接口", "OpenAI-compatible API"),
    "async": ("异步调度", "async scheduling"),
    "scheduling": ("调度器", "the scheduler"),
    "multimodal": ("多模态", "multimodal"),
    "diffusion": ("扩散模型", "diffusion"),
    "attention": ("注意力", "attention"),
    "gemm": ("GEMM", "GEMM"),
    "norm": ("归一化", "normalization"),
    "rope": ("RoPE", "RoPE"),
    "quantization": ("量化", "quantization"),
    "shm": ("共享内存通信", "shared-memory communication"),
    "collective": ("集合通信", "collectives"),
    "offload": ("卸载", "offloading"),
    "gateway": ("网关/路由", "gateway/router"),
}
_WORD = re.compile(r"[`'\"]")


@dataclass
class Subjects:
    platforms: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # families
    model_names: list[str] = field(default_factory=list)  # as written: "Qwen3-ASR"
    dtypes: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)  # keys of COMPONENTS


def subjects_of(*texts: str) -> Subjects:
    """Platforms, model families (and names as written), data types and components named in `texts`."""
    text = _WORD.sub(" ", " ".join(t for t in texts if t)).replace("_", " ")
    found = Subjects()
    for pattern, name in PLATFORMS:
        if re.search(pattern, text, re.I) and name not in found.platforms:
            found.platforms.append(name)
    for pattern, family in MODEL_FAMILIES:
        for match in re.finditer(pattern, text, re.I):
            if family not in found.models:
                found.models.append(family)
            written = match.group(0).rstrip(".-")
            if written not in found.model_names and (len(written) > len(family) or written[:1].isupper()):
                found.model_names.append(written)
    for pattern, name in DTYPES:
        if re.search(pattern, text, re.I) and name not in found.dtypes:
            found.dtypes.append(name)
    for key, pattern in COMPONENTS.items():
        if re.search(pattern, text, re.I) and key not in found.components:
            found.components.append(key)
    return found


def component_label(key: str, language: str) -> str:
    zh, en = COMPONENT_LABELS.get(key, (key, key))
    return zh if language == "zh" else en
