"""Breaking means a public surface changed: each kind of surface, and what never is one."""

import pytest

from newsletter.analysis.surfaces import package_of, surface_changes


def change(path: str, patch: str, status: str = "modified") -> dict:
    lines = patch.split("\n")
    added = sum(line.startswith("+") for line in lines)
    removed = sum(line.startswith("-") for line in lines)
    return {"path": path, "status": status, "additions": added, "deletions": removed, "patch": patch}


CLI = "vllm/entrypoints/openai/cli_args.py"


def lines(surfaces) -> tuple[str, ...]:
    """The English line of each finding (what prompts and the editor read)."""
    return tuple(str(surface) for surface in surfaces)


@pytest.mark.parametrize(
    ("files", "surface"),
    [
        (
            [change(CLI, "@@ -10,6 +10,3 @@ def make_arg_parser(parser):\n"
                         '     parser.add_argument("--host", type=str)\n'
                         "-    parser.add_argument(\n"
                         '-        "--disable-foo", action="store_true", help="Off."\n'
                         "-    )\n"
                         '     parser.add_argument("--port", type=int, default=8000)')],
            "CLI flag `--disable-foo` removed",
        ),
        (
            [change(CLI, '@@ -1,1 +1,1 @@\n-    parser.add_argument("--max-foo", type=int, default=4)\n'
                         '+    parser.add_argument("--foo-limit", type=int, default=4)')],
            "CLI flag `--max-foo` renamed to `--foo-limit`",
        ),
        (
            [change(CLI, '@@ -1,1 +1,1 @@\n-    parser.add_argument("--port", type=int, default=8000)\n'
                         '+    parser.add_argument("--port", type=int, default=30000)')],
            "default of CLI flag `--port` changed from `8000` to `30000`",
        ),
        (
            [change("python/sglang/srt/server_args.py", '@@ -140,1 +140,1 @@\n'
                    '-ATTENTION_BACKEND_CHOICES = ["fa3", "triton", "torch_native"]\n'
                    '+ATTENTION_BACKEND_CHOICES = ["fa3", "triton"]')],
            "accepted value `torch_native` of `ATTENTION_BACKEND_CHOICES` removed",
        ),
        (
            [change("vllm/envs.py", '@@ -100,1 +100,1 @@ environment_variables = {\n'
                    '-    "VLLM_OLD_NAME": lambda: os.getenv("VLLM_OLD_NAME", "0") == "1",\n'
                    '+    "VLLM_NEW_NAME": lambda: os.getenv("VLLM_NEW_NAME", "0") == "1",')],
            "environment variable `VLLM_OLD_NAME` renamed to `VLLM_NEW_NAME`",
        ),
        (
            [change("python/sglang/srt/environ.py", "@@ -160,1 +160,1 @@ class Envs:\n"
                    "-    SGLANG_FOO = EnvBool(False)\n+    SGLANG_FOO = EnvBool(True)")],
            "default of environment variable `SGLANG_FOO` changed from `False` to `True`",
        ),
        (
            [change("python/sglang/srt/managers/scheduler.py", '@@ -1,1 +1,1 @@\n'
                    '-    chunk = int(os.getenv("SGLANG_CHUNK", "4096"))\n'
                    '+    chunk = int(os.getenv("SGLANG_CHUNK", "8192"))')],
            'default of environment variable `SGLANG_CHUNK` changed from `"4096"` to `"8192"`',
        ),
        (
            [change("vllm/config/cache.py", "@@ -20,2 +20,2 @@ class CacheConfig:\n     block_size: int = 16\n"
                    "-    enable_prefix_caching: bool = False\n+    enable_prefix_caching: bool = True")],
            "default of config field `CacheConfig.enable_prefix_caching` changed from `False` to `True`",
        ),
        (
            [change("python/sglang/srt/server_args.py", "@@ -475,3 +475,2 @@ class ServerArgs:\n"
                    "     ep_size: int = 1\n-    disable_foo: bool = False\n     moe_runner_backend: str = \"auto\"")],
            "config field `ServerArgs.disable_foo` removed",
        ),
        (
            [change("vllm/entrypoints/openai/protocol.py",
                    "@@ -300,2 +300,1 @@ class ChatCompletionRequest(OpenAIBaseModel):\n"
                    "     n: int | None = 1\n-    best_of: int | None = None")],
            "HTTP request field `ChatCompletionRequest.best_of` removed",
        ),
        (
            [change("flashinfer/sampling.py", '@@ -1,1 +1,1 @@\n-__all__ = ["top_k_sampling", "top_p_sampling"]\n'
                    '+__all__ = ["top_k_sampling"]')],
            "exported name `top_p_sampling` removed from `flashinfer.sampling`",
        ),
        (
            [change("python/sglang/__init__.py", "@@ -1,2 +1,1 @@\n from sglang.api import Engine\n"
                    "-from sglang.api import set_default_backend")],
            "exported name `set_default_backend` removed from `sglang`",
        ),
        (
            [
                change("flashinfer/norm.py", "@@ -1,2 +0,0 @@\n-def rmsnorm_legacy(x):\n-    return x"),
                change("docs/api/norm.rst", "@@ -3,2 +3,1 @@\n     rmsnorm\n-    rmsnorm_legacy"),
            ],
            "documented API `rmsnorm_legacy` removed",
        ),
        (
            [change("vllm/multimodal/video.py", '@@ -1,3 +0,0 @@\n-@VIDEO_LOADER_REGISTRY.register("identity")\n'
                    "-class IdentityVideoLoader(VideoLoader):\n-    pass")],
            "registered name `identity` removed from `VIDEO_LOADER_REGISTRY`",
        ),
    ],
)  # fmt: skip
def test_a_changed_public_surface_is_breaking_and_named(files, surface):
    found = surface_changes(files)
    assert lines(found.breaking) == (surface,)


@pytest.mark.parametrize(
    "files",
    [
        # A model's own classes, even when the docs mention them.
        [
            change("vllm/model_executor/models/llama.py", "@@ -1,2 +0,0 @@\n-class LlamaHelper:\n-    pass"),
            change("docs/models.md", "@@ -1,1 +0,0 @@\n-Uses `LlamaHelper`."),
        ],
        # A private helper, a kernel function, a module function nobody exports or documents.
        [change("vllm/utils/misc.py", "@@ -1,2 +0,0 @@\n-def _helper(x):\n-    return x")],
        [change("csrc/attention/paged.cu", "@@ -1,2 +0,0 @@\n-struct PagedParams {\n-};")],
        [change("vllm/utils/misc.py", "@@ -1,2 +0,0 @@\n-def helper(x):\n-    return x")],
        # Flags of benchmarks, tests and examples are no CLI of the product.
        [change("benchmarks/serve.py", '@@ -1,1 +0,0 @@\n-    parser.add_argument("--request-rate", type=float)')],
        [change("examples/offline.py", '@@ -1,1 +0,0 @@\n-    parser.add_argument("--model", type=str)')],
        # A whole `__all__` removed leaves every name importable; a reordered list loses nothing.
        [change("vllm/compilation/pass.py", '@@ -1,1 +0,0 @@\n-__all__ = ["CustomGraphPass"]')],
        [change("python/sglang/srt/server_args.py", '@@ -1,1 +1,1 @@\n-LORA_CHOICES = ["triton", "csgmv"]\n'
                '+LORA_CHOICES = ["csgmv", "triton"]')],
        # A default that only moved to another line of a flag's call, and a new flag.
        [change(CLI, '@@ -1,1 +1,2 @@\n-    parser.add_argument("--port", type=int, default=8000)\n'
                     '+    parser.add_argument("--port", type=int, default=8000)\n'
                     '+    parser.add_argument("--tls", type=str)')],
        # Fake implementations of ops, and a registered name that stays registered.
        [change("vllm/_custom_ops.py", '@@ -1,2 +0,0 @@\n-    @register_fake("_C::marlin_24_gemm")\n'
                "-    def _fake(x):")],
        [change("vllm/reasoning/kimi.py", '@@ -1,1 +1,1 @@\n-@ReasoningParserManager.register_module("kimi_k2")\n'
                '+@ReasoningParserManager.register_module("kimi_k2", "kimi")')],
        # Lists whose entries leaving is good news.
        [change("vllm/model_executor/layers/quantization/__init__.py", "@@ -43,3 +43,2 @@ DEPRECATED_METHODS = [\n"
                '     "ptpc_fp8",\n-    "bitblas",\n     "fp_quant",')],
    ],
)  # fmt: skip
def test_internal_changes_are_not_breaking(files):
    assert surface_changes(files).breaking == ()


def test_explicit_notes_labels_and_deprecation_removals():
    code = [change("vllm/engine/old_engine.py", "@@ -1,3 +0,0 @@\n-class OldEngine:\n-    pass\n-    pass")]
    declared = ("declared breaking in the commit message",)
    assert lines(surface_changes(code, tags=("feat", "breaking")).breaking) == declared
    assert lines(surface_changes(code, notes="BC-breaking: the engine is gone").breaking) == (
        "declared breaking in the commit message",
    )
    assert lines(surface_changes(code, labels=("bc-breaking",)).breaking) == ("labelled breaking on the pull request",)
    deprecation = surface_changes(code, tags=("deprecation",), title_text="Remove the V0 engine")
    assert lines(deprecation.breaking) == ("deprecated feature removed: the V0 engine",)
    assert surface_changes(code, tags=("deprecation",), title_text="Deprecate the V0 engine").breaking == ()


def test_what_is_added_and_registered():
    found = surface_changes(
        [
            change(CLI, '@@ -1,0 +1,1 @@\n+    parser.add_argument("--tls-cert", type=str)'),
            change("vllm/envs.py",
                   '@@ -1,0 +1,1 @@\n+    "VLLM_USE_FOO": lambda: bool(int(os.getenv("VLLM_USE_FOO", "0"))),'),
            change("vllm/attention/backends/registry.py", "@@ -5,1 +5,2 @@ class AttentionBackendEnum(Enum):\n"
                   '     FLASH_ATTN = "vllm.flash"\n+    FLASH_SINK = "vllm.flash_sink"'),
        ]
    )  # fmt: skip
    assert found.breaking == ()
    assert set(lines(found.added)) == {"CLI flag `--tls-cert` added", "environment variable `VLLM_USE_FOO` added"}
    assert lines(found.backends) == ("backend `FLASH_SINK` registered in `AttentionBackendEnum`",)


def test_package_names():
    assert package_of("sgl-kernel/python/sgl_kernel/__init__.py") == ("sgl_kernel", True)
    assert package_of("python/sglang/__init__.py") == ("sglang", True)
    assert package_of("vllm/__init__.py") == ("vllm", True)
    assert package_of("vllm/model_executor/layers/quantization/__init__.py") == (
        "vllm.model_executor.layers.quantization",
        False,
    )
    assert package_of("flashinfer/sampling.py") == ("flashinfer.sampling", False)


def test_keys_of_a_registry_dict_are_a_public_surface():
    registry = change(
        "vllm/attention/selector.py",
        "@@ -3,5 +3,5 @@\n ATTENTION_BACKENDS = {\n"
        '-    "xformers": XFormersBackend,\n'
        '     "flash": FlashBackend,\n'
        '+    "flash_sink": FlashSinkBackend,\n'
        " }\n",
    )
    found = surface_changes([registry])
    assert lines(found.breaking) == ("registered name `xformers` removed from `ATTENTION_BACKENDS`",)
    assert lines(found.backends) == ("backend `flash_sink` registered in `ATTENTION_BACKENDS`",)
    # A key that only moved, or a dict that is no registry, changes nothing users pick from.
    moved = change(
        "vllm/attention/selector.py",
        '@@ -3,4 +3,4 @@\n ATTENTION_BACKENDS = {\n-    "flash": FlashBackend,\n     "triton": T,\n'
        '+    "flash": FlashBackend,\n }\n',
    )
    assert surface_changes([moved]).breaking == ()
    table = change("vllm/utils.py", '@@ -1,3 +1,2 @@\n SIZES = {\n-    "small": 1,\n     "big": 2,\n }\n')
    assert surface_changes([table]).breaking == ()
