from newsletter.analysis.diffs import (
    file_role,
    hunks,
    is_model_path,
    is_verbatim,
    language_for,
    patch_lines,
    symbol_changes,
    telling_snippet,
)

PATCH = """@@ -10,6 +10,9 @@ class Runner:
 import os
-def old_entry(x):
-    return x
+def new_entry(x, y=0):
+    if y < 0:
+        raise ValueError("y must be positive")
+    return x + y
 KEEP = 1"""


def test_languages_and_roles():
    assert language_for("csrc/moe/kernel.cu") == "cuda"
    assert language_for("include/flashinfer/runner.h") == "cpp"
    assert language_for("docker/Dockerfile") == "dockerfile"
    assert language_for("README") is None
    assert file_role("tests/v1/test_scheduler.py") == "test"
    assert file_role("docs/features/quant.md") == "docs"
    assert file_role(".buildkite/test-pipeline.yaml") == "ci"
    assert file_role("tools/pre_commit/generate.py") == "tooling"
    assert file_role("csrc/moe/moe_permute.cu") == "kernel"
    assert file_role("vllm/v1/core/sched/scheduler.py") == "source"


def test_patch_lines_skip_hunk_headers():
    lines = patch_lines(PATCH)
    assert lines[0] == (" ", "import os")
    assert ("-", "def old_entry(x):") in lines and ("+", "    return x + y") in lines


def test_a_renamed_function_is_found():
    changes = symbol_changes([{"path": "pkg/api.py", "patch": PATCH, "additions": 4, "deletions": 2}])
    assert changes.renamed == (("old_entry", "new_entry"),) and changes.breaking


def test_moved_symbols_and_methods_are_not_removals():
    moved_out = "@@ -1,2 +0,0 @@\n-def helper(a):\n-    return a"
    moved_in = "@@ -0,0 +1,2 @@\n+def helper(a):\n+    return a"
    method = "@@ -1,3 +1,1 @@\n class A:\n-    def run(self):\n-        pass"
    files = [
        {"path": "pkg/a.py", "patch": moved_out},
        {"path": "pkg/b.py", "patch": moved_in},
        {"path": "pkg/c.py", "patch": method},
        {"path": "tests/test_x.py", "patch": "@@ -1 +0,0 @@\n-def test_thing():"},
    ]
    assert not symbol_changes(files).breaking


def test_the_telling_snippet_is_verbatim_from_a_source_file():
    files = [
        {"path": "tests/test_api.py", "patch": "@@ -0,0 +1,9 @@\n" + "\n".join(f"+assert f({i})" for i in range(9))},
        {"path": "pkg/api.py", "patch": PATCH},
    ]
    snippet = telling_snippet(files)
    assert snippet.path == "pkg/api.py" and snippet.language == "python"
    assert snippet.code.startswith("def new_entry(x, y=0):")
    assert is_verbatim(snippet.code, PATCH)
    assert len(snippet.code.splitlines()) <= 15


def test_long_runs_are_cut_to_15_lines():
    patch = "@@ -0,0 +1,40 @@\n" + "\n".join(f"+value_{i} = compute({i})" for i in range(40))
    snippet = telling_snippet([{"path": "pkg/big.py", "patch": patch}])
    assert len(snippet.code.splitlines()) == 15


def test_verbatim_means_every_line_is_in_the_diff():
    assert is_verbatim('    raise ValueError("y must be positive")', PATCH)
    assert not is_verbatim("raise ValueError('made up')", PATCH)
    assert not is_verbatim("", PATCH)
    assert not is_verbatim("KEEP = 1", None)


def test_hunks_keep_the_header_git_shows_and_both_sides():
    patch = (
        '@@ -17,3 +17,2 @@ QuantizationMethods = Literal[\n     "fp8",\n-    "bitblas",\n     "gguf",\n'
        "@@ -90 +90 @@\n-a\n+b"
    )
    first, second = hunks(patch)
    assert first.header == "QuantizationMethods = Literal["
    assert first.side("-") == ['    "fp8",', '    "bitblas",', '    "gguf",'] and first.side("+") == [
        '    "fp8",',
        '    "gguf",',
    ]
    assert second.header == "" and second.lines == [("-", "a"), ("+", "b")]


def test_model_directories():
    for path in (
        "vllm/model_executor/models/llama.py",
        "python/sglang/srt/models/qwen3.py",
        "python/sglang/multimodal_gen/runtime/models/dits/wanvideo.py",
        "vllm/transformers_utils/configs/qwen3_asr.py",
    ):
        assert is_model_path(path), path
    assert not is_model_path("vllm/model_executor/layers/linear.py")
    assert not is_model_path("vllm/config/model.py")


def test_removals_inside_models_and_kernels_are_no_public_symbols():
    gone = "@@ -1,2 +0,0 @@\n-class Helper:\n-    pass"
    files = [
        {"path": "vllm/model_executor/models/llama.py", "patch": gone},
        {"path": "csrc/attention/paged.cu", "patch": "@@ -1,2 +0,0 @@\n-struct Params {\n-};"},
    ]
    assert symbol_changes(files).removed == ()
    assert symbol_changes([{"path": "vllm/utils/helpers.py", "patch": gone}]).removed == ("Helper",)
