"""Facts read from a commit's diff and message: what 变更详情 is written from."""

from datetime import date

import pytest

from newsletter.analysis.details import describe
from newsletter.analysis.facts import CommitView, Fact, facts_of
from newsletter.analysis.heuristic import commit_facts
from newsletter.gather import day_input


def change(path: str, patch: str, status: str = "modified") -> dict:
    lines = patch.splitlines()
    return {
        "path": path,
        "status": status,
        "additions": sum(1 for line in lines if line.startswith("+")),
        "deletions": sum(1 for line in lines if line.startswith("-")),
        "patch": patch,
    }


def facts(*files: dict, title: str = "Change things", message: str = "") -> dict[str, Fact]:
    found = facts_of(CommitView(title, message or title, list(files)))
    return {fact.kind: fact for fact in found}


def test_a_new_environment_variable_and_its_default():
    envs = change(
        "python/sglang/srt/environ.py",
        "@@ -10,3 +10,4 @@ class Envs:\n     SGLANG_OLD = EnvBool(True)\n+    SGLANG_NEW_KNOB = EnvInt(64)\n",
    )
    found = facts(envs)["env_added"]
    assert found.names == ("SGLANG_NEW_KNOB",) and found.new == "64"


def test_a_new_cli_flag_with_its_default_read_from_the_dataclass_field():
    args = change(
        "python/sglang/srt/server_args.py",
        "@@ -1,3 +1,9 @@ class ServerArgs:\n     port: int = 30000\n+    prefetch_size: float = 0.5\n"
        "@@ -90,3 +96,8 @@ def add_cli_args(parser):\n         parser.add_argument(\n"
        '+        parser.add_argument(\n+            "--prefetch-size",\n+            type=float,\n'
        "+            default=ServerArgs.prefetch_size,\n+        )\n",
    )
    found = facts(args)
    assert found["flag_added"].names == ("--prefetch-size",) and found["flag_added"].new == "0.5"
    assert "field_added" not in found  # the flag already says it


def test_a_changed_default_and_a_changed_constant_and_limit():
    envs = change(
        "vllm/envs.py",
        '@@ -5,3 +5,3 @@\n-    "VLLM_FOO": lambda: int(os.getenv("VLLM_FOO", "8")),\n'
        '+    "VLLM_FOO": lambda: int(os.getenv("VLLM_FOO", "16")),\n',
    )
    kernel = change(
        "csrc/moe/router.cu",
        "@@ -1,4 +1,4 @@\n-constexpr int kMaxTopK = 8;\n+constexpr int kMaxTopK = 22;\n"
        '   int x = 0;\n-  TORCH_CHECK(topk <= 8, "too many");\n+  TORCH_CHECK(topk <= 22, "too many");\n',
    )
    found = facts(envs, kernel)
    assert (found["env_default"].names, found["env_default"].old, found["env_default"].new) == (
        ("VLLM_FOO",),
        '"8"',
        '"16"',
    )
    assert (found["constant"].names, found["constant"].old, found["constant"].new) == (("kMaxTopK",), "8", "22")
    assert (found["limit"].old, found["limit"].new) == ("topk <= 8", "topk <= 22")


def test_capability_checks_build_targets_and_platform_branches():
    runtime = change(
        "vllm/model_executor/layers/quantization/fp8.py",
        "@@ -1,3 +1,6 @@ class Fp8Method:\n     def apply(self):\n"
        "+        if current_platform.has_device_capability(100):\n+            return self.blackwell()\n"
        "+        if current_platform.is_rocm():\n",
    )
    build = change(
        "csrc/CMakeLists.txt", '@@ -1,2 +1,3 @@\n set(ARCHS)\n+  "-gencode=arch=compute_103a,code=sm_103a"\n'
    )
    lowered = change(
        "vllm/quant/scheme.py",
        "@@ -1,4 +1,4 @@ class Scheme:\n     def get_min_capability(cls) -> int:\n"
        "-        return 80\n+        return 75\n",
    )
    found = facts(runtime, build, lowered)
    assert found["capability"].names == ("SM100",) and found["capability"].detail == "has_device_capability(100)"
    assert found["arch_target"].names == ("SM103",)
    assert found["platform_branch"].names == ("ROCm",)
    assert (found["capability_min"].old, found["capability_min"].new) == ("80", "75")
    text = describe(list(facts(runtime, build, lowered).values()), "zh")
    assert "SM75 即 Turing" in text and "`has_device_capability(100)`" in text and "SM100（Blackwell）" in text


def test_new_kernels_model_files_and_perf_claims():
    triton = change(
        "python/sglang/srt/layers/quantization/fp8_kernel.py",
        "@@ -1,1 +1,4 @@\n import triton\n+@triton.jit\n+def _scaled_kernel(a_ptr, b_ptr):\n+    pass\n",
    )
    cuda = change(
        "csrc/norm/fused.cuh", "@@ -0,0 +1,2 @@\n+__global__ void fused_norm_kernel(float* x) {\n+}\n", "added"
    )
    model = change("vllm/model_executor/models/newmodel.py", "@@ -0,0 +1,1 @@\n+class NewModelForCausalLM:\n", "added")
    registry = change(
        "vllm/model_executor/models/registry.py",
        '@@ -1,2 +1,3 @@ _MODELS = {\n+    "NewModelForCausalLM": ("newmodel", "NewModelForCausalLM"),\n',
    )
    found = facts_of(
        CommitView("[Perf] Faster norm, 1.8x speedup and 12% lower latency", "", [triton, cuda, model, registry])
    )
    kinds = {(f.kind, f.detail): f.names for f in found}
    assert kinds[("kernel_added", "triton")] == ("_scaled_kernel",)
    assert kinds[("kernel_added", "cuda")] == ("fused_norm_kernel",)
    assert kinds[("file_added", "kernel")] == ("fused.cuh",)
    assert kinds[("file_added", "model")] == ("newmodel.py",)
    assert next(f for f in found if f.kind == "model_registered").names == ("NewModelForCausalLM",)
    assert next(f for f in found if f.kind == "perf_claim").names == ("1.8x", "12%")


def test_a_breaking_note_in_the_message_and_the_surfaces_read_back():
    code = change("vllm/engine/core.py", "@@ -1,1 +1,1 @@\n-x = 1\n+x = 2\n")
    found = facts(code, title="Rework the engine", message="Rework the engine\n\nBREAKING CHANGE: the engine moved.")
    assert "declared_breaking" in found
    config = change(
        "vllm/config/compilation.py",
        "@@ -10,2 +10,1 @@ class CompilationConfig:\n     level: int = 0\n-    static_all_moe_layers: list[str] = []\n",
    )
    surface = facts(config)["field_removed"]
    # The owner and the field are separate names: each is verbatim in the diff, "Owner.field" is not.
    assert (surface.owner, surface.names) == ("CompilationConfig", ("static_all_moe_layers",))


def test_a_commit_with_little_to_show_gets_a_short_sentence_never_a_file_count():
    code = change("vllm/worker.py", "@@ -1,3 +1,3 @@ def step(self):\n-    a = 1\n+    a = 2\n")
    text = describe(facts_of(CommitView("Tweak step", "", [code])), "zh")
    assert text == "改动集中在 `step`。"
    assert describe([], "zh") == "" and describe([], "en") == ""


@pytest.mark.django_db
def test_facts_of_bundled_commits(collected):
    data = day_input(date(2026, 1, 29), "zh")
    _flashinfer, sglang, vllm = data.repos

    def of(repo, prefix):
        sha = next(c.sha for c in repo.commits if c.sha.startswith(prefix))
        return {(f.kind, f.detail): f for f in commit_facts(repo, sha)}

    sha = next(c.sha for c in sglang.commits if c.sha.startswith("f1384f5"))  # a MoE all-to-all backend for ROCm
    envs = {f.names[0]: f.new for f in commit_facts(sglang, sha) if f.kind == "env_added"}
    assert envs["SGLANG_MORI_FP8_DISP"] == '"False"' and "SGLANG_MORI_NUM_MAX_DISPATCH_TOKENS_PER_RANK" in envs
    mori = of(sglang, "f1384f5")
    assert mori[("backend_added", "")].names == ("MORI",) and mori[("platform_branch", "_is_hip")].names == ("ROCm",)
    mxfp8 = of(sglang, "3c9cc44")
    assert mxfp8[("kernel_added", "triton")].names == ("_mxfp8_block_scaled_matmul_kernel",)
    assert mxfp8[("capability", "is_sm100_supported()")].names == ("SM100",)
    assert of(vllm, "c4e744d")[("kernel_touched", "")].names == ("expandInputRowsKernel",)
    qwen = of(vllm, "8b3f0a9")
    assert qwen[("model_registered", "")].names == ("Qwen3ASRForConditionalGeneration",)
    assert of(vllm, "3e44078")[("perf_claim", "E2E throughput improvement|TPOT improvement")].names == (
        "30.8%",
        "31.8%",
    )

    older = day_input(date(2026, 1, 28), "zh")
    turing = of(older.repos[2], "66e601e")
    assert (turing[("capability_min", "")].old, turing[("capability_min", "")].new) == ("80", "75")
    assert of(older.repos[1], "8acd4d7")[("arch_target", "compute_103a")].names == ("SM103",)
    bitblas = of(older.repos[2], "247d1a3")[("value_removed", "")]
    assert bitblas.owner == "QuantizationMethods" and bitblas.names == ("bitblas", "gptq_bitblas")


def test_a_new_files_license_docstring_and_imports_are_not_what_gets_quoted():
    from newsletter.analysis.diffs import is_verbatim, telling_snippet
    from newsletter.analysis.heuristic import without_headers

    patch = (
        "@@ -0,0 +1,12 @@\n+# SPDX-License-Identifier: Apache-2.0\n+# Copyright the authors\n+\n"
        '+"""A new model.\n+\n+It does things.\n+"""\n+import torch\n+from torch import nn\n+\n'
        "+class NewModel(nn.Module):\n+    def forward(self, x):\n+        return x * 2\n"
    )
    new = change("vllm/model_executor/models/new.py", patch, "added")
    snippet = telling_snippet(without_headers([new]))
    assert snippet.code.startswith("class NewModel(nn.Module):") and is_verbatim(snippet.code, patch)
    assert without_headers([{**new, "status": "modified"}])[0]["patch"] == patch  # only new files have a preamble
