"""The named rules of signals.py on the bundled days: where each fires, and where it must not."""

from dataclasses import dataclass, field

import pytest

from newsletter.analysis.references import reference_of
from newsletter.analysis.signals import RULES, Facts, fire
from newsletter.analysis.surfaces import SurfaceChanges
from newsletter.analysis.triage import judge
from newsletter.models import Commit

pytestmark = pytest.mark.django_db


def shas(text: str) -> set[str]:
    return set(text.split())


# Every commit of 2026-01-28 and 2026-01-29 (vLLM, SGLang, FlashInfer) each rule fires on.
FIRES = {
    "revert": {"2e8de86"},  # Revert "Enable Cross layers KV cache layout at NIXL Connector (#30207)"
    "redo": set(),
    "critical": set(),
    "security": set(),
    "breaking": {
        "247d1a3",  # Remove BitBlas: `bitblas` leaves the QuantizationMethods Literal
        "af9b69f",  # Remove Marlin 24: `gptq_marlin_24` too, and an `__all__` export
        "fb74e43",  # `timestep_embedding` leaves sgl_kernel's top-level imports
        "3a92c6f",  # the "identity" video loader leaves VIDEO_LOADER_REGISTRY
    },
    "new-model": {
        "36d450e",  # FunAudioChat: new model file and registry entry
        "8b3f0a9",  # Qwen3-ASR
        "09a9147",  # MOVA (diffusion)
        "0769de9",  # LightOnOCR-2-1B
        "3c2f4c7",  # registers a new Z-Image configuration
    },
    "new-kernel": {
        "0368ddf",  # fused_add_rmsnorm.cuh in the JIT kernels
        "f1384f5",  # a @triton.jit kernel for MoRI EP
        "3c9cc44",  # mxfp8 Triton kernels
    },
    "new-backend": {
        "e5f63cb",  # "cudnn" accepted by the BF16 GEMM `backend`
        "f1384f5",  # MORI in MoeA2ABackend
        "cbf90d7",  # MORI in TransferBackend
    },
    # Not 1953efb, b77b0ff, 8311f08: fixes on one platform (correctness-fix judges those).
    "hardware-enablement": shas(
        "66e601e 8acd4d7 e5f63cb 22ad649 e9d727c 59bcc5b 1bd47d6 d3cdee0 7b79326 ef1c512 30adf78 8bb6271 3c9cc44"
    ),
    "correctness-fix": {
        "b77b0ff",  # double memory consumption
        "53fc166",  # EPLB fail
        "d09135f",  # race condition
        "5e73e49",  # broken initialization
    },
    "changed-default": {
        "247d1a3",
        "af9b69f",
        "8e5e40d",  # "thinking enabled by default" for the glm45, holo2 and kimi_k2 parsers
        "4197168",  # TorchAO no longer sets VLLM_DISABLE_COMPILE_CACHE
        "9409c43",  # SGLANG_TOOL_STRICT_LEVEL no longer set for kimi_k2
        "3a92c6f",
    },
    "new-option": shas("e5f63cb d9aa39a 88fcd85 59bcc5b f1384f5 0ff0d18 cbf90d7 3c2f4c7 3c9cc44"),
    "perf-claim": {"3e44078"},  # "30.8% E2E throughput improvement, 31.8% TPOT improvement"
    "bot": set(),
    "auto-sync": {"a663b21"},  # CODEOWNERS
    "typo-fix": {"1d1e72e", "31b25f6"},
    "tests-ci-docs-only": shas(
        "a6760f1 3c3c547 8278ef0 93423ff 5d3d6e4 fb7abfc 52bca42 604e3b8 911b51b 67fb492 a97b5e2 c0b4dd6 "
        "2dd359f 2573a26 9581185 6077de1 f8636fb 5914090 ecb4f82 392c5af 8ebf372 8bdd397 77c4f45 1b22f2e "
        "a663b21 f9d0359 c487a8e 2515bbd 5eeba80 d697581 8688c3d cfa09d3 "
    ),
    "tooling-config": {"2eb673a", "f1acbd6", "fb946a7"},
    "message-only": {
        "f5d7049",  # two log strings reworded
        "141cd43",  # a warning removed, a comment left
    },
    "pure-rename": {"08b1195"},  # CustomOp -> PluggableLayer as the base class, nothing else
}
# Near misses: each of these commits looks like the rule's case and is not.
NEVER = {
    "breaking": {
        "1cbccb6",  # a helper of the MLA attention layer
        "1507dc6",  # private server-args helpers of the diffusion runtime
        "3c34d2c",  # a reasoning parser class
        "8e5e40d",  # reasoning parser names stay registered
        "647428d",  # a layer moved between model-runtime modules
        "ac16d44",  # Rust crate internals of the gateway
        "6bf3b46",  # ModelRunner V2 internals
        "2e8de86",  # a revert is not breaking by itself
    },
    "new-model": {"319f688", "5155017", "5e73e49", "bd92089"},  # move, refactor, fix, spec decoding for a model
    "new-kernel": {"c08b54a", "48966b6", "fb74e43"},  # cache update, cubins update, a kernel deleted
    "new-backend": {"22ad649"},  # existing ROCm backends changed
    "hardware-enablement": {"31b25f6", "2eb673a", "911b51b", "93423ff"},  # typos, lint, CI, images
    "correctness-fix": {"cdedbf1", "f5d7049"},  # a library mismatch, a display string
    "perf-claim": {"c4e744d", "6f00996"},  # [Perf] without figures
    "message-only": {"1507dc6"},  # logging behaviour, not its messages
    "pure-rename": {"a8dda2a", "cdedbf1"},  # False -> enable_dual_stream changes behaviour
    "tests-ci-docs-only": {"e82fa44", "c08b54a"},  # benchmarks ship; code beside docs
    "auto-sync": {"3c2f4c7"},  # "sync with upstream z-Image" is a model change
    "changed-default": {"88fcd85"},  # a new flag is a new option, nothing changed
}


def test_each_rule_fires_where_named_and_nowhere_else(collected):
    commits = list(Commit.objects.select_related("repository"))
    assert len(commits) == 128  # 76 vLLM, 49 SGLang, 3 FlashInfer
    fired: dict[str, set[str]] = {rule.name: set() for rule in RULES}
    for commit in commits:
        for name in judge(commit, repository=commit.repository.full_name).signals:
            fired[name].add(commit.sha[:7])
    assert set(FIRES) == set(fired)
    for name, expected in FIRES.items():
        assert fired[name] == expected, name
    for name, near_misses in NEVER.items():
        assert not fired[name] & near_misses, name


def test_every_rule_is_documented_and_demotions_carry_no_weight():
    assert len({rule.name for rule in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.doc and rule.doc.strip()[0].isupper(), rule.name
        assert not (rule.demotes and rule.weight), rule.name


@dataclass
class Fake:
    title: str
    files: list = field(default_factory=list)
    message: str = ""
    author_login: str = "someone"


def facts_for(commit: Fake, **overrides) -> Facts:
    from newsletter.analysis.triage import parse_title

    parts = parse_title(commit.title)
    values = {
        "title": commit.title,
        "text": parts.text,
        "tags": parts.tags,
        "message": commit.message,
        "author_login": commit.author_login,
        "files": commit.files,
        "surfaces": SurfaceChanges(),
        "reference": reference_of(commit.title, commit.message),
        "fix": "fix" in commit.title.lower(),
    }
    return Facts(**(values | overrides))


def names(facts: Facts) -> set[str]:
    return {rule.name for rule, _ in fire(facts)}


def py(path: str, patch: str, status: str = "modified") -> dict:
    lines = patch.split("\n")
    added = sum(line.startswith("+") for line in lines)
    return {"path": path, "status": status, "additions": added, "deletions": len(lines) - added, "patch": patch}


def test_rules_the_bundled_days_do_not_show():
    redo = Fake("[Redo] #17000 (#17050)", [py("vllm/core.py", "@@ -1 +1 @@\n-a = 1\n+a = 2")])
    assert "redo" in names(facts_for(redo))
    assert "critical" in names(facts_for(Fake("[Critical] Fix the scheduler", [py("vllm/core.py", "+x = 1")])))
    assert "security" in names(facts_for(Fake("Fix CVE-2026-1234 in the tokenizer", [py("vllm/tok.py", "+x = 1")])))
    assert "bot" in names(facts_for(Fake("Bump torch", [py("vllm/x.py", "+x")], author_login="dependabot[bot]")))
    nan = Fake("[Bugfix] Avoid NaN logits with fp8 KV cache", [py("vllm/attn.py", "+x = 1")])
    assert "correctness-fix" in names(facts_for(nan, fix=True))
    renamed = {"path": "vllm/new_name.py", "status": "renamed", "additions": 0, "deletions": 0, "patch": None}
    assert "pure-rename" in names(facts_for(Fake("Move the module", [renamed])))


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("Decode throughput improves by 1.8x on H100", True),
        ("TTFT 120 ms -> 80 ms", True),
        ("Reaches 1200 tokens/s per GPU, a 15% gain", True),
        ("Optimize the sampler", False),
        ("Support x86_64 images and fp8 weights", False),
        ("Tested with 8 GPUs and 100% of the unit tests", False),
    ],
)
def test_perf_claims_need_a_figure_next_to_a_performance_word(text, claims):
    facts = facts_for(Fake("[Perf] Sampler", [py("vllm/sampler.py", "+x = 1")], message=f"title\n\n{text}"))
    assert ("perf-claim" in names(facts)) is claims


def test_a_fix_on_one_platform_or_a_packaging_change_enables_no_hardware():
    code = py("vllm/platforms/rocm.py", "@@ -1 +1,12 @@\n" + "\n".join(f"+x{n} = {n}" for n in range(12)))
    fix = Fake("[Bugfix][ROCm] Fix thread count on MI300", [code])
    assert "hardware-enablement" not in names(facts_for(fix, fix=True))
    port = Fake("[ROCm] Fix and support fp8 MoE on MI300", [code])
    assert "hardware-enablement" in names(facts_for(port, fix=True))
    packaging = Fake("[AMD] Align the ROCm requirements", [py("requirements/rocm.txt", "+torch==2.9")])
    assert "hardware-enablement" not in names(facts_for(packaging))
