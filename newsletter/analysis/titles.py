"""Titles: the tags and conventional prefixes projects write, and the report category they give.

vLLM and SGLang tag titles (`[Bugfix]`, `[Model]`, `[ROCm][CI]`), FlashInfer uses conventional
commits (`feat:`, `fix(scope)!:`). A title without either is read by its first verb. The category
is settled once the rules of signals.py have fired (a new model file makes a "Feature" a "Model").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newsletter.analysis.references import Reference

# Report categories, most telling first: when a title carries several tags, the first wins.
CATEGORIES = [
    "Revert", "Critical", "Security", "Breaking", "Deprecation", "Perf", "Bugfix", "Model", "Kernel",
    "Hardware", "Core", "Feature", "Refactor", "Misc", "Docs", "CI", "Test",
]  # fmt: skip
TAGS = {
    "revert": "Revert", "critical": "Critical", "security": "Security", "cve": "Security",
    "breaking": "Breaking", "breaking change": "Breaking", "deprecation": "Deprecation", "deprecate": "Deprecation",
    "perf": "Perf", "performance": "Perf", "optimization": "Perf", "optim": "Perf", "speedup": "Perf",
    "bugfix": "Bugfix", "bug fix": "Bugfix", "fix": "Bugfix", "bug": "Bugfix", "hotfix": "Bugfix", "fixes": "Bugfix",
    "model": "Model", "models": "Model", "new model": "Model", "multimodal": "Model", "vlm": "Model",
    "kernel": "Kernel", "kernels": "Kernel", "jit kernel": "Kernel", "cuda": "Kernel", "triton": "Kernel",
    "amd": "Hardware", "rocm": "Hardware", "hardware": "Hardware", "npu": "Hardware", "xpu": "Hardware",
    "intel gpu": "Hardware", "cpu": "Hardware", "tpu": "Hardware", "musa": "Hardware", "ascend": "Hardware",
    "hpu": "Hardware", "gaudi": "Hardware", "neuron": "Hardware", "mps": "Hardware", "blackwell": "Hardware",
    "core": "Core", "scheduler": "Core", "engine": "Core", "v1": "Core", "model runner v2": "Core",
    "modelrunner v2": "Core", "torch.compile": "Core", "spec decode": "Core", "attention": "Core",
    "feature": "Feature", "feat": "Feature", "frontend": "Feature", "api": "Feature", "pd": "Feature",
    "quantization": "Feature", "lora": "Feature", "ux": "Feature",
    "refactor": "Refactor", "chore": "Refactor", "cleanup": "Refactor", "style": "Refactor",
    "misc": "Misc", "ez": "Misc", "minor": "Misc", "benchmark": "Misc", "bench": "Misc", "backport": "Misc",
    "doc": "Docs", "docs": "Docs", "documentation": "Docs",
    "ci": "CI", "ci/build": "CI", "build": "CI", "release": "CI", "ci fix": "CI",
    "test": "Test", "tests": "Test", "testing": "Test",
}  # fmt: skip
# "word:" / "word(scope)!:" prefixes, alone or after the bracket tags.
_PREFIX = re.compile(r"^([a-z][a-z /-]*?)(\([^)]*\))?(!)?\s*:\s+", re.I)
_BRACKETS = re.compile(r"^\s*\[([^\]]{1,40})\]\s*:?\s*")
_PR_SUFFIX = re.compile(r"\s*\(#\d+\)\s*$")

_VERBS = [
    (re.compile(r"^(fix|fixes|fixed|bugfix|resolve|correct|handle|guard)\b", re.I), "Bugfix"),
    (re.compile(r"^(optimi[sz]e|speed up|accelerate|tune|reduce (latency|overhead|memory))\b", re.I), "Perf"),
    (re.compile(r"^(remove|delete|drop|deprecate)\b", re.I), "Refactor"),
    (re.compile(r"^(refactor|clean ?up|simplify|consolidate|make .* (modular|cleaner)|rename|move|extract)\b", re.I),
     "Refactor"),
    (re.compile(r"^(adds?|added|supports?|enables?|introduces?|implements?|allows?|integrat\w*|make .*\bwork)\b", re.I),
     "Feature"),
    (re.compile(r"^(update|improve|use|pass|relax|make)\b", re.I), "Misc"),
]  # fmt: skip
_MODEL_WORDS = re.compile(
    r"\b(model|models|llm|vl|vlm|asr|ocr|tts|qwen\w*|llama\w*|deepseek\w*|glm\w*|kimi\w*)\b", re.I
)
# A scope tag ([ModelRunner V2], [Multimodal]) says where, not what: a cleanup there is a refactor.
CLEANUP = re.compile(r"\b(clean ?up|cleanups|simplif\w+|refactor\w*|tidy|consolidat\w+|reorganiz\w+)\b", re.I)
_SCOPES = ("Core", "Model", "Kernel", "Hardware", "Feature", "Misc")
FIXES = re.compile(r"\b(fix|fixes|fixed|fixing|bugfix|hotfix)\b", re.I)


@dataclass(frozen=True)
class TitleParts:
    tags: tuple[str, ...]  # lower-cased bracket tags and conventional prefixes, in order
    text: str  # the title without tags, prefixes and the (#N) suffix


def parse_title(title: str) -> TitleParts:
    tags: list[str] = []
    rest = title.strip()
    while True:
        bracket = _BRACKETS.match(rest)
        if bracket:
            tags.extend(t.strip().lower() for t in re.split(r"\]\s*\[", bracket.group(1)) if t.strip())
            rest = rest[bracket.end() :]
            continue
        prefix = _PREFIX.match(rest)
        if prefix and (prefix.group(1).lower() in TAGS or prefix.group(1).lower().split("/")[0] in TAGS):
            tags.append(prefix.group(1).lower())
            if prefix.group(3):
                tags.append("breaking")
            rest = rest[prefix.end() :]
            continue
        break
    return TitleParts(tuple(tags), _PR_SUFFIX.sub("", rest).strip())


def tag_categories(tags: Sequence[str]) -> list[str]:
    found = []
    for tag in tags:
        # "model runner v2" is Core as a whole; "ci/build" or "rocm ci" only in pieces.
        pieces = [tag] if tag in TAGS else re.split(r"[/ ,]+", tag)
        for piece in pieces:
            category = TAGS.get(piece)
            if category and category not in found:
                found.append(category)
    return found


def candidate_categories(parts: TitleParts, roles: Iterable[str], reference: Reference | None) -> list[str]:
    """The categories a title's tags, its reference (revert, redo) or its first verb name."""
    categories = tag_categories(parts.tags)
    if reference and reference.kind == "revert":
        categories.insert(0, "Revert")
    elif reference and reference.kind == "redo" and not categories and reference.titles:
        categories = tag_categories(parse_title(reference.titles[0]).tags)  # a redo is what it brings back
    if not categories:
        categories = [category for pattern, category in _VERBS if pattern.match(parts.text)][:1]
        if categories and categories[0] in ("Feature", "Misc") and _MODEL_WORDS.search(parts.text):
            categories = ["Model"]
        if not categories and "kernel" in roles:
            categories = ["Kernel"]
    return categories


def settle_category(categories: list[str], parts: TitleParts, roles: Iterable[str], signals: set[str]) -> str:
    """The one category of a commit, once the signals are known; most telling first."""
    categories = [*categories, "Security"] if "security" in signals and "Security" not in categories else categories
    category = min(categories, key=CATEGORIES.index) if categories else "Misc"
    if "new-model" in signals and category in ("Feature", "Misc", "Refactor", "Hardware", "Core", "Kernel"):
        category = "Model"
    elif category in _SCOPES and CLEANUP.search(parts.text) and not FIXES.search(parts.text):
        category = "Refactor"
    only = set(roles)
    if category not in ("Revert", "Critical", "Security"):
        if only and (only <= {"docs"} or ("Docs" in categories and only <= {"docs", "tooling", "ci", "test"})):
            category = "Docs"
        elif (only and only <= {"ci", "test", "tooling"}) or "tooling-config" in signals:
            category = "Test" if only == {"test"} else "CI"
    return category
