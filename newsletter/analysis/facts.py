"""What a commit changes, read from its diff, message and pull request, as language-neutral facts.

A `Fact` is one thing an inference engineer can act on: a new or removed environment variable,
CLI flag, config field or accepted value (and its default), a changed constant or limit, a
capability check or build target (SM versions, platforms), a new kernel or model file, a new,
removed or renamed public function or class, a new parameter, guard or synchronization, a
pinned dependency, a measured performance claim, a "breaking" note. Every name a fact carries is
verbatim in the commit (its diff, file paths, message or pull request), so a sentence built from
it passes the build's grounding check. Pure functions over the commit's stored files; no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import PurePosixPath

from newsletter.analysis.diffs import NOT_SHIPPED, SOURCE_LANGUAGES, file_role, hunks, is_model_path, language_for
from newsletter.analysis.headlines import VERBS_ZH
from newsletter.analysis.messages import clean_body
from newsletter.analysis.surfaces import Surface, surface_changes
from newsletter.analysis.triage import parse_title

MAX_NAMES = 4  # names one fact lists; more are counted, not named


@dataclass(frozen=True)
class Fact:
    kind: str  # see KINDS
    names: tuple[str, ...] = ()  # identifiers, verbatim in the commit
    old: str = ""  # the value before, when the fact is a change
    new: str = ""  # the value after, or a renamed name
    owner: str = ""  # the class, function, module or list the names belong to
    detail: str = ""  # a kind-specific word: "triton"/"cuda"/"op", "kernel"/"model", a platform list …
    more: int = 0  # names not listed


# Every kind, most telling first: the order details are written in.
KINDS = (
    "declared_breaking", "export_removed", "documented_removed", "deprecated_removed",
    "registry_removed", "flag_removed", "flag_renamed", "flag_default", "env_removed", "env_renamed", "env_default",
    "field_removed", "field_renamed", "field_default", "value_removed",
    "capability_min", "capability", "arch_target", "platform_branch",
    "perf_claim", "constant", "limit", "return_changed",
    "backend_added", "registry_added", "flag_added", "env_added", "env_set", "env_unset", "field_added", "value_added",
    "kernel_added", "model_registered", "file_added", "symbols_added", "symbols_removed", "symbols_renamed",
    "methods_removed", "class_fields_added", "params_added", "params_removed", "guard", "sync",
    "dependency", "file_removed", "kernel_touched", "message_point", "summary", "functions_touched",
    "tests_added",
)  # fmt: skip
RANK = {kind: index for index, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class CommitView:
    """What facts are read from: a commit's title, message and files, and its pull request."""

    title: str
    message: str
    files: list[dict]
    pr_body: str = ""
    pr_labels: tuple[str, ...] = ()


def facts_of(view: CommitView, *, symbols=None) -> list[Fact]:
    """Every fact of one commit, most telling first. `symbols`: the triage's SymbolChanges."""
    shipped = [f for f in view.files if file_role(f["path"]) not in NOT_SHIPPED]
    found: list[Fact] = []
    found += _surfaces(view, shipped)
    # Build files count whatever role diffs.py gives them (CMakeLists.txt ends in .txt, like docs).
    builds = [f for f in view.files if _BUILD_FILE.search(f["path"]) and f not in shipped]
    found += _capabilities(shipped + builds)
    found += _perf_claims(view)
    found += _constants_and_limits(shipped)
    found += _kernels(shipped)
    found += _models(shipped)
    found += _files(view.files)
    if symbols is not None:
        found += _symbols(symbols)
    found += _methods_and_fields(shipped)
    found += _signatures(shipped)
    found += _guards_and_sync(shipped)
    found += _dependencies(view.files)
    found += _message(view)
    found += _touched(shipped, found)
    return sorted(merged(found), key=lambda fact: RANK.get(fact.kind, len(KINDS)))


# Facts of these kinds that share an owner are one fact listing every name.
_MERGED = {
    "value_removed",
    "value_added",
    "export_removed",
    "env_removed",
    "flag_removed",
    "documented_removed",
    "registry_removed",
    "registry_added",
}
_NOT_VALUES = {"auto", "default", "none", ""}


def merged(found: list[Fact]) -> list[Fact]:
    """Facts with duplicates dropped and the names of one list (one owner) gathered in one fact."""
    out: list[Fact] = []
    backends: set[str] = set()
    flags = {f.names[0].lstrip("-").replace("-", "_") for f in found if f.kind == "flag_added" and f.names}
    for fact in dict.fromkeys(found):
        if fact.kind == "backend_added":
            if fact.names[0].lower() in backends:
                continue
            backends.add(fact.names[0].lower())
        if fact.kind == "value_added" and (fact.names[0].lower() in _NOT_VALUES or fact.names[0].lower() in backends):
            continue
        if fact.kind == "field_added" and (fact.names[0] in flags or "init=False" in fact.new):
            continue  # the flag says it already, or it is not something users set
        if fact.kind == "methods_removed":
            same = next((o for o in out if o.kind == fact.kind and o.names == fact.names), None)
            if same:
                out[out.index(same)] = replace(same, owner=f"{same.owner}|{fact.owner}")
                continue
        twin = next((o for o in out if fact.kind in _MERGED and (o.kind, o.owner) == (fact.kind, fact.owner)), None)
        if twin:
            names = [*twin.names, *fact.names]
            out[out.index(twin)] = replace(twin, names=tuple(names[:MAX_NAMES]),
                                           more=twin.more + fact.more + max(0, len(names) - MAX_NAMES))  # fmt: skip
            continue
        out.append(fact)
    return out


def _fact(kind: str, names: Iterable[str] = (), **values) -> Fact:
    names = list(dict.fromkeys(n for n in names if n))
    return Fact(kind, tuple(names[:MAX_NAMES]), more=max(0, len(names) - MAX_NAMES), **values)


# --- lines of a diff --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    path: str
    mark: str  # "+", "-" or " "
    text: str
    scope: str  # the innermost def/class/function the line is in, as far as the hunk shows
    hunk: int  # the hunk's index in the file


_PY_SCOPE = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")
_CPP_SCOPE = re.compile(
    r"^(?:template\s*<[^>]*>\s*)?(?:[\w:<>*&,\s]+\s+)?\**&?([A-Za-z_]\w*)\s*\([^;]*$|^(?:struct|class)\s+(\w+)"
)
_NOT_FUNCTIONS = {"if", "for", "while", "switch", "return", "sizeof", "defined", "elif", "else", "case"}


_RUST_SCOPE = re.compile(
    r"^\s*(?:pub(?:\([\w:]+\))?\s+)?(?:async\s+)?(?:fn\s+(\w+)|impl(?:<[^>]*>)?\s+(?:[\w:]+\s+for\s+)?(\w+))"
)


def _scope_of(text: str, language: str | None) -> str:
    if language not in SOURCE_LANGUAGES:
        return ""
    if language == "rust":
        match = _RUST_SCOPE.match(text)
        return (match.group(1) or match.group(2) or "") if match else ""
    if language == "python":
        match = _PY_SCOPE.match(text)
        return match.group(1) if match else ""
    match = _CPP_SCOPE.match(text.strip()) if text and not text.startswith((" ", "\t", "#", "//")) else None
    if not match:
        return ""
    name = match.group(1) or match.group(2) or ""
    return "" if name in _NOT_FUNCTIONS else name


def lines_of(files: Iterable[dict]) -> Iterator[Line]:
    for change in files:
        yield from _file_lines(change["path"], change.get("patch") or "")


@lru_cache(maxsize=256)  # one commit's files at a time, like diffs._hunks
def _file_lines(path: str, patch: str) -> tuple[Line, ...]:
    """A file's diff lines with their scopes, read once: a dozen rules walk the same lines."""
    language = language_for(path)
    found = []
    for index, hunk in enumerate(hunks(patch)):
        scope = _scope_of(hunk.header, language)
        for mark, text in hunk.lines:
            if mark in (" ", "+") and (inner := _scope_of(text, language)):
                scope = inner
            found.append(Line(path, mark, text, scope, index))
    return tuple(found)


def _changed(change: dict) -> list[Line]:
    """A file's removed and added lines, without the context around them."""
    return [line for line in lines_of([change]) if line.mark != " "]


def _added(lines: Iterable[Line]) -> list[Line]:
    return [line for line in lines if line.mark == "+"]


# --- public surfaces (surfaces.py's findings as facts) ------------------------------------------------
def surface_fact(surface: Surface) -> Fact:
    """One of surfaces.py's findings as a Fact (the names split so each is verbatim in the diff)."""
    return Fact(
        surface.kind,
        (surface.name,) if surface.name else (),
        old=surface.old,
        new=surface.new,
        owner=surface.owner,
        detail=surface.detail if surface.kind.startswith("field_") else "",  # HTTP request, response …
    )


def _surfaces(view: CommitView, shipped: list[dict]) -> list[Fact]:
    parts = parse_title(view.title)
    found = surface_changes(
        view.files,
        tags=parts.tags,
        title_text=parts.text,
        notes="\n".join([view.message or "", view.pr_body or ""]),
        labels=view.pr_labels,
    )
    facts = []
    for surface in dict.fromkeys([*found.breaking, *found.changed, *found.added, *found.backends]):
        fact = surface_fact(surface)
        if fact.kind == "env_added":
            fact = Fact(fact.kind, fact.names, new=_env_default(fact.names[0], shipped))
        elif fact.kind == "flag_added":
            fact = Fact(fact.kind, fact.names, new=_flag_default(fact.names[0], shipped))
        elif fact.kind == "field_added" and not fact.new:
            fact = Fact(fact.kind, fact.names, owner=fact.owner, detail=fact.detail,
                        new=_field_default(fact.names[0], shipped))  # fmt: skip
        facts.append(fact)
    # A backend and its accepted value are one thing; keep the backend.
    backends = {f.names[0].lower() for f in facts if f.kind == "backend_added"}
    return [f for f in facts if not (f.kind == "value_added" and f.names[0].lower() in backends)]


_SHORT_VALUE = re.compile(r"^[^\n`]{1,40}$")


def _env_default(name: str, files: list[dict]) -> str:
    patterns = [
        re.compile(rf"^\s+{name}\s*=\s*Env\w*\((?P<value>[^()]*)\)\s*$"),
        re.compile(
            rf"(?:getenv|environ\.get|get_\w+_env_var|env_\w+)\(\s*[\"']{name}[\"']\s*,\s*(?P<value>[^()]+?)\s*\)"
        ),
        re.compile(rf"^\s+{name}\s*:\s*[\w\[\], |.]+=\s*(?P<value>.+?)\s*$"),
    ]
    for line in _added(lines_of(files)):
        for pattern in patterns:
            if (match := pattern.search(line.text)) and _SHORT_VALUE.match(value := match.group("value").strip()):
                return value
    return ""


def _flag_default(flag: str, files: list[dict]) -> str:
    text = "\n".join(line.text for line in _added(lines_of(files)))
    start = text.find(f'"{flag}"')
    if start < 0:
        start = text.find(f"'{flag}'")
    if start < 0:
        return ""
    window = text[start : start + 600]
    end = window.find("add_argument(", 1)
    match = re.search(r"\bdefault\s*=\s*(?P<value>[^,\n)]+)", window[: end if end > 0 else None])
    if not match:
        return ""
    value = match.group("value").strip()
    if owner := re.match(r"^(?:[A-Z]\w*)\.(\w+)$", value):  # default=ServerArgs.field: the field's default
        return _field_default(owner.group(1), files) or ""
    return value if _SHORT_VALUE.match(value) else ""


def _field_default(name: str, files: list[dict]) -> str:
    pattern = re.compile(rf"^\s+{re.escape(name)}\s*:\s*[^=]+?=\s*(?P<value>[^#]+?)\s*(?:#.*)?$")
    for line in _added(lines_of(files)):
        if (match := pattern.match(line.text)) and _SHORT_VALUE.match(value := match.group("value")):
            return value
    return ""


# --- capabilities, build targets, platforms ---------------------------------------------------------
_CAPABILITY_CALL = re.compile(
    r"(?:has_device_capability|is_device_capability(?:_family)?|device_capability|is_sm)\(\s*(?P<sm>\d{2,3})\s*\)"
    r"|capability\s*(?:==|>=|<=|<|>)\s*\(?\s*(?P<cmp>\d{2,3})\b(?!\s*,)"
    r"|capability\s*(?:==|>=|<=|<|>)\s*\(\s*(?P<major>\d{1,2})\s*,\s*(?P<minor>\d)\s*\)"
    r"|supported_compute_capability\(\s*\[(?P<list>[\d,\s]+)\]\s*\)?"
    r"|\bis_sm(?P<named>\d{2,3})\w*_supported\(\)"
    r"|__CUDA_ARCH__\s*(?:==|>=|<=|<|>)\s*(?P<arch>\d{3,4})"
)
_ARCH_TARGET = re.compile(r"\b(?:compute|sm)_(?P<sm>\d{2,3})[af]?\b")
_BUILD_FILE = re.compile(r"(^|/)(CMakeLists\.txt|[\w.-]+\.cmake|setup\.py|build\.sh|[\w.-]*\.bzl|BUILD)$")
_PLATFORM_CALLS = {
    r"\bis_hip\(\)|\b_is_hip\b|\bis_rocm\(\)|\btorch\.version\.hip\b|\bon_gfx9\w*\(\)|\bis_gfx\d+": "ROCm",
    r"\bis_npu\(\)|\b_is_npu\b|\btorch_npu\b": "NPU",
    r"\bis_xpu\(\)|\b_is_xpu\b|\btorch\.xpu\b": "XPU",
    r"\bis_cpu\(\)|\b_is_cpu\b": "CPU",
    r"\bis_tpu\(\)|\b_is_tpu\b": "TPU",
    r"\bis_musa\(\)|\b_is_musa\b|\btorch_musa\b": "MUSA",
    r"\bis_blackwell\w*\(\)": "Blackwell",
    r"\bis_hopper\w*\(\)": "Hopper",
}
_CAPABILITY_FUNCTION = re.compile(r"capabilit|min_sm|min_arch", re.I)


def _sm_values(match: re.Match) -> list[str]:
    values = match.groupdict()
    if values.get("list"):
        return [f"SM{v.strip()}" for v in values["list"].split(",") if v.strip()]
    if values.get("major"):
        return [f"SM{values['major']}{values['minor']}"]
    if values.get("arch"):
        return [f"SM{int(values['arch']) // 10}"]
    number = values.get("sm") or values.get("cmp") or values.get("named")
    return [f"SM{number}"] if number else []


def _capabilities(shipped: list[dict]) -> list[Fact]:
    facts: list[Fact] = []
    checks: dict[str, str] = {}  # SM -> the verbatim fragment that shows it
    targets: dict[str, str] = {}
    platforms: dict[str, str] = {}
    removed_text = "\n".join(line.text for line in lines_of(shipped) if line.mark == "-")
    for line in _added(lines_of(shipped)):
        if _BUILD_FILE.search(line.path) or line.path.endswith((".cmake", ".txt")):
            for match in _ARCH_TARGET.finditer(line.text):
                sm = f"SM{match.group('sm')}"
                if match.group(0) not in removed_text:
                    targets.setdefault(sm, match.group(0))
            continue
        for match in _CAPABILITY_CALL.finditer(line.text):
            if match.group(0) in removed_text:
                continue
            for sm in _sm_values(match):
                checks.setdefault(sm, match.group(0).strip())
        for pattern, platform in _PLATFORM_CALLS.items():
            if (match := re.search(pattern, line.text)) and match.group(0) not in removed_text:
                platforms.setdefault(platform, match.group(0))
    # A capability function whose returned minimum changes: "return 80" -> "return 75".
    for old, new, scope in _returns(shipped):
        if _CAPABILITY_FUNCTION.search(scope) and old.isdigit() and new.isdigit():
            facts.append(Fact("capability_min", (scope,), old=old, new=new))
    if checks:
        facts.append(_fact("capability", sorted(checks, key=_sm_order), detail=next(iter(checks.values()))))
    if targets:
        facts.append(_fact("arch_target", sorted(targets, key=_sm_order), detail=next(iter(targets.values()))))
    if platforms:
        facts.append(_fact("platform_branch", list(platforms), detail=next(iter(platforms.values()))))
    return facts


def _sm_order(sm: str) -> int:
    return int(re.sub(r"\D", "", sm) or 0)


SM_GENERATIONS = {
    70: "Volta", 75: "Turing", 80: "Ampere", 86: "Ampere", 87: "Ampere", 89: "Ada", 90: "Hopper",
    100: "Blackwell", 101: "Blackwell", 103: "Blackwell", 110: "Blackwell", 120: "Blackwell", 121: "Blackwell",
}  # fmt: skip


def generation(sm: str) -> str:
    """The GPU generation of "SM90" (Hopper), "SM100" (Blackwell), … or ""."""
    return SM_GENERATIONS.get(_sm_order(sm), "")


# --- performance claims ---------------------------------------------------------------------------------
_CLAIM = re.compile(
    r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>%|x\b|×)\s*(?P<metric>(?:(?:E2E|end-to-end|e2e|decode|prefill|output|"
    r"input|total|overall|kernel|request)\s+)?(?:throughput|latency|TPOT|TTFT|ITL|speed-?up|faster|improvement|"
    r"reduction|gain|boost|lower|higher)(?:\s+(?:improvement|reduction|gain|speed-?up))?)",
    re.I,
)
_CLAIM_AFTER = re.compile(
    r"(?P<metric>(?:E2E |end-to-end |decode |prefill |output )?(?:throughput|latency|TPOT|TTFT|ITL))\s+"
    r"(?:improve[sd]?|increase[sd]?|reduce[sd]?|decrease[sd]?|drop(?:s|ped)?|goes up|went up)\s+(?:by\s+)?"
    r"(?:up to\s+|~|about\s+)?(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>%|x\b|×)",
    re.I,
)


def _perf_claims(view: CommitView) -> list[Fact]:
    text = "\n".join([parse_title(view.title).text, clean_body(view.message, 2000), clean_body("x\n" + view.pr_body)])
    claims: list[str] = []
    metrics: list[str] = []
    for pattern in (_CLAIM, _CLAIM_AFTER):
        for match in pattern.finditer(text):
            figure = f"{match.group('number')}{'%' if match.group('unit') == '%' else match.group('unit')}"
            if figure not in claims:
                claims.append(figure)
                metrics.append(match.group("metric").strip())
    if not claims:
        return []
    return [Fact("perf_claim", tuple(claims[:MAX_NAMES]), detail="|".join(metrics[:MAX_NAMES]))]


# --- constants, limits, returned values ----------------------------------------------------------------
_PY_CONSTANT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]{2,})\s*(?::\s*[^=]+)?=\s*(?P<value>[^#\n]+?)\s*(?:#.*)?$")
_CPP_CONSTANT = re.compile(
    r"^\s*(?:(?:inline|static|constexpr|const)\s+)+[\w:<>]+\s+(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>[^;]+);"
)
_DEFINE = re.compile(r"^\s*#define\s+(?P<name>[A-Z][A-Z0-9_]+)\s+(?P<value>\S[^/]*?)\s*(?://.*)?$")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_COMPARISON = r"[\w.\[\]]*[\w\]]\s*(?:<=|>=|==|!=|<|>)\s*"
# An assignment counts as a limit only when its name says it is one.
_LIMIT_NAME = r"[\w.\[\]]*(?:max|min|size|limit|num|threshold|timeout|block|chunk|capacity|budget|len)\w*\s*=\s*"


def _constants_and_limits(shipped: list[dict]) -> list[Fact]:
    facts: list[Fact] = []
    for change in shipped:
        if language_for(change["path"]) not in SOURCE_LANGUAGES:
            continue
        before: dict[str, str] = {}
        after: dict[str, str] = {}
        for line in _changed(change):
            for pattern in (_PY_CONSTANT, _CPP_CONSTANT, _DEFINE):
                if (match := pattern.match(line.text)) and _SHORT_VALUE.match(match.group("value").strip()):
                    (before if line.mark == "-" else after)[match.group("name")] = match.group("value").strip()
                    break
        for name in before.keys() & after.keys():
            if before[name] != after[name] and not before[name].endswith(("(", "[", "{")):
                facts.append(Fact("constant", (name,), old=before[name], new=after[name]))
        facts += _limits(change, set(before) | set(after))
    return facts


def _limits(change: dict, constants: set[str]) -> list[Fact]:
    """A line whose only change is a number: "topK <= 8" -> "topK <= 22"."""
    facts: list[Fact] = []
    for hunk in hunks(change.get("patch")):
        removed = [t for m, t in hunk.lines if m == "-" and t.strip()]
        added = [t for m, t in hunk.lines if m == "+" and t.strip()]
        for old in removed:
            if re.match(r"^\s*(return\b|#|//)", old) or any(name in old for name in constants):
                continue
            for new in added:
                pair = _number_change(old, new)
                if pair:
                    facts.append(Fact("limit", (pair[0],), old=pair[0], new=pair[1]))
                    break
    return facts[:2]


def _number_change(old: str, new: str) -> tuple[str, str] | None:
    split_old, split_new = _NUMBER.split(old), _NUMBER.split(new)
    numbers_old, numbers_new = _NUMBER.findall(old), _NUMBER.findall(new)
    if split_old != split_new or numbers_old == numbers_new or not numbers_old:
        return None
    index = next(i for i, (a, b) in enumerate(zip(numbers_old, numbers_new, strict=True)) if a != b)
    pattern = re.compile(rf"(?:{_COMPARISON}|{_LIMIT_NAME})$", re.I)
    prefix_old = "".join(p + n for p, n in zip(split_old[:index], numbers_old[:index], strict=False)) + split_old[index]
    match = pattern.search(prefix_old)
    if not match:
        return None
    expression = match.group(0)
    return (expression + numbers_old[index]).strip(), (expression + numbers_new[index]).strip()


def _returns(shipped: list[dict]) -> list[tuple[str, str, str]]:
    """(old, new, function) for a returned constant that changed inside one function."""
    found = []
    for change in shipped:
        removed: dict[tuple[int, str], str] = {}
        for line in lines_of([change]):
            match = re.match(r"^\s*return\s+(?P<value>[^\n#]{1,30}?)\s*;?\s*(?:#.*)?$", line.text)
            if not match or not line.scope:
                continue
            key = (line.hunk, line.scope)
            if line.mark == "-":
                removed[key] = match.group("value")
            elif line.mark == "+" and key in removed and removed[key] != match.group("value"):
                found.append((removed.pop(key), match.group("value"), line.scope))
    return found


# --- kernels, models, files ---------------------------------------------------------------------------
_TRITON_DECORATOR = re.compile(r"^\s*@(?:triton\.jit|triton\.autotune|cute\.kernel|cute\.jit|tl\.jit)\b")
_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(")
_GLOBAL = re.compile(r"__global__\s+(?:__launch_bounds__\([^)]*\)\s+)?void\s+([A-Za-z_]\w*)")
_OP_DEF = re.compile(r"\b(?:ops|m)\.def\(\s*\"([A-Za-z_]\w*)")


def _kernels(shipped: list[dict]) -> list[Fact]:
    new: dict[str, str] = {}
    gone: set[str] = set()
    touched: list[str] = []
    for change in shipped:
        pending = False
        for line in lines_of([change]):
            if line.mark == "-":
                for pattern in (_GLOBAL, _OP_DEF):
                    gone.update(pattern.findall(line.text))
                if match := _DEF.match(line.text):
                    gone.add(match.group(1))
                continue
            if line.mark == "+":
                if _TRITON_DECORATOR.match(line.text):
                    pending = True
                    continue
                if pending and (match := _DEF.match(line.text)):
                    new.setdefault(match.group(1), "triton")
                    pending = False
                for name in _GLOBAL.findall(line.text):
                    new.setdefault(name, "cuda")
                for name in _OP_DEF.findall(line.text):
                    new.setdefault(name, "op")
        for hunk in hunks(change.get("patch")):
            modified = any(m in "+-" for m, _ in hunk.lines)
            names = _GLOBAL.findall(hunk.header) + [n for m, t in hunk.lines if m == " " for n in _GLOBAL.findall(t)]
            if modified and names:
                touched += names
    facts = []
    fresh = {name: kind for name, kind in new.items() if name not in gone}
    for kind in ("cuda", "triton", "op"):
        names = [name for name, k in fresh.items() if k == kind]
        if names:
            facts.append(_fact("kernel_added", names, detail=kind))
    old = [name for name in dict.fromkeys(touched) if name not in fresh]
    if old:
        facts.append(_fact("kernel_touched", old))
    return facts


_ARCHITECTURE = re.compile(r'^\s+"(?P<arch>[A-Z]\w+(?:For\w+|Model|LM))"\s*:')
_ENTRY_CLASS = re.compile(r"^EntryClass\s*=\s*\[?\s*(?P<arch>[A-Z]\w+)")


def _models(shipped: list[dict]) -> list[Fact]:
    archs = []
    for line in _added(lines_of(shipped)):
        registry = PurePosixPath(line.path).name == "registry.py"
        pattern = _ARCHITECTURE if registry else _ENTRY_CLASS if is_model_path(line.path) else None
        if pattern and (match := pattern.match(line.text)):
            archs.append(match.group("arch"))
    return [_fact("model_registered", archs)] if archs else []


_BACKEND_DIR = re.compile(
    r"(^|/)(attention/backends|layers/attention|token_dispatcher|disaggregation/\w+|kv_connector(/v1)?"
    r"|device_communicators|kv_transfer)/[^/]+\.py$"
)


def file_kind(path: str) -> str:
    """kernel, model, backend or module: what a new shipped file is."""
    if is_model_path(path):
        return "model"
    if file_role(path) == "kernel" or path.endswith((".cu", ".cuh")):
        return "kernel"
    if path.endswith((".h", ".hpp", ".hh")):
        return "header"
    if _BACKEND_DIR.search(path):
        return "backend"
    return "module"


def _files(files: list[dict]) -> list[Fact]:
    facts: list[Fact] = []
    added: dict[str, list[str]] = {}
    for change in files:
        path, status, role = change["path"], change.get("status"), file_role(change["path"])
        role = "bench" if re.search(r"(^|/)benches/", path) else role
        name = PurePosixPath(path).name
        if name == "__init__.py" or language_for(path) not in SOURCE_LANGUAGES:
            continue
        if status == "added" and role not in NOT_SHIPPED:
            added.setdefault(file_kind(path), []).append(name)
        elif status == "added" and role in ("test", "bench"):
            added.setdefault(role, []).append(name)
        elif status == "removed" and role not in NOT_SHIPPED:
            added.setdefault("removed", []).append(name)
    for kind in ("kernel", "header", "model", "backend", "module"):
        if added.get(kind):
            facts.append(_fact("file_added", added[kind], detail=kind))
    if added.get("removed"):
        facts.append(_fact("file_removed", added["removed"]))
    tests = added.get("test", []) + added.get("bench", [])
    if tests:
        facts.append(_fact("tests_added", tests, detail="bench" if not added.get("test") else "test"))
    return facts


# --- symbols, methods, fields, signatures ------------------------------------------------------------------
def _symbols(symbols) -> list[Fact]:
    facts = []
    added = [s for s in symbols.added if not s.startswith("-") and not s.isupper()]
    if added:
        classes = [s for s in added if s[:1].isupper()]
        functions = [s for s in added if not s[:1].isupper()]
        facts.append(_fact("symbols_added", classes + functions, detail=f"{len(classes)}/{len(functions)}"))
    removed = [s for s in symbols.removed if not s.startswith("-")]
    if removed:
        facts.append(_fact("symbols_removed", removed))
    if symbols.renamed:
        facts.append(Fact("symbols_renamed", tuple(old for old, _ in symbols.renamed[:2]), new=symbols.renamed[0][1]))
    return facts


_METHOD = re.compile(r"^( {4}|\t)(?:async\s+)?def\s+([A-Za-z]\w*)\s*\(")
_CLASS_FIELD = re.compile(r"^ {4}([a-z][a-z0-9_]*)\s*:\s*[^=()]+?(?:\s*=\s*.+)?$")


def _methods_and_fields(shipped: list[dict]) -> list[Fact]:
    removed: dict[str, list[str]] = {}
    added_anywhere: set[str] = set()
    fields: dict[str, list[str]] = {}
    for change in shipped:
        if language_for(change["path"]) != "python" or is_model_path(change["path"]):
            continue
        config = bool(re.search(r"(^|/)(server_args|arg_utils|configs?/)", change["path"]))
        owner = ""
        for hunk in hunks(change.get("patch")):
            header = re.match(r"^class\s+(\w+)", hunk.header)
            owner = header.group(1) if header else ""
            for mark, text in hunk.lines:
                if match := re.match(r"^class\s+(\w+)", text):
                    owner = match.group(1)
                    continue
                if re.match(r"^[A-Za-z_@]", text):
                    owner = ""
                if mark == "-" and (match := _METHOD.match(text)) and owner:
                    removed.setdefault(owner, []).append(match.group(2))
                elif mark == "+" and (match := _METHOD.match(text)):
                    added_anywhere.add(match.group(2))
                elif (
                    mark == "+"
                    and owner
                    and not config
                    and (match := _CLASS_FIELD.match(text))
                    and not text.rstrip().endswith(",")
                ):
                    fields.setdefault(owner, []).append(match.group(1))
    facts = []
    for owner, names in removed.items():
        gone = [n for n in names if n not in added_anywhere]
        if gone:
            facts.append(_fact("methods_removed", gone, owner=owner))
    for owner, names in fields.items():
        facts.append(_fact("class_fields_added", names, owner=owner))
    return merged(facts)[:3]


def _signature_params(text: str) -> list[str]:
    inside = text[text.index("(") + 1 :]
    depth, current, params = 0, "", []
    for char in inside:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        if char == "," and depth == 0:
            params.append(current)
            current = ""
        else:
            current += char
    params.append(current)
    names = []
    for param in params:
        name = re.match(r"^\s*\**([A-Za-z_]\w*)", param)
        if name and name.group(1) not in ("self", "cls"):
            names.append(name.group(1))
    return names


def _signatures(shipped: list[dict]) -> list[Fact]:
    """Parameters a Python function gains or loses, read from both sides of each hunk."""
    facts = []
    for change in shipped:
        if language_for(change["path"]) != "python":
            continue
        for hunk in hunks(change.get("patch")):
            sides = {}
            for sign in "-+":
                lines = hunk.side(sign)
                found = {}
                for index, text in enumerate(lines):
                    if match := re.match(r"^\s*(?:async\s+)?def\s+([A-Za-z]\w*)\s*\(", text):
                        signature = "\n".join(lines[index : index + 30])
                        closed = signature.find(":\n") if ":\n" in signature else len(signature)
                        found[match.group(1)] = _signature_params(signature[:closed])
                sides[sign] = found
            for name in sides["-"].keys() & sides["+"].keys():
                before, after = sides["-"][name], sides["+"][name]
                gained = [p for p in after if p not in before]
                lost = [p for p in before if p not in after]
                if gained and not name.startswith("_"):
                    facts.append(_fact("params_added", gained, owner=name))
                if lost and not name.startswith("_"):
                    facts.append(_fact("params_removed", lost, owner=name))
        # C++ op schemas: ops.def("name(int a, int b) -> int")
        schemas = {"-": {}, "+": {}}
        for line in lines_of([change]) if language_for(change["path"]) in ("cpp", "cuda") else []:
            if line.mark in "-+" and (match := re.search(r"\"(\w+)\(([^)]*)", line.text)):
                params = [p.strip().split(" ")[-1] for p in match.group(2).split(",") if p.strip()]
                schemas[line.mark][match.group(1)] = params
        for name in schemas["-"].keys() & schemas["+"].keys():
            gained = [p for p in schemas["+"][name] if p not in schemas["-"][name] and p.isidentifier()]
            if gained:
                facts.append(_fact("params_added", gained, owner=name))
    return list(dict.fromkeys(facts))[:2]


# --- guards and synchronization --------------------------------------------------------------------------
_GUARD = re.compile(r"^\s*(?:if|elif)\s+(?P<cond>(?:not\s+)?[\w.]+\s+is\s+(?:not\s+)?None|not\s+hasattr\([^)]*\))\s*:")
_SYNC = re.compile(
    r"(?P<call>[\w.]*(?:\.wait_event|\.wait_stream|\.synchronize|\.record_stream|\.barrier|all_reduce|all_gather"
    r"|torch\.cuda\.Event|threading\.(?:Lock|RLock|Event|Condition)|__syncthreads|__syncwarp|cuda\.synchronize))\("
)


def _guards_and_sync(shipped: list[dict]) -> list[Fact]:
    guards: dict[str, list[str]] = {}
    calls: list[str] = []
    removed = "\n".join(line.text for line in lines_of(shipped) if line.mark == "-")
    for line in _added(lines_of(shipped)):
        if (match := _GUARD.match(line.text)) and match.group("cond") not in removed and line.scope:
            guards.setdefault(line.scope, []).append(match.group("cond"))
        for match in _SYNC.finditer(line.text):
            call = match.group("call").lstrip(".")
            if call and call not in removed:
                calls.append(call)
    facts = [_fact("guard", conditions, owner=scope) for scope, conditions in list(guards.items())[:1]]
    if calls:
        facts.append(_fact("sync", calls))
    return facts


# --- dependencies -------------------------------------------------------------------------------------------
_PIN = re.compile(r"(?P<name>[A-Za-z][\w.-]*(?:\[[\w,]+\])?)\s*(?P<op>==|>=|~=|<=)\s*(?P<version>\d[\w.+-]*)")
_DEPENDENCY_FILE = re.compile(
    r"(^|/)(requirements[^/]*\.(txt|in)|pyproject[^/]*\.toml|setup\.py|[\w.-]*Dockerfile[^/]*)$"
)


def _dependencies(files: list[dict]) -> list[Fact]:
    facts = []
    for change in files:
        if not _DEPENDENCY_FILE.search(change["path"]):
            continue
        before: dict[str, str] = {}
        after: dict[str, str] = {}
        for line in _changed(change):
            for match in _PIN.finditer(line.text):
                (before if line.mark == "-" else after)[match.group("name")] = match.group("version")
        for name in before.keys() & after.keys():
            if before[name] != after[name]:
                facts.append(Fact("dependency", (name,), old=before[name], new=after[name]))
    return facts[:3]


# --- the message and the pull request -------------------------------------------------------------------------
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")


def summary_sentence(view: CommitView) -> str:
    """The first informative sentence the commit message or its pull request writes about the change."""
    title = parse_title(view.title).text.lower()
    for body in (clean_body(view.message, 1200), clean_body("x\n" + (view.pr_body or ""), 1200)):
        for sentence in _SENTENCE.split(body):
            sentence = sentence.strip(" *-")
            words = sentence.split()
            if 6 <= len(words) <= 45 and sentence.lower().rstrip(".") != title and not sentence.endswith(":"):
                return sentence if sentence.endswith((".", "!", "?")) else sentence + "."
    return ""


def _message(view: CommitView) -> list[Fact]:
    sentence = summary_sentence(view)
    facts = [Fact("summary", (), detail=sentence)] if sentence else []
    body = clean_body(view.message, 1200) or clean_body("x\n" + (view.pr_body or ""), 1200)
    points = []
    for part in re.split(r"(?<=[.!?;])\s+|\s+\*\s+|\n", body):
        part = part.strip(" *-")
        words = part.split()
        if 3 <= len(words) <= 14 and part[:1].isupper() and words[0].lower() in VERBS_ZH:
            points.append(part.rstrip(".;"))
    if points:
        facts.append(Fact("message_point", tuple(points[:2])))
    return facts


# --- what else changed ----------------------------------------------------------------------------------------
def _touched(shipped: list[dict], found: list[Fact]) -> list[Fact]:
    """The functions and classes whose bodies changed most, when nothing more specific was found."""
    weights: dict[str, int] = {}
    for line in lines_of(shipped):
        if line.mark in "+-" and line.scope and not line.scope.startswith("__"):
            weights[line.scope] = weights.get(line.scope, 0) + 1
    named = {name for fact in found for name in (*fact.names, fact.owner)}
    names = [n for n, _ in sorted(weights.items(), key=lambda kv: -kv[1]) if n not in named]
    return [_fact("functions_touched", names[:3])] if names else []
