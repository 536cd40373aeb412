"""Which public surfaces a commit changes: what decides "breaking", and which options it adds.

Breaking means a change to something users call or set, never to code inside the project:

- names a package exports (top-level `__init__.py` re-exports, `__all__` lists) or documents
  (a removed symbol that the same commit also removes from the docs);
- CLI flags (`add_argument`), their accepted values (`*_CHOICES` lists) and defaults;
- names registered for users to pick: `@X_REGISTRY.register("name")` decorators, and the keys of
  module-level dicts named like registries (`*_REGISTRY`, `*_BACKENDS`, `*_LOADERS`, `*_METHODS`…);
- environment variables (the `envs.py`/`environ.py` registries, `getenv`-style reads) and defaults;
- config fields (dataclass/pydantic fields of `config/`, `server_args.py`, `arg_utils.py`, ...)
  and their defaults, and values of module-level `Literal[...]` types such as quantization methods;
- HTTP request/response fields of the OpenAI-compatible server (`protocol.py`);
- a commit that says so (`feat!:`, "BREAKING CHANGE", "BC-breaking", a `breaking` label), and a
  `[Deprecation]` commit that removes a feature.

Model directories, private names (leading underscore), kernels, tests, benchmarks and docs are
never a breaking surface. Each finding is a `Surface` record (its kind and the names, values and
owner it is about); `str()` gives the one English line prompts and the editor read, e.g. "CLI flag
`--foo` removed", and the analyzers word the same record in the reader's language.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from newsletter.analysis.diffs import NOT_SHIPPED, Hunk, file_role, hunks, is_model_path, symbol_changes

CONFIG_FILE = re.compile(
    r"(^|/)(server_args|arg_utils|cli_args|sampling_params|engine_args|serve_args)\.py$|(^|/)configs?/[^/]+\.py$"
)
PROTOCOL_FILE = re.compile(r"(^|/)([\w]*protocol[\w]*|openai_api_types|api_types)\.py$")
ENV_REGISTRY_FILE = re.compile(r"(^|/)(envs|environ|env_vars?)\.py$")
# Lists whose removed entries are not a loss for users.
_NOT_A_LOSS = re.compile(r"deprecat|unsupported|skip|ignore|exclude|block|deny|test|legacy|old", re.I)
_OPENER = re.compile(r"^(?P<indent>\s*)(?P<name>[A-Za-z_][\w.]*)\s*(?::\s*(?P<ann>[^=]*?))?\s*(?:=\s*(?P<value>.*))?$")
_FLAG = re.compile(r"[\"'](--[A-Za-z0-9][\w-]*)[\"']")
_DEFAULT_ARG = re.compile(r"\bdefault\s*=\s*(?P<value>.+?)\s*(?:,\s*(?:\w+\s*=|$)|\)\s*$|$)")
_FIELD = re.compile(
    r"^ {4}(?P<name>[a-z][a-z0-9_]*)\s*:\s*(?P<type>[^=#]+?)\s*(?:=\s*(?P<default>[^#]+?))?\s*(?:#.*)?$"
)
_ENV_NAME = r"[A-Z][A-Z0-9_]{2,}"
_ENV_READ = re.compile(
    rf"(?:os\.getenv|os\.environ\.get|\bgetenv|get_(?:bool|int|float|str)_env_var|env_(?:bool|int|float|str))"
    rf"\(\s*[\"'](?P<name>{_ENV_NAME})[\"']\s*(?:,\s*(?P<default>[^)]*?))?\s*\)"
)
_ENV_SET = re.compile(
    rf"envs\.(?P<a>{_ENV_NAME})\.set\(|os\.environ\[[\"'](?P<b>{_ENV_NAME})[\"']\]\s*=[^=]"
    rf"|os\.environ\.setdefault\(\s*[\"'](?P<c>{_ENV_NAME})[\"']"
)
_ENV_ENTRY = [
    re.compile(rf"^\s+[\"'](?P<name>{_ENV_NAME})[\"']\s*:\s*lambda\b"),  # vLLM's table of lambdas
    re.compile(rf"^\s+(?P<name>{_ENV_NAME})\s*=\s*Env\w*\((?P<default>.*)\)\s*$"),  # SGLang's Envs class
    re.compile(rf"^\s+(?P<name>{_ENV_NAME})\s*:\s*[\w\[\], |.]+=\s*(?P<default>.+?)\s*$"),  # typed declarations
]
_EXPLICIT = re.compile(r"\bBREAKING[ -]CHANGES?\b|\bBC[- ]?breaking\b|\bbackwards?[- ]incompatible\b", re.I)
_REMOVAL_VERB = re.compile(r"^(remove[sd]?|delete[sd]?|drop(s|ped)?|deprecate[sd]? and remove)\b\s*", re.I)


# The English line of each kind of finding (names in backticks, verbatim from the commit).
_ENGLISH = {
    "flag_default": "default of CLI flag `{name}` changed from `{old}` to `{new}`",
    "flag_renamed": "CLI flag `{name}` renamed to `{new}`",
    "flag_removed": "CLI flag `{name}` removed",
    "flag_added": "CLI flag `{name}` added",
    "env_default": "default of environment variable `{name}` changed from `{old}` to `{new}`",
    "env_renamed": "environment variable `{name}` renamed to `{new}`",
    "env_removed": "environment variable `{name}` removed",
    "env_added": "environment variable `{name}` added",
    "env_set": "environment variable `{name}` now set by the code",
    "env_unset": "environment variable `{name}` no longer set by the code",
    "field_default": "default of {field} changed from `{old}` to `{new}`",
    "field_renamed": "{field} renamed to `{new}`",
    "field_removed": "{field} removed",
    "field_added": "{field} added",
    "value_removed": "accepted value `{name}` of `{owner}` removed",
    "value_added": "accepted value `{name}` of `{owner}`",
    "backend_added": "backend `{name}` {where}",
    "export_removed": "exported name `{name}` removed from `{owner}`",
    "documented_removed": "documented API `{name}` removed",
    "registry_removed": "registered name `{name}` removed from `{owner}`",
    "registry_added": "`{name}` registered in `{owner}`",
    "declared_breaking": "{declared}",
    "deprecated_removed": "deprecated feature removed: {name}",
}


@dataclass(frozen=True)
class Surface:
    """One public surface a commit changes. `kind` is one of `_ENGLISH`'s keys (facts.py's kinds)."""

    kind: str
    name: str = ""  # the flag, variable, field, value or name; a feature's words for deprecated_removed
    owner: str = ""  # the list, registry, class or module the name belongs to
    old: str = ""  # the default before, for *_default
    new: str = ""  # the default after, or the new name of a rename
    detail: str = ""  # fields: "request"/"response"/"protocol" (HTTP) or "" (config);
    # backends: "accepted"/"registered"; declared_breaking: "message"/"label"

    def __str__(self) -> str:
        field = f"HTTP {self.detail} field" if self.detail else "config field"
        where = {"accepted": f"accepted by `{self.owner}`", "registered": f"registered in `{self.owner}`"}
        declared = {"label": "labelled breaking on the pull request"}
        return _ENGLISH[self.kind].format(
            name=self.name,
            owner=self.owner,
            old=self.old,
            new=self.new,
            field=f"{field} `{self.owner}.{self.name}`",
            where=where.get(self.detail, "registered"),
            declared=declared.get(self.detail, "declared breaking in the commit message"),
        )


@dataclass(frozen=True)
class SurfaceChanges:
    breaking: tuple[Surface, ...] = ()  # public surfaces removed, renamed or whose default changed
    changed: tuple[Surface, ...] = ()  # options removed, renamed or set differently (a subset may be breaking)
    added: tuple[Surface, ...] = ()  # new flags, environment variables, config fields, accepted values
    backends: tuple[Surface, ...] = ()  # newly registered backends or accepted backend values


@dataclass
class _Found:
    breaking: list[Surface]
    changed: list[Surface]
    added: list[Surface]
    backends: list[Surface]

    def add(self, where: str, surface: Surface) -> None:
        bucket = getattr(self, where)
        if surface not in bucket:
            bucket.append(surface)

    def breaks(self, surface: Surface) -> None:
        """A surface removed, renamed or given another default: it breaks a user, and it is a change."""
        self.add("breaking", surface)
        self.add("changed", surface)


def public_file(path: str) -> bool:
    """Shipped code outside model directories, kernels, tests, benchmarks and docs."""
    return file_role(path) not in (*NOT_SHIPPED, "kernel") and not is_model_path(path) and path.endswith(".py")


def surface_changes(
    files: list[dict], *, tags: Iterable[str] = (), title_text: str = "", notes: str = "", labels: Iterable[str] = ()
) -> SurfaceChanges:
    """Read every public surface a commit touches. `tags` are the title's lower-cased tags,
    `title_text` the title without them, `notes` the commit message and pull request body."""
    found = _Found([], [], [], [])
    shipped = [f for f in files if file_role(f["path"]) not in NOT_SHIPPED]
    _flags(shipped, found)
    _env_vars(files, found)
    for change in shipped:
        path = change["path"]
        if is_model_path(path) or not path.endswith(".py"):
            continue
        if CONFIG_FILE.search(path) or PROTOCOL_FILE.search(path):
            _fields(change, found)
        _choices(change, found)
        _backend_members(change, found)
        if path.endswith("__init__.py") or "__all__" in (change.get("patch") or ""):
            _exports(change, found)
    _registered(shipped, found)
    _documented(files, found)
    tags = set(tags)
    explicit = "breaking" in tags or "bc-breaking" in tags or bool(_EXPLICIT.search(notes or ""))
    if explicit and not found.breaking:
        found.add("breaking", Surface("declared_breaking", detail="message"))
    if any(re.search(r"breaking", label, re.I) for label in labels) and not found.breaking:
        found.add("breaking", Surface("declared_breaking", detail="label"))
    if ({"deprecation", "deprecate", "deprecated"} & tags) and not found.breaking:
        removed = _REMOVAL_VERB.match(title_text)
        gone = sum(f.get("deletions", 0) for f in shipped) > sum(f.get("additions", 0) for f in shipped)
        if removed and gone:
            feature = _REMOVAL_VERB.sub("", title_text).strip() or "a deprecated feature"
            found.add("breaking", Surface("deprecated_removed", feature))
    return SurfaceChanges(*(tuple(getattr(found, k)) for k in ("breaking", "changed", "added", "backends")))


# --- bracketed lists: CHOICES, Literal types, __all__ -------------------------------------------
@dataclass(frozen=True)
class _Block:
    name: str
    items: frozenset[str]  # string entries (or dict keys) at the first level
    module_level: bool
    literal: bool
    keyed: bool = False  # the items are a dict's keys


def _scan(text: str) -> tuple[list[str], list[str], bool]:
    """String entries and dict keys at the first bracket level of `text`; whether the bracket closed."""
    items, keys, depth, i, started = [], [], 0, 0, False
    while i < len(text):
        char = text[i]
        if char in "\"'":
            end = i + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            value = text[i + 1 : end]
            if depth == 1:
                following = text[end + 1 :].lstrip()
                (keys if following.startswith(":") else items).append(value)
            i = end + 1
            continue
        if char == "#":
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        if char in "([{":
            depth += 1
            started = True
        elif char in ")]}":
            depth -= 1
            if started and depth == 0:
                return items, keys, True
        i += 1
    return items, keys, False


def _blocks(lines: list[str]) -> list[_Block]:
    """Named bracketed values in a hunk side: `NAME = [...]`, `x: Literal[...] = ...`, `__all__ = (...)`."""
    found = []
    for index, line in enumerate(lines):
        opener = _OPENER.match(line)
        if not opener or line.lstrip().startswith(("def ", "class ", "return ", "if ", "elif ", "for ")):
            continue
        ann, value = opener.group("ann") or "", opener.group("value") or ""
        literal = "Literal[" in ann or value.lstrip().startswith("Literal[")
        if literal:
            start = ann[ann.index("Literal[") :] if "Literal[" in ann else value.lstrip()
        elif value.lstrip()[:1] in ("[", "(", "{") or value.lstrip().startswith(("frozenset(", "set(", "tuple(")):
            start = value.lstrip()
        else:
            continue
        text = "\n".join([start, *lines[index + 1 :]])
        items, keys, _closed = _scan(text)
        found.append(
            _Block(opener.group("name"), frozenset(keys or items), not opener.group("indent"), literal, bool(keys))
        )
    return found


def _sides(hunk: Hunk) -> tuple[list[str], list[str]]:
    """Both sides of a hunk, starting with the block opener git shows in the header when the hunk
    begins inside a bracketed value (e.g. `@@ -17,11 +17,9 @@ QuantizationMethods = Literal[`)."""
    before, after = hunk.side("-"), hunk.side("+")
    if hunk.header and re.search(r"[\[({]\s*$", hunk.header):
        before, after = [hunk.header, *before], [hunk.header, *after]
    return before, after


def _choices(change: dict, found: _Found) -> None:
    path = change["path"]
    config = bool(CONFIG_FILE.search(path) or PROTOCOL_FILE.search(path))
    lost: dict[str, set[str]] = {}
    gained: dict[str, set[str]] = {}
    registries: set[str] = set()
    for hunk in hunks(change.get("patch")):
        before, after = _sides(hunk)
        old = {b.name: b for b in _blocks(before)}
        new = {b.name: b for b in _blocks(after)}
        for name in old.keys() & new.keys():
            lost.setdefault(name, set()).update(old[name].items - new[name].items)
            gained.setdefault(name, set()).update(new[name].items - old[name].items)
            block = new[name]
            if block.keyed and block.module_level and _REGISTRY_NAME.search(name) and not _NOT_A_LOSS.search(name):
                registries.add(name)  # told once all hunks are read: a key may only have moved
                continue
            choices = name.upper().endswith("CHOICES") or (block.literal and (block.module_level or config))
            if (not choices and not block.literal) or _NOT_A_LOSS.search(name):
                continue
            for value in sorted(new[name].items - old[name].items):
                if "backend" in name.lower() and value.lower() not in ("auto", "default", "none", ""):
                    found.add("backends", Surface("backend_added", value, name, detail="accepted"))
                found.add("added", Surface("value_added", value, name))
            if choices:
                for value in sorted(old[name].items - new[name].items):
                    found.breaks(Surface("value_removed", value, name))
    # A value that only moved within the list is neither lost nor gained.
    for name, values in lost.items():
        for value in values & gained.get(name, set()):
            for bucket in (found.breaking, found.changed):
                moved = Surface("value_removed", value, name)
                if moved in bucket:
                    bucket.remove(moved)
    for name in registries:
        _registry_keys(name, lost[name] - gained[name], gained[name] - lost[name], found)


# Module-level dicts that users pick from by key: `ATTENTION_BACKENDS = {"flash": ...}`.
_REGISTRY_NAME = re.compile(r"(REGISTRY|BACKENDS?|LOADERS?|PARSERS?|CONNECTORS?|METHODS)$", re.I)


def _registry_keys(name: str, removed: set[str], added: set[str], found: _Found) -> None:
    for key in sorted(removed):
        found.breaks(Surface("registry_removed", key, name))
    for key in sorted(added):
        found.add("added", Surface("registry_added", key, name))
        if re.search(r"backend|loader|connector", name, re.I):
            found.add("backends", Surface("backend_added", key, name, detail="registered"))


def _backend_members(change: dict, found: _Found) -> None:
    """Members added to a class whose name says it lists backends (e.g. an attention backend enum)."""
    for hunk in hunks(change.get("patch")):
        owner = ""
        for mark, text in [(" ", hunk.header), *hunk.lines]:
            if match := re.match(r"^\s*class\s+(\w+)", text):
                owner = match.group(1)
            if mark == "+" and "backend" in owner.lower() and (member := re.match(r"^ {4}([A-Z][A-Z0-9_]+)\s*=", text)):
                found.add("backends", Surface("backend_added", member.group(1), owner, detail="registered"))
            if mark == "+" and (registered := re.search(r"register_\w*backend\w*\(\s*([\w.\"']+)", text)):
                found.add("backends", Surface("backend_added", registered.group(1).strip(chr(34) + chr(39))))


# --- names users pick from a registry ----------------------------------------------------------------
# `@VIDEO_LOADER_REGISTRY.register("identity")`, `@ReasoningParserManager.register_module("kimi_k2")`:
# registries of backends, loaders, connectors and parsers that a flag, a config or an environment
# variable selects by name.
_REGISTER = re.compile(
    r"^\s*@(?P<registry>[\w.]*?(?:backend|loader|connector|parser|registry)\w*)\.register\w*\(\s*"
    r"[\"'](?P<name>[\w.-]+)[\"']",
    re.I,
)


def _registered(files: list[dict], found: _Found) -> None:
    gone: dict[str, str] = {}
    came: dict[str, str] = {}
    still: set[str] = set()  # every string the code holds after the change
    for change in files:
        if not public_file(change["path"]):
            continue
        for mark, text in (line for hunk in hunks(change.get("patch")) for line in hunk.lines):
            if match := _REGISTER.match(text):
                if mark == "-":
                    gone[match.group("name")] = match.group("registry")
                elif mark == "+":
                    came[match.group("name")] = match.group("registry")
            if mark != "-":
                still.update(re.findall(r"[\"']([\w.-]+)[\"']", text))
    for name, registry in gone.items():
        if name not in still:
            found.breaks(Surface("registry_removed", name, registry))
    for name, registry in came.items():
        if name not in gone:
            found.add("added", Surface("registry_added", name, registry))
            if re.search(r"backend|loader|connector", registry, re.I):
                found.add("backends", Surface("backend_added", name, registry, detail="registered"))


# --- CLI flags ----------------------------------------------------------------------------------------
def _flags(files: list[dict], found: _Found) -> None:
    minus: dict[str, str] = {}
    plus: dict[str, str] = {}
    for change in files:
        for hunk in hunks(change.get("patch")):
            docstring = {"-": False, "+": False}  # flags quoted in a docstring's example are no flags
            for mark, text in hunk.lines:
                for side in ("-", "+"):
                    if mark in (" ", side) and (text.count('"""') + text.count("'''")) % 2:
                        docstring[side] = not docstring[side]
                if mark == " " or docstring[mark]:
                    continue
                if re.match(r"^\s*(?:[\w.]+\.)?add_argument\(|^\s*[\"']--?[\w-]+[\"']\s*,", text):
                    for flag in _FLAG.findall(text):
                        (minus if mark == "-" else plus).setdefault(flag, change["path"])
        for hunk in hunks(change.get("patch")):
            before, after = (_arguments(side) for side in _sides(hunk))
            for flag in before.keys() & after.keys():
                if before[flag] and after[flag] and before[flag] != after[flag]:
                    surface = Surface("flag_default", flag, old=before[flag], new=after[flag])
                    found.breaks(surface)
    for flag in _removed_or_renamed("flag", minus, plus, found):
        found.add("added", Surface("flag_added", flag))


def _removed_or_renamed(kind: str, before: dict[str, str], after: dict[str, str], found: _Found) -> list[str]:
    """Breaks every name of `before` (name -> the file it is in) that `after` lacks: as a rename when it
    is the only one gone and one name came in its file, else as removed. Returns the names that came
    and are no rename's new name, in `after`'s order."""
    gone = [name for name in before if name not in after]
    new = [name for name in after if name not in before]
    for name in gone:
        twins = [n for n in new if after[n] == before[name]]
        if len(gone) == 1 and len(twins) == 1:
            surface = Surface(f"{kind}_renamed", name, new=twins[0])
            new.remove(twins[0])
        else:
            surface = Surface(f"{kind}_removed", name)
        found.breaks(surface)
    return new


def _arguments(lines: list[str]) -> dict[str, str]:
    """flag -> default text of every complete `add_argument(...)` call in a hunk side."""
    calls: dict[str, str] = {}
    for index, line in enumerate(lines):
        if "add_argument(" not in line:
            continue
        text = "\n".join(lines[index:])[line.index("add_argument(") :]
        depth, end = 0, -1
        for position, char in enumerate(text):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and char == ")":
                end = position
                break
        if end < 0:
            continue
        call = text[: end + 1]
        flags = _FLAG.findall(call)
        default = next((m.group("value") for m in map(_DEFAULT_ARG.search, call.split("\n")) if m), "")
        for flag in flags[:1]:
            calls[flag] = default.rstrip(",) ")
    return calls


# --- config and protocol fields -----------------------------------------------------------------------
def _fields(change: dict, found: _Found) -> None:
    path = change["path"]
    protocol = bool(PROTOCOL_FILE.search(path))
    removed: dict[tuple[str, str], str] = {}
    added: dict[tuple[str, str], str] = {}
    for hunk in hunks(change.get("patch")):
        old, new = _class_fields(hunk, "-"), _class_fields(hunk, "+")
        for key in old.keys() & new.keys():
            if old[key] != new[key] and old[key] and new[key]:
                surface = _field("field_default", key, protocol, old=old[key], new=new[key])
                found.breaks(surface)
        gone = {k: old[k] for k in old.keys() - new.keys()}
        came = {k: new[k] for k in new.keys() - old.keys()}
        if len(gone) == 1 and len(came) == 1 and next(iter(gone))[0] == next(iter(came))[0]:
            (owner, before), (_, after) = next(iter(gone)), next(iter(came))
            surface = _field("field_renamed", (owner, before), protocol, new=after)
            found.breaks(surface)
            continue
        removed.update(gone)
        added.update(came)
    for key in removed.keys() - added.keys():
        surface = _field("field_removed", key, protocol)
        found.breaks(surface)
    for key in added.keys() - removed.keys():
        found.add("added", _field("field_added", key, protocol))


def _field(kind: str, key: tuple[str, str], protocol: bool, *, old: str = "", new: str = "") -> Surface:
    owner, name = key
    if not protocol:
        return Surface(kind, name, owner, old, new)
    http = "request" if "Request" in owner else "response" if "Response" in owner else "protocol"
    return Surface(kind, name, owner, old, new, detail=http)


def _class_fields(hunk: Hunk, sign: str) -> dict[tuple[str, str], str]:
    """(class, field) -> default text, for the class-level fields on this side's changed lines.

    Git names the enclosing top-level line in the hunk header, so a header `class X` means the hunk
    starts inside X; class-level fields are the lines indented by exactly four spaces.
    """
    header = re.match(r"^class\s+(\w+)", hunk.header)
    owner = header.group(1) if header else ""
    fields: dict[tuple[str, str], str] = {}
    for mark, text in hunk.lines:
        if mark not in (" ", sign):
            continue
        if re.match(r"^[A-Za-z_@]", text):  # a new top-level statement ends the class
            match = re.match(r"^class\s+(\w+)", text)
            owner = match.group(1) if match else ""
            continue
        if mark != sign or not owner:
            continue
        field_match = _FIELD.match(text)
        if field_match and not text.rstrip().endswith(",") and not field_match.group("name").startswith("_"):
            fields[(owner, field_match.group("name"))] = (field_match.group("default") or "").strip()
    return fields


# --- environment variables ----------------------------------------------------------------------------
def _env_vars(files: list[dict], found: _Found) -> None:
    defined = {"-": {}, "+": {}}  # registry entries: name -> (path, default)
    read = {"-": {}, "+": {}}  # getenv-style reads: (path, name) -> default
    context: set[str] = set()
    documented: set[str] = set()
    undocumented: set[str] = set()  # names the docs stop listing: not new, whatever the code does
    shipped_plus: list[str] = []
    for change in files:
        path = change["path"]
        role = file_role(path)
        for hunk in hunks(change.get("patch")):
            for mark, text in hunk.lines:
                if role == "docs" and mark != " ":
                    (documented if mark == "+" else undocumented).update(re.findall(rf"`({_ENV_NAME})`", text))
                if role in NOT_SHIPPED:
                    continue
                if mark == "+":
                    shipped_plus.append(text)
                if mark == " ":
                    context.update(m.group("name") for m in _ENV_READ.finditer(text))
                    continue
                if ENV_REGISTRY_FILE.search(path):
                    for pattern in _ENV_ENTRY:
                        if entry := pattern.match(text):
                            name, default = entry.group("name"), (entry.groupdict().get("default") or "").strip()
                            if default or name not in defined[mark]:
                                defined[mark][name] = (path, default)
                            break
                for match in _ENV_READ.finditer(text):
                    read[mark][(path, match.group("name"))] = (match.group("default") or "").strip()
                for match in _ENV_SET.finditer(text):
                    name = match.group("a") or match.group("b") or match.group("c")
                    found.add("changed", Surface("env_unset" if mark == "-" else "env_set", name))
    where = {mark: {name: path for name, (path, _) in defined[mark].items()} for mark in "-+"}
    new = _removed_or_renamed("env", where["-"], where["+"], found)
    for name in defined["-"].keys() & defined["+"].keys():
        before, after = defined["-"][name][1], defined["+"][name][1]
        if before and after and before != after:
            surface = Surface("env_default", name, old=before, new=after)
            found.breaks(surface)
    for key in read["-"].keys() & read["+"].keys():
        before, after = read["-"][key], read["+"][key]
        if before and after and before != after:
            surface = Surface("env_default", key[1], old=before, new=after)
            found.breaks(surface)
    known = set(defined["-"]) | {name for _, name in read["-"]} | context | undocumented
    # A name the docs start listing and the code starts using is a new variable, however it is read.
    used = {name for name in documented if any(name in text for text in shipped_plus)}
    fresh = new + [name for _, name in read["+"] if name not in known and name in documented] + sorted(used - known)
    for name in dict.fromkeys(fresh):
        found.add("added", Surface("env_added", name))


# --- exports and documented API -----------------------------------------------------------------------
def package_of(path: str) -> tuple[str, bool]:
    """The dotted module of a Python file, and whether it is a top-level package's `__init__.py`."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    while parts and (not parts[0].isidentifier() or parts[0] in ("python", "src", "lib")) and len(parts) > 1:
        parts.pop(0)
    top = len(parts) == 2 and parts[-1] == "__init__"
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts), top


def _exports(change: dict, found: _Found) -> None:
    path = change["path"]
    if is_model_path(path) or file_role(path) in NOT_SHIPPED:
        return
    module, top = package_of(path)
    gone: set[str] = set()
    came: set[str] = set()
    for hunk in hunks(change.get("patch")):
        before, after = _sides(hunk)
        old = next((b for b in _blocks(before) if b.name == "__all__"), None)
        new = next((b for b in _blocks(after) if b.name == "__all__"), None)
        if old and new:  # a whole `__all__` removed leaves every name importable
            gone |= old.items - new.items
            came |= new.items - old.items
        if top:
            for mark, text in hunk.lines:
                names = _imported_names(text)
                (gone if mark == "-" else came if mark == "+" else set()).update(names)
    for name in sorted(gone - came):
        if not name.startswith("_"):
            found.add("breaking", Surface("export_removed", name, module))


def _imported_names(text: str) -> set[str]:
    """Names a line of an `__init__.py` re-exports: `from x import a, b as c` or `    a,` in a list."""
    names: set[str] = set()
    if match := re.match(r"^from\s+\S+\s+import\s+([^(]+)$", text.strip()):
        names = {part.split(" as ")[-1].strip() for part in match.group(1).split(",") if part.strip()}
    elif match := re.match(r"^\s+([A-Za-z_]\w*)(?:\s+as\s+([A-Za-z_]\w*))?\s*,?\s*(#.*)?$", text):
        names = {match.group(2) or match.group(1)}
    return {name for name in names if name.isidentifier() and not keyword.iskeyword(name)}


def _documented(files: list[dict], found: _Found) -> None:
    """A public symbol removed from the code and, in the same commit, from the documentation."""
    symbols = symbol_changes([f for f in files if public_file(f["path"])])
    gone = set(symbols.removed) | {old for old, _ in symbols.renamed}
    if not gone:
        return
    docs = [
        text
        for f in files
        if file_role(f["path"]) == "docs" and f["path"].endswith((".md", ".rst"))
        for mark, text in (line for hunk in hunks(f.get("patch")) for line in hunk.lines)
        if mark == "-"
    ]
    for name in sorted(gone):
        if any(re.search(rf"\b{re.escape(name)}\b", text) for text in docs):
            found.add("breaking", Surface("documented_removed", name))
