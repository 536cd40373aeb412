"""The named rules that move a commit's score: what an inference engineer must know, and noise.

Each rule is a `Rule` in `RULES`: a name (what analyzers and the editor see in Verdict.signals),
a weight added to the score, and a function that returns evidence (a short English phrase) when
the rule fires on a commit's `Facts`, or "" when it does not. Demotions cap the score instead
(triage.NOISE_CAP) unless a floor applies (a revert, [Critical], security, a breaking change).

Promotions: new-model, new-kernel, new-backend, hardware-enablement, correctness-fix,
changed-default, new-option, perf-claim, breaking, and the floors revert, redo, critical, security.
Demotions: bot, auto-sync, typo-fix, tests-ci-docs-only, tooling-config, message-only, pure-rename.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath

from newsletter.analysis.diffs import (
    NOT_SHIPPED,
    SOURCE_LANGUAGES,
    file_role,
    hunks,
    is_model_path,
    language_for,
)
from newsletter.analysis.references import Reference
from newsletter.analysis.surfaces import SurfaceChanges


@dataclass
class Facts:
    """What the rules read about one commit; built once per commit by triage.judge."""

    title: str  # the full title
    text: str  # the title without its tags and "(#N)"
    tags: tuple[str, ...]  # lower-cased title tags and conventional prefixes
    message: str
    author_login: str
    files: list[dict]
    surfaces: SurfaceChanges
    reference: Reference | None = None
    pr_body: str = ""
    pr_labels: tuple[str, ...] = ()
    fix: bool = False  # the title says it fixes something (tag, prefix or verb)
    roles: tuple[str, ...] = field(default=())

    @property
    def notes(self) -> str:
        """Everything written about the change: title, message and pull request body."""
        return "\n".join([self.title, self.message or "", self.pr_body or ""])

    @cached_property
    def shipped(self) -> list[dict]:
        return [f for f in self.files if file_role(f["path"]) not in NOT_SHIPPED]

    @cached_property
    def added_lines(self) -> list[tuple[str, str]]:
        """(path, text) of every added line in a shipped file."""
        return [
            (f["path"], text)
            for f in self.shipped
            for hunk in hunks(f.get("patch"))
            for mark, text in hunk.lines
            if mark == "+"
        ]

    @cached_property
    def new_files(self) -> list[str]:
        return [f["path"] for f in self.shipped if f.get("status") == "added"]


@dataclass(frozen=True)
class Rule:
    name: str
    weight: int  # added to the score when the rule fires; demotions cap it instead
    doc: str
    test: Callable[[Facts], str]
    demotes: bool = False


# --- promotions ---------------------------------------------------------------------------------------
_MODEL_TAGS = {"model", "models", "new model", "new models"}
_NOT_NEW = re.compile(
    r"^(fix|fixes|refactor|move|moves|clean|cleanup|sync|update|remove|rename|simplify|use|make)\b", re.I
)


def new_model(facts: Facts) -> str:
    """Support for a new model: a new file in a model directory, an architecture added to a model
    registry, or a [Model]/[Models] title that does not fix or refactor one."""
    files = [
        p for p in facts.new_files if is_model_path(p) and language_for(p) == "python" and not p.endswith("__init__.py")
    ]
    if files:
        return f"new model file {PurePosixPath(files[0]).name}"
    for path, text in facts.added_lines:
        if PurePosixPath(path).name != "registry.py":
            continue
        if arch := re.match(r'^\s+"([A-Z]\w+(?:For\w+|Model|LM))"\s*:', text):
            return f"registers {arch.group(1)}"
        if re.match(r"^\s*(?:\w+\.)?register_(?:configs|model)\(", text):
            return "registers a model configuration"
    if _MODEL_TAGS & set(facts.tags) and not _NOT_NEW.match(facts.text):
        return "a [Model] title"
    return ""


_KERNEL_CODE = re.compile(r"@triton\.jit|__global__\s+void|\bTORCH_LIBRARY(_FRAGMENT)?\b|\bm\.def\(\s*\"|@cute\.kernel")


def new_kernel(facts: Facts) -> str:
    """A new kernel: a new file under kernel sources (csrc/, kernels/, .cu, jit kernels), or new
    Triton/CUDA kernel definitions and op registrations in the diff."""
    files = [p for p in facts.new_files if file_role(p) == "kernel" and language_for(p) in SOURCE_LANGUAGES]
    if files:
        return f"new kernel source {PurePosixPath(files[0]).name}"
    for path, text in facts.added_lines:
        if _KERNEL_CODE.search(text):
            return f"defines a kernel in {PurePosixPath(path).name}"
    return ""


_BACKEND_DIRS = re.compile(
    r"(^|/)(attention/backends|layers/attention|token_dispatcher|disaggregation/\w+|kv_connector(/v1)?"
    r"|device_communicators|kv_transfer)/[^/]+\.py$"
)


def new_backend(facts: Facts) -> str:
    """A new registered backend: a backend name added to a registry or accepted values, or a new
    file among attention, MoE dispatch, KV transfer or communication backends."""
    if facts.surfaces.backends:
        return str(facts.surfaces.backends[0])
    files = [p for p in facts.new_files if _BACKEND_DIRS.search(p) and not p.endswith("__init__.py")]
    return f"new backend file {PurePosixPath(files[0]).name}" if files else ""


HARDWARE_WORDS = {
    "blackwell": "Blackwell", "hopper": "Hopper", "ampere": "Ampere", "turing": "Turing", "gb200": "GB200",
    "gb300": "GB300", "b200": "B200", "b300": "B300", "h100": "H100", "h200": "H200", "h20": "H20", "a100": "A100",
    "mi300": "MI300", "mi300x": "MI300", "mi325": "MI325", "mi325x": "MI325", "mi350": "MI350", "mi355": "MI355",
    "mi355x": "MI355", "mi35x": "MI355", "gfx942": "gfx942", "gfx950": "gfx950", "rocm": "ROCm", "hip": "ROCm",
    "amd": "AMD", "aiter": "AMD", "npu": "NPU", "ascend": "Ascend", "tpu": "TPU", "xpu": "XPU",
    "intel gpu": "Intel GPU", "gaudi": "Gaudi", "hpu": "Gaudi", "musa": "MUSA", "mtlink": "MUSA", "cpu": "CPU",
    "x86": "CPU", "arm": "Arm", "aarch64": "Arm", "neuron": "Neuron", "mps": "Apple MPS", "cu13": "CUDA 13",
}  # fmt: skip
_HARDWARE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, HARDWARE_WORDS), key=len, reverse=True)) + r")\b", re.I)
_SM = re.compile(r"\bsm[_ ]?(\d{2,3})[a-z]?\b|\bsm(\d{2,3})\+", re.I)
_CAPABILITY = re.compile(
    r"capability\s*(?:==|>=|<=|<|>)\s*\(?\s*(\d{2,3})|device_capability\(\s*(\d{2,3})\s*\)"
    r"|supported_compute_capability\(\s*\[\s*(\d{2,3})|\bis_sm(\d{2,3})\w*supported|\bis_(blackwell|hopper)\w*\(",
    re.I,
)
_HARDWARE_PATH = re.compile(r"(?:^|/|_)(rocm|hip|npu|ascend|xpu|tpu|cpu|musa|hpu|aiter)(?=/|_|\.)")


_ENABLING = re.compile(
    r"\b(support\w*|enabl\w+|add\w*|port\w*|introduc\w+|initial|bring[- ]?up|work\w* on|run\w* on)\b", re.I
)


def hardware_enablement(facts: Facts) -> str:
    """Hardware support: SM numbers (sm90, sm100, `capability == 100`), GPU generations (Blackwell,
    Hopper, B200, H100, MI300/MI355), ROCm/HIP/AMD, NPU/Ascend, TPU, XPU, CPU and other backends,
    named in the title, or in platform-specific paths or capability checks of shipped source or
    kernel code. A fix on one platform enables nothing (correctness-fix judges it) unless its
    title also says it adds support; packaging and configuration files alone enable nothing."""
    if not any(file_role(f["path"]) in ("source", "kernel") for f in facts.shipped):
        return ""
    if facts.fix and not _ENABLING.search(facts.text):
        return ""
    found: list[str] = []
    for match in _SM.finditer(facts.title):
        found.append(f"SM{match.group(1) or match.group(2)}")
    found += [HARDWARE_WORDS[m.group(1).lower()] for m in _HARDWARE.finditer(" ".join([*facts.tags, facts.text]))]
    for _, text in facts.added_lines:
        for match in _CAPABILITY.finditer(text):
            value = next(g for g in match.groups() if g)
            found.append(value.capitalize() if value.isalpha() else f"SM{value}")
    # Platform-specific files count when they carry at least half of the added lines (ten or more):
    # a typo fixed in a CPU file enables nothing.
    added = sum(f.get("additions", 0) for f in facts.shipped)
    by_platform: Counter = Counter()
    for change in facts.shipped:
        for word in {m.group(1).lower() for m in _HARDWARE_PATH.finditer(change["path"])}:
            by_platform[HARDWARE_WORDS[word]] += change.get("additions", 0)
    found += [platform for platform, lines in by_platform.items() if lines >= 10 and lines * 2 >= added]
    return ", ".join(dict.fromkeys(found))


_CORRECTNESS = re.compile(
    r"\b(wrong|incorrect|inaccurate|invalid)\s+(outputs?|results?|answers?|tokens?|logits|values?)\b"
    r"|\baccuracy\b|\bnan\b|\bnans\b|\binf\b|\bcrash(es|ed|ing)?\b|\bsegfault|\billegal memory access\b"
    r"|\bhang(s|ing)?\b|\bdeadlock|\boom\b|\bout of memory\b|\bmemory (leak|consumption|corruption)\b"
    r"|\brace( condition)?\b|\bhit rate\b|\bprecision\b|\bcorrupt\w*|\bgarbage\b|\bgibberish\b|\bbroken\b"
    r"|\bfail(s|ed|ure|ing)?\b",
    re.I,
)


def correctness_fix(facts: Facts) -> str:
    """A fix of wrong output, accuracy, NaN/inf, crashes, hangs, deadlocks, OOM, races, cache hit
    rate or precision: the failures that cost users results or uptime."""
    if not facts.fix:
        return ""
    match = _CORRECTNESS.search(facts.notes)
    return f"fixes {match.group(0).lower()}" if match else ""


_DEFAULT_WORDS = re.compile(
    r"\bby default\b|\bdefaults? to\b|\bchange[sd]? (the )?default|\bnew default\b|\bdefault (is|value|backend)\b", re.I
)


def changed_default(facts: Facts) -> str:
    """A changed default: an environment variable, CLI flag, config field or accepted value
    removed, renamed, set differently or given a new default, or a title that says so."""
    if facts.surfaces.changed:
        return str(facts.surfaces.changed[0])
    match = _DEFAULT_WORDS.search(facts.title)
    return f"title says {match.group(0).lower()!r}" if match and facts.shipped else ""


def new_option(facts: Facts) -> str:
    """A new knob: an environment variable, CLI flag, config field or accepted value added."""
    return str(facts.surfaces.added[0]) if facts.surfaces.added else ""


_PERF_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(%|x\b|×|ms\b|µs\b|us\b|tok(?:en)?s?/s\b|tflops\b|gb/s\b|qps\b|req/s\b)", re.I
)
_PERF_WORDS = re.compile(
    r"speed ?up|faster|throughput|latency|improv|reduc|tpot|ttft|\bitl\b|e2e|perf|bandwidth|gain|tflops|tok(en)?s?/s",
    re.I,
)


def perf_claim(facts: Facts) -> str:
    """A measured performance claim: a number with %, x/×, ms, tokens/s, TFLOPS, GB/s or QPS next
    to throughput, latency, speed-up or similar words, in the title, message or pull request."""
    for line in facts.notes.split("\n"):
        for match in _PERF_NUMBER.finditer(line):
            if _PERF_WORDS.search(line) and not re.search(r"\bx86|\bfp\d|\bint\d", match.group(0), re.I):
                return f"claims {match.group(0).strip()}"
    return ""


def breaking(facts: Facts) -> str:
    """A changed public surface (see surfaces.py): exports, documented API, CLI, environment
    variables, config fields and defaults, HTTP fields, an explicit note, a deprecation removal."""
    return str(facts.surfaces.breaking[0]) if facts.surfaces.breaking else ""


def revert(facts: Facts) -> str:
    """Undoes an earlier change (`Revert "..."`, `Revert #N`, "This reverts commit <sha>")."""
    if not facts.reference or facts.reference.kind != "revert":
        return ""
    ref = facts.reference
    return "reverts " + (f"#{ref.prs[0]}" if ref.prs else ref.shas[0][:7] if ref.shas else "an earlier change")


def redo(facts: Facts) -> str:
    """Brings a reverted change back (`Reapply "..."`, `[Redo] #N`, `Reland #N`)."""
    if not facts.reference or facts.reference.kind != "redo":
        return ""
    return "relands " + (f"#{facts.reference.prs[0]}" if facts.reference.prs else "a reverted change")


def critical(facts: Facts) -> str:
    """The project marked it [Critical]."""
    return "tagged [Critical]" if "critical" in facts.tags else ""


_SECURITY = re.compile(r"\b(security|vulnerab\w*|cve-\d{4}-\d+|exploit|rce|injection|sanitiz\w*)\b", re.I)


def security(facts: Facts) -> str:
    """A security fix (security, vulnerability, CVE, exploit, injection in the title or tags)."""
    match = _SECURITY.search(" ".join([*facts.tags, facts.title]))
    return f"mentions {match.group(0).lower()}" if match else ""


# --- demotions ----------------------------------------------------------------------------------------
_BOT = re.compile(r"(\[bot\]$|^dependabot|^github-actions|^renovate|^pre-commit-ci|^mergify|-bot$)", re.I)
_SYNC = re.compile(
    r"\bauto[- ]?sync\b|\bsync(ing)? (from|with|to) (upstream|internal|main)( main| branch| repo\w*)?$|^bump\b"
    r"|\bbump (the )?version\b"
    r"|\bupdate (the )?(ci|docker) (image|tags?)\b|docker[- ]tags|\bci image\b|^update codeowners|codeowners",
    re.I,
)
_TYPO = re.compile(r"\btypos?\b|\b(fix|fixes|fixing|correct)( the)? (grammar|spelling|wording)\b|\bmisspell", re.I)
_TOOLING = re.compile(r"\b(ruff|mypy|flake8|pylint|lint|linter|pre-commit|isort|clang-format|yapf|codespell)\b", re.I)


def bot(facts: Facts) -> str:
    """Written by a bot (dependabot, renovate, github-actions, pre-commit-ci, ...)."""
    return "bot commit" if _BOT.search(facts.author_login or "") else ""


def auto_sync(facts: Facts) -> str:
    """An automatic sync, version bump, CI image or code-owners update."""
    return "automatic sync or version bump" if _SYNC.search(facts.text) else ""


def typo_fix(facts: Facts) -> str:
    """Typo, spelling or grammar fixes."""
    return "typo or grammar fix" if _TYPO.search(facts.title) else ""


def tests_ci_docs_only(facts: Facts) -> str:
    """Touches only tests, CI, docs or tooling (CODEOWNERS included): nothing users install."""
    roles = {file_role(f["path"]) for f in facts.files}
    if roles and roles <= {"docs"}:
        return "documentation only"
    if roles and roles <= {"ci", "test", "tooling", "docs"}:
        return "CI, tests or tooling only"
    return ""


def tooling_config(facts: Facts) -> str:
    """Lint and type-checker configuration (ruff, mypy, pre-commit, ...), however many files it touches."""
    return "lint or tooling configuration" if _TOOLING.search(facts.text) else ""


_STRING = re.compile(r"(?P<q>[rbfu]{0,2}(\"\"\"|'''|\"|'))(?:\\.|(?!(?P=q)).)*?(?P=q)|\"[^\"]*$|'[^']*$")
_LOG_CALL = re.compile(r"^\s*(logger\.\w+|logging\.\w+|print|warnings\.warn|log_\w+|self\.logger\.\w+)\(")


def message_only(facts: Facts) -> str:
    """Only strings, comments and log calls change: messages, not behaviour."""
    removed, added = _normalized(facts, "-"), _normalized(facts, "+")
    if removed is None or added is None or removed != added:
        return ""
    return "changes only messages, logs or comments"


def _normalized(facts: Facts, sign: str) -> Counter | None:
    """The changed code lines of shipped source files with strings, comments and log calls taken out."""
    lines: Counter = Counter()
    seen = False
    for change in facts.shipped:
        language = language_for(change["path"])
        if language not in SOURCE_LANGUAGES:
            return None
        comment = "#" if language == "python" else "//"
        for hunk in hunks(change.get("patch")):
            depth = 0  # open parentheses of a log call that spans lines
            for mark, text in hunk.lines:
                if mark not in (" ", sign):
                    continue
                code = _STRING.sub('""', text).split(comment)[0].strip()
                if depth > 0 or _LOG_CALL.match(text):
                    depth = max(0, depth + code.count("(") - code.count(")"))
                    seen |= mark == sign
                    continue
                if mark != sign:
                    continue
                seen = True
                if code.strip('"(),+ ') and not code.startswith(("/*", "*")):
                    lines[code] += 1
    return lines if seen else None


def pure_rename(facts: Facts) -> str:
    """Renames and moves only: files renamed without edits, or every changed line differs only by
    one consistent renaming of a few identifiers."""
    shipped = facts.shipped
    if shipped and all(
        f.get("status") == "renamed" and not f.get("additions") and not f.get("deletions") for f in shipped
    ):
        return "moves files without changing them"
    pairs: dict[str, str] = {}
    changed = 0
    for change in shipped:
        for hunk in hunks(change.get("patch")):
            removed = [t for m, t in hunk.lines if m == "-" and t.strip()]
            added = [t for m, t in hunk.lines if m == "+" and t.strip()]
            if len(removed) != len(added):
                return ""
            for old, new in zip(removed, added, strict=True):
                old_tokens, new_tokens = re.findall(r"\w+|\S", old), re.findall(r"\w+|\S", new)
                if len(old_tokens) != len(new_tokens):
                    return ""
                for a, b in zip(old_tokens, new_tokens, strict=True):
                    if a != b and (not (_name(a) and _name(b)) or pairs.setdefault(a, b) != b):
                        return ""
                changed += 1
    if changed and 0 < len(pairs) <= 3:
        return "renames " + ", ".join(f"{a} to {b}" for a, b in pairs.items())
    return ""


def _name(token: str) -> bool:
    return token.isidentifier() and not keyword.iskeyword(token) and token not in ("True", "False", "None")


def rule_of(test: Callable[[Facts], str], weight: int = 0, demotes: bool = False) -> Rule:
    """A rule named after its test (new_model is "new-model") and described by the test's docstring,
    so the name and the text a reader sees cannot drift from the code that decides."""
    return Rule(test.__name__.replace("_", "-"), weight, test.__doc__, test, demotes)


RULES: tuple[Rule, ...] = (
    *map(rule_of, (revert, redo, critical, security)),  # weight 0: FLOORS keep them up instead
    rule_of(breaking, 20),
    rule_of(new_model, 24),
    rule_of(new_kernel, 14),
    rule_of(new_backend, 14),
    rule_of(hardware_enablement, 10),
    rule_of(correctness_fix, 12),
    rule_of(changed_default, 12),
    rule_of(new_option, 6),
    rule_of(perf_claim, 12),
    *(
        rule_of(test, demotes=True)
        for test in (bot, auto_sync, typo_fix, tests_ci_docs_only, tooling_config, message_only, pure_rename)
    ),
)
FLOORS = ("revert", "redo", "critical", "security", "breaking")  # never rank low


def fire(facts: Facts) -> list[tuple[Rule, str]]:
    """Every rule that fires on these facts, in RULES order, with its evidence."""
    return [(rule, evidence) for rule in RULES if (evidence := rule.test(facts))]
