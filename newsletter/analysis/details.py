"""变更详情 and snippet notes: a commit's facts written as one sentence of clauses, most telling first.

Only facts are written: what the diff, the message or the pull request shows. A commit with
little to show gets a short sentence, never a template about file counts (those are in the
activity line and the day's table already).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from newsletter.analysis.diffs import Snippet
from newsletter.analysis.facts import Fact, generation
from newsletter.analysis.headlines import tidy
from newsletter.analysis.wording import MESSAGES, claim_verb, say, word

MAX_CLAUSES = 4


def code(name: str) -> str:
    return f"`{name}`" if name and "`" not in name else name


def names_of(fact: Fact, language: str) -> str:
    listed = word(language, "list_sep").join(code(n) for n in fact.names)
    if fact.more:
        listed += (" " if language == "en" else "") + say(language, "more", count=fact.more + len(fact.names))
    return listed


def sentence(clauses: list[str], language: str) -> str:
    """Clauses joined into one sentence: "a；b；c。" or "A; b; c."."""
    clauses = [c.strip().rstrip("。.；;，,") for c in clauses if c and c.strip()]
    if not clauses:
        return ""
    text = word(language, "clause_sep").join(clauses)
    if language == "en" and re.match(r"^[a-z]+\b", text):  # "adds …" -> "Adds …"; never "vLLM" -> "VLLM"
        text = text[:1].upper() + text[1:]
    return tidy(text + word(language, "end")) if language == "zh" else text + word(language, "end")


def clause(fact: Fact, language: str) -> str:
    """One fact as a clause, or "" when this language has nothing to say about it."""
    kind = fact.kind
    values = {
        "names": names_of(fact, language),
        "name": code(fact.names[0]) if fact.names else "",
        "old": code(fact.old),
        "new": code(fact.new),
        "owner": word(language, "list_sep").join(code(o) for o in fact.owner.split("|")) if fact.owner else "",
        "default": say(language, "default", value=code(fact.new)) if fact.new and "(" not in fact.new else "",
    }
    if kind == "summary":
        # The author's own sentence opens the English details; the Chinese ones state the
        # message's points in Chinese instead (message_point).
        return say(language, "fact.summary", text=fact.detail) if language == "en" else ""
    if kind == "message_point":
        if language == "en":
            return ""
        from newsletter.analysis.headlines import zh_phrase

        return say(language, "fact.message_point", text="；".join(zh_phrase(point) for point in fact.names))
    if kind in ("capability", "arch_target"):
        sms = sm_list(fact.names, language)
        return say(language, f"fact.{kind}", sms=sms, fragment=code(fact.detail))
    if kind == "platform_branch":
        platforms = word(language, "list_sep").join(fact.names)
        return say(language, "fact.platform_branch", platforms=platforms, fragment=code(fact.detail))
    if kind == "capability_min":
        name = generation(f"SM{fact.new}")
        extra = say(language, "generation", sm=fact.new, name=name) if name else ""
        return say(language, "fact.capability_min", owner=code(fact.names[0]), old=fact.old, new=fact.new,
                   generation=extra)  # fmt: skip
    if kind == "perf_claim":
        return say(language, "fact.perf_claim", claims=claims(fact, language))
    if kind == "backend_added" and not fact.owner:
        return say(language, "fact.backend_added_bare", **values)
    if kind == "symbols_added":
        classes = [n for n in fact.names if n[:1].isupper()]
        functions = [n for n in fact.names if not n[:1].isupper()]
        if classes and functions:
            sep = word(language, "list_sep")
            return say(language, "fact.symbols_added.both", classes=sep.join(map(code, classes)),
                       functions=sep.join(map(code, functions)))  # fmt: skip
        key = f"fact.symbols_added.{'classes' if classes else 'functions'}"
        return say(language, key, count=len(fact.names) + fact.more, **values)
    if kind == "kernel_added":
        return say(language, f"fact.kernel_added.{fact.detail}", **values)
    if kind == "file_added":
        return say(language, f"fact.file_added.{fact.detail}", count=len(fact.names) + fact.more, **values)
    if kind == "functions_touched":
        return say(language, f"fact.functions_touched.{'1' if len(fact.names) == 1 else 'n'}", **values)
    if kind == "tests_added":
        return say(language, f"fact.tests_added.{fact.detail}", count=len(fact.names) + fact.more, **values)
    if kind == "symbols_renamed":
        return say(language, "fact.symbols_renamed", name=code(fact.names[0]), new=code(fact.new))
    key = f"fact.{kind}"
    return say(language, key, count=len(fact.names) + fact.more, **values) if key in MESSAGES else ""


def claims(fact: Fact, language: str) -> str:
    parts = []
    for figure, metric in zip(fact.names, fact.detail.split("|"), strict=False):
        words = metric.split()
        throughput = bool(re.search(r"throughput|tok", metric, re.I))
        verb = claim_verb(language, words[-1].lower(), throughput=throughput) if words else ""
        if verb:
            metric = " ".join(words[:-1]) or metric
        else:  # no verb written: the figure is a gain, said as the language says a gain
            verb = claim_verb(language, "gain")
        parts.append(say(language, "claim", metric=metric, verb=verb, figure=figure).strip())
    return word(language, "list_sep").join(parts)


def sm_list(sms: tuple[str, ...] | list[str], language: str) -> str:
    """ "SM100、SM103（Blackwell）、SM90（Hopper）": SM versions with their generation named once."""
    groups: list[tuple[str, list[str]]] = []
    for sm in sms:
        name = generation(sm)
        if groups and groups[-1][0] == name:
            groups[-1][1].append(sm)
        else:
            groups.append((name, [sm]))
    sep = word(language, "list_sep")
    parts = [sep.join(members) + (say(language, "paren", text=name) if name else "") for name, members in groups]
    return sep.join(parts)


def describe(facts: list[Fact], language: str, lead: list[str] | None = None) -> str:
    """The 变更详情 sentence: `lead` clauses (a revert's target, …) then the most telling facts."""
    clauses = list(lead or [])
    opening = ""
    if language == "en" and (summary := next((f for f in facts if f.kind == "summary"), None)):
        opening = summary.detail  # the author's own sentence, then the facts
    for fact in facts:
        if fact.kind == "summary":
            continue
        if len(clauses) >= MAX_CLAUSES:
            break
        if fact.kind == "functions_touched" and len(clauses) >= 2:
            continue
        if fact.kind == "tests_added" and len(clauses) >= 3:
            continue
        text = clause(fact, language)
        if text and text not in clauses:
            clauses.append(text)
    rest = sentence(clauses, language)
    return f"{opening} {rest}".strip() if opening else rest


def snippet_note(snippet: Snippet, facts: list[Fact], language: str) -> str:
    """What the quoted lines show, from the facts they contain, else where they come from."""
    body = snippet.code
    for fact in facts:
        hit = next(
            (n for n in fact.names if len(n) >= 4 and re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", body)), ""
        )
        if fact.kind in ("capability", "platform_branch") and fact.detail in body:
            return say(language, f"note.{'capability' if fact.kind == 'capability' else 'platform'}",
                       name=code(fact.detail) if fact.kind == "capability" else fact.names[0])  # fmt: skip
        if not hit:
            continue
        defined = re.search(rf"(?:class|def|fn|struct|void)\s+{re.escape(hit)}\b", body)
        if fact.kind == "kernel_added" and defined:
            return say(language, "note.kernel", name=code(hit))
        if fact.kind == "symbols_added" and defined:
            return say(language, "note.class" if hit[:1].isupper() else "note.function", name=code(hit))
        if fact.kind == "env_added":
            return say(language, "note.env", name=code(hit))
        if fact.kind == "flag_added":
            return say(language, "note.flag", name=code(hit))
        if fact.kind == "guard":
            return say(language, "note.guard", name=code(hit))
        if fact.kind == "sync":
            return say(language, "note.sync", name=code(hit))
        if fact.kind == "class_fields_added" and fact.owner:
            return say(language, "note.field", owner=code(fact.owner))
    shape = word(language, f"shape.{_shape(body)}")
    scope = _first_scope(body)
    if scope:
        return say(language, "note.scope", name=code(scope), shape=shape)
    name = PurePosixPath(snippet.path).name
    return say(language, "note.file", name=code(name), shape=shape)


_SHAPES = [
    ("kernel", re.compile(r"@triton\.jit|__global__|@cute\.kernel")),
    ("check", re.compile(r"^\s*(raise|assert)\b|TORCH_CHECK|FLASHINFER_CHECK|\bCHECK\(", re.M)),
    ("branch", re.compile(r"^\s*(if|elif|else)\b|^\s*(?:\}\s*)?else\b|#if", re.M)),
    ("loop", re.compile(r"^\s*(for|while)\b", re.M)),
    ("definition", re.compile(r"^\s*(?:async\s+)?def\s|^\s*(?:pub\s+)?fn\s|^\s*class\s|^\s*struct\s", re.M)),
    ("build", re.compile(r"^\s*(set|list|add_\w+|target_\w+|option)\(", re.M)),
    ("returns", re.compile(r"^\s*return\b", re.M)),
    ("call", re.compile(r"\w\(")),
]


_BRANCHES = [
    ("branch.none", re.compile(r"\bis (not )?None\b|== ?nullptr|!= ?nullptr")),
    ("branch.capability", re.compile(r"capabilit|\bis_sm\d|__CUDA_ARCH__|\bsm_?\d{2,3}", re.I)),
    ("branch.platform", re.compile(r"\bis_(hip|rocm|npu|xpu|cpu|tpu|musa|cuda)\b|_is_(hip|npu|xpu|cpu|cuda)\b")),
    ("branch.env", re.compile(r"\benvs?\.|os\.environ|getenv")),
    ("branch.type", re.compile(r"\bisinstance\(")),
    ("branch.backend", re.compile(r"backend", re.I)),
    ("branch.dtype", re.compile(r"dtype|fp8|fp4|bf16|float16", re.I)),
    ("branch.flag", re.compile(r"\b(enable|use|disable)_\w+")),
]


_CALLS = [
    ("call.log", re.compile(r"\blog(?:ger|ging)?\.\w+\(|\bprint\(|warnings\.warn\(")),
    ("call.tensor", re.compile(r"\btorch\.\w+|\btl\.\w+|\.to\(|\.view\(|\.reshape\(|__ldg|__shfl")),
    ("call.method", re.compile(r"\bself\.\w+\(")),
]


def _shape(body: str) -> str:
    """What kind of code the quoted lines are, for a note that says more than "new code"."""
    shape = next((name for name, pattern in _SHAPES if pattern.search(body)), "assignment")
    if shape == "call":
        shape = next((name for name, pattern in _CALLS if pattern.search(body)), shape)
    if shape == "branch":
        conditions = "\n".join(
            line for line in body.splitlines() if re.match(r"\s*(if|elif|#if|\}?\s*else if)\b", line)
        )
        shape = next((name for name, pattern in _BRANCHES if pattern.search(conditions)), shape)
    return shape


def _first_scope(body: str) -> str:
    for line in body.splitlines():
        match = re.match(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)|^\s*(?:struct|class)\s+([A-Za-z_]\w*)", line)
        if match:
            return match.group(1) or match.group(2)
    return ""
