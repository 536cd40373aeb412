"""Reading unified-diff patches: languages, file roles, hunks, removed public symbols, telling hunks.

Everything here is deterministic and works on the per-file dicts stored on Commit.files
({path, status, additions, deletions, patch, previous_path}). What a change means for users
(breaking surfaces, signals) is read from these pieces in surfaces.py and signals.py.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

# The fenced-code language for a file, by suffix (or name); None: no snippet worth quoting.
LANGUAGES = {
    ".py": "python", ".pyi": "python", ".cu": "cuda", ".cuh": "cuda", ".cc": "cpp", ".cpp": "cpp",
    ".cxx": "cpp", ".h": "cpp", ".hpp": "cpp", ".hh": "cpp", ".inl": "cpp", ".c": "c", ".rs": "rust",
    ".go": "go", ".js": "javascript", ".ts": "typescript", ".tsx": "tsx", ".java": "java",
    ".sh": "bash", ".bash": "bash", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json",
    ".cmake": "cmake", ".proto": "protobuf", ".sql": "sql", ".triton": "python", ".mlir": "mlir",
}  # fmt: skip
LANGUAGES_BY_NAME = {"Dockerfile": "dockerfile", "CMakeLists.txt": "cmake", "Makefile": "makefile"}
# How each language writes a line comment; the path of a quoted snippet goes in one.
LINE_COMMENTS = {
    "python": "#", "bash": "#", "yaml": "#", "toml": "#", "dockerfile": "#", "cmake": "#", "makefile": "#",
    "cuda": "//", "cpp": "//", "c": "//", "rust": "//", "go": "//", "javascript": "//", "typescript": "//",
    "tsx": "//", "java": "//", "protobuf": "//", "sql": "--", "mlir": "//",
}  # fmt: skip
# Roles of files that are not part of what users install and call.
NOT_SHIPPED = ("test", "docs", "ci", "tooling", "bench")
SOURCE_LANGUAGES = {"python", "cuda", "cpp", "c", "rust", "go", "javascript", "typescript", "tsx", "java", "mlir"}

KERNEL_PATH = re.compile(r"(^|/)(csrc|kernels?|sgl-kernel|jit_kernel|cuda|triton_ops|ops)(/|$)|\.(cu|cuh|inl)$")
TEST_PATH = re.compile(r"(^|/)(tests?|testing|unittests?)(/|$)|(^|/)test_[^/]*$|_test\.[a-z]+$|(^|/)conftest\.py$")
DOC_PATH = re.compile(r"(^|/)(docs?|examples?)(/|$)|\.(md|rst|txt|ipynb)$|(^|/)(README|CHANGELOG|LICENSE)[^/]*$")
CI_PATH = re.compile(
    r"(^|/)(\.github|\.buildkite|\.circleci|ci|docker|\.gitlab-ci\.yml|scripts/ci)(/|$)|(^|/)Dockerfile[^/]*$"
    r"|(^|/)\.pre-commit-config\.yaml$|(^|/)(requirements|constraints)[^/]*\.(txt|in)$|docker-tags"
)
BENCH_PATH = re.compile(r"(^|/)(benchmarks?|bench)(/|$)")
TOOLING_PATH = re.compile(
    r"(^|/)(tools|scripts|hack)(/|$)|(^|/)(setup\.py|setup\.cfg|pyproject\.toml|MANIFEST\.in|\.gitignore)$"
)
# Model implementations and their configs/processors: classes and helpers there are internal to
# one model, so removing or renaming them breaks nobody outside it.
MODEL_PATH = re.compile(r"(^|/)models?/|(^|/)transformers_utils/(configs|processors)/|(^|/)multimodal/processors/")
# A path's role is the first of these it matches: a test under a kernel directory is a test.
_ROLE_PATHS = (
    ("test", TEST_PATH), ("ci", CI_PATH), ("tooling", TOOLING_PATH),
    ("docs", DOC_PATH), ("bench", BENCH_PATH), ("kernel", KERNEL_PATH),
)  # fmt: skip

# Definitions of public symbols as they appear in a diff line. Python functions and classes count
# only at module level (an indented def is a method or a local helper); C++/Rust types anywhere.
_DEFINITIONS = [
    re.compile(r"^(?:async\s+)?def\s+([A-Za-z]\w*)\s*\("),
    re.compile(r"^class\s+([A-Za-z]\w*)\b"),
    re.compile(r"^\s*(?:enum(?:\s+class)?|struct|class|union)\s+([A-Za-z]\w*)\s*[:{]"),
    re.compile(r"^\s*pub\s+(?:async\s+)?(?:fn|struct|enum|trait)\s+([A-Za-z]\w*)"),
    re.compile(r"^\s*parser\.add_argument\(\s*[\"'](--[\w-]+)"),
    re.compile(r"^\s*[\"'](--[a-z][\w-]+)[\"']\s*,"),
    re.compile(r"^([A-Z][A-Z0-9_]{2,})\s*[:=]"),  # module-level constants and env defaults
]


@lru_cache(maxsize=8192)
def language_for(path: str) -> str | None:
    pure = PurePosixPath(path)
    return LANGUAGES_BY_NAME.get(pure.name) or LANGUAGES.get(pure.suffix.lower())


@lru_cache(maxsize=8192)
def file_role(path: str) -> str:
    """One of test, ci, tooling, docs, bench, kernel, source, other: what kind of change a file is."""
    for role, pattern in _ROLE_PATHS:
        if pattern.search(path):
            return role
    if language_for(path) in SOURCE_LANGUAGES:
        return "source"
    return "other"


def is_model_path(path: str) -> bool:
    return bool(MODEL_PATH.search(path))


def patch_lines(patch: str | None) -> list[tuple[str, str]]:
    """(+, -, or space; text) for every line of a patch, hunk headers left out."""
    lines = []
    for raw in (patch or "").split("\n"):
        if raw.startswith("@@") or raw.startswith("\\ No newline"):
            continue
        if raw[:1] in ("+", "-", " "):
            lines.append((raw[0], raw[1:]))
        elif raw == "":
            lines.append((" ", ""))
    return lines


@dataclass(frozen=True)
class Hunk:
    header: str  # what git shows after the second @@: the enclosing class, def or block opener
    lines: list[tuple[str, str]]  # (+, -, or space; text)

    def side(self, sign: str) -> list[str]:
        """The hunk as it reads before (sign "-") or after (sign "+") the change."""
        return [text for mark, text in self.lines if mark in (" ", sign)]


def hunks(patch: str | None) -> tuple[Hunk, ...]:
    """The hunks of a patch. Memoized: every rule reads the same few patches, so callers must not
    change what they get."""
    return _hunks(patch or "")


# The rules read one commit's few patches many times over, then move on: a small cache is enough,
# and a long-running worker never keeps a day's worth of diffs alive.
@lru_cache(maxsize=256)
def _hunks(patch: str) -> tuple[Hunk, ...]:
    found: list[Hunk] = []
    for raw in patch.split("\n"):
        if raw.startswith("@@"):
            found.append(Hunk(raw.split("@@", 2)[-1].strip() if raw.count("@@") >= 2 else "", []))
        elif found and not raw.startswith("\\ No newline"):
            if raw[:1] in ("+", "-", " "):
                found[-1].lines.append((raw[0], raw[1:]))
            elif raw == "":
                found[-1].lines.append((" ", ""))
    return tuple(found)


def _definitions(lines: list[tuple[str, str]], sign: str) -> set[str]:
    found = set()
    for mark, text in lines:
        if mark != sign:
            continue
        for pattern in _DEFINITIONS:
            match = pattern.match(text)
            if match:
                found.add(match.group(1))
                break
    return found


@dataclass(frozen=True)
class SymbolChanges:
    removed: tuple[str, ...]  # public definitions deleted and not re-added anywhere in the commit
    renamed: tuple[tuple[str, str], ...]  # (old, new) pairs: one removed, one added, in the same file
    added: tuple[str, ...] = ()  # public definitions that are new

    @property
    def breaking(self) -> bool:
        return bool(self.removed or self.renamed)


def symbol_changes(files: list[dict]) -> SymbolChanges:
    """Public symbols a commit adds, removes or renames in shipped source files.

    Removals and renames count only outside model directories and kernel sources: a model's own
    classes or a kernel's helpers have no callers outside them. Whether a removal breaks users is
    decided in surfaces.py (exported, documented, CLI, environment, config, HTTP); this is the raw
    material.
    """
    removed_by_file: dict[str, set[str]] = {}
    added_by_file: dict[str, set[str]] = {}
    everything_removed: set[str] = set()
    for change in files:
        if file_role(change["path"]) in NOT_SHIPPED:
            continue
        lines = patch_lines(change.get("patch"))
        internal = is_model_path(change["path"]) or file_role(change["path"]) == "kernel"
        gone = {s for s in _definitions(lines, "-") if not s.startswith("_")}
        everything_removed |= gone
        removed_by_file[change["path"]] = set() if internal else gone
        added_by_file[change["path"]] = _definitions(lines, "+")
    everything_added = set().union(*added_by_file.values()) if added_by_file else set()
    removed, renamed, added = [], [], set()
    for path, gone in removed_by_file.items():
        gone = gone - everything_added  # moved to another file is not removed
        new = {s for s in added_by_file[path] - everything_removed if not s.startswith("_")}
        if len(gone) == 1 and len(new) == 1:
            renamed.append((next(iter(gone)), next(iter(new))))
        else:
            removed.extend(sorted(gone))
            added |= new
    return SymbolChanges(
        removed=tuple(sorted(set(removed), key=_telling_first)),
        renamed=tuple(sorted(renamed)),
        added=tuple(sorted(added, key=_telling_first)),
    )


def _telling_first(name: str) -> tuple[int, str]:
    """Classes, then functions and flags, then CONSTANTS: the order a reader recognizes them in."""
    if name.isupper():
        return 2, name
    return (0 if name[:1].isupper() else 1), name


@dataclass(frozen=True)
class Snippet:
    path: str
    language: str
    code: str
    note: str = ""  # one line on what these lines show


def _score_block(block: list[str]) -> float:
    score = 0.0
    for text in block:
        stripped = text.strip()
        if not stripped:
            continue
        if any(pattern.match(text) for pattern in _DEFINITIONS):
            score += 4
        elif re.match(r"^(#|//|/\*|\*|\"\"\"|''')", stripped):
            score += 0.3  # comments explain, but code tells
        elif re.match(r"^(import|from\s+\S+\s+import|#include|using\s)", stripped):
            score += 0.1
        elif re.search(r"\b(if|raise|assert|CHECK|TORCH_CHECK|return|getenv|environ)\b", stripped):
            score += 1.5
        else:
            score += 1
    return score


def telling_snippet(files: list[dict], max_lines: int = 15) -> Snippet | None:
    """The most telling run of added lines in a non-test source file, verbatim (dedented)."""
    best: tuple[float, Snippet] | None = None
    for change in files:
        language = language_for(change["path"])
        if language not in SOURCE_LANGUAGES or file_role(change["path"]) in NOT_SHIPPED:
            continue
        block: list[str] = []
        for mark, text in [*patch_lines(change.get("patch")), (" ", "")]:
            if mark == "+":
                block.append(text)
                continue
            if block:
                trimmed = _trim(block, max_lines)
                if trimmed:
                    score = _score_block(trimmed) + (2 if file_role(change["path"]) == "kernel" else 0)
                    if best is None or score > best[0]:
                        code = textwrap.dedent("\n".join(trimmed))
                        best = (score, Snippet(change["path"], language, code))
                block = []
    return best[1] if best and best[0] >= 3 else None


def _trim(block: list[str], max_lines: int) -> list[str]:
    """Drop blank edges; keep the first max_lines lines, ending on a non-blank one."""
    lines = list(block)
    while lines and not lines[0].strip():
        lines.pop(0)
    lines = lines[:max_lines]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def is_verbatim(code: str, patch: str | None) -> bool:
    """Every non-blank line of `code` is a line of `patch` (indentation aside): nothing invented."""
    known = {text.strip() for _, text in patch_lines(patch)}
    lines = [line.strip() for line in code.split("\n") if line.strip()]
    return bool(lines) and all(line in known for line in lines)


def patch_for(files: list[dict], path: str) -> str | None:
    return next((change.get("patch") for change in files if change["path"] == path), None)
