"""Per item: who is affected and what to do (影响), how risky (risk), and the verdict with its reason.

Every sentence here follows from a fact: a surface the triage found, a revert and what it names,
a capability check, a kernel whose code changed, a new option, the title's own words. A rule
with nothing specific to say says nothing; an impact may be empty. In particular a revert never
"fixes" anything and never names itself, and a new model never claims anything about other
models unless the diff shows the shared code was left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from newsletter.analysis.details import code, names_of, sentence
from newsletter.analysis.diffs import NOT_SHIPPED, file_role, is_model_path
from newsletter.analysis.facts import Fact, generation, merged, surface_fact
from newsletter.analysis.headlines import headline
from newsletter.analysis.subjects import Subjects, component_label
from newsletter.analysis.surfaces import Surface
from newsletter.analysis.triage import Verdict
from newsletter.analysis.wording import MESSAGES, say, word

_FEATURE_VERBS = re.compile(
    r"^(add|adds|added|support|supports|enable|enables|enabling|introduce|implement|integrat\w*|allow|use|make)\b",
    re.I,
)
SYMPTOMS = [
    (r"\brace( condition)?s?\b", "race"), (r"\bdeadlock", "deadlock"), (r"\bhang(s|ing)?\b|\bstuck\b", "hang"),
    (r"\bcrash(es|ed|ing)?\b|\bsegfault|\billegal memory access\b", "crash"), (r"\bnans?\b|\binf\b", "nan"),
    (r"\boom\b|\bout of memory\b|\bdouble memory\b|\bmemory consumption\b", "memory"),
    (r"\bmemory leak", "leak"), (r"\baccuracy\b|\bprecision\b", "accuracy"),
    (r"\b(wrong|incorrect|inaccurate|invalid)\s+(outputs?|results?|answers?|tokens?|logits|values?)\b|\bgarbage\b"
     r"|\bgibberish\b", "wrong_output"),
    (r"\bhit rate\b", "hit_rate"), (r"\bcorrupt\w*", "corruption"), (r"\btimeouts?\b", "timeout"),
    (r"\bfail(s|ed|ure|ing)?\b|\bbroken\b", "failure"), (r"\berrors?\b|\bexceptions?\b", "error"),
]  # fmt: skip


@dataclass
class ItemContext:
    """What the rules read about one highlighted commit."""

    title: str
    verdict: Verdict
    facts: list[Fact]
    subjects: Subjects
    files: list[dict]
    language: str
    revert_target: str = ""  # "#N" or a SHA prefix: what a revert undoes, never the revert itself
    revert_title: str = ""
    redo: str = ""  # the SHA of a later commit of the story that brings the change back
    earlier_day: str = ""  # the day an earlier member of the story landed, ISO

    def has(self, *kinds: str) -> list[Fact]:
        return [f for f in self.facts if f.kind in kinds]


@dataclass
class Assessment:
    impact: str
    risk: str  # low, medium, high
    verdict: str  # positive, watch, risk
    reason: str
    breaking_surface: str


def assess(ctx: ItemContext) -> Assessment:
    verdict, reason = _verdict(ctx)
    impact_clauses, risk = _impact(ctx, verdict)
    return Assessment(
        impact=sentence(impact_clauses, ctx.language),
        risk=risk,
        verdict=verdict,
        reason=sentence([reason], ctx.language).rstrip("。.") if reason else "",
        breaking_surface=surface_text(ctx.verdict.surfaces, ctx.language) if ctx.verdict.breaking else "",
    )


# --- surfaces in the reader's language ---------------------------------------------------------------
def surface_text(surfaces: tuple[Surface, ...], language: str, *, shown: int = 2) -> str:
    """The triage's breaking surfaces in `language`, names kept verbatim: the first `shown`, then a count."""
    facts = merged([surface_fact(surface) for surface in surfaces[:shown]])
    parts = (_surface_part(fact, language) for fact in facts)
    text = word(language, "list_sep").join(part for part in parts if part)
    if len(surfaces) > shown:
        text += say(language, "surface.more", count=len(surfaces) - shown)
    return text


def _surface_part(fact: Fact, language: str) -> str:
    values = {
        "name": names_of(fact, language),
        "owner": code(fact.owner),
        "old": code(fact.old),
        "new": code(fact.new),
        "text": fact.names[0] if fact.names else "",
    }
    key = f"surface.{fact.kind}"
    return say(language, key, **values) if key in MESSAGES else ""


# --- verdict ---------------------------------------------------------------------------------------------
def _verdict(ctx: ItemContext) -> tuple[str, str]:
    lang = ctx.language
    v = ctx.verdict
    if v.breaking:
        first = surface_text(v.surfaces[:1], lang)
        return "risk", say(lang, "verdict.breaking", surface=first)
    if v.category == "Revert":
        what = revert_what(ctx, short=True)
        if ctx.redo:
            return "watch", say(lang, "verdict.revert_redo", what=what, redo=code(ctx.redo[:7]))
        if _FEATURE_VERBS.match(ctx.revert_title or ""):
            return "risk", say(lang, "verdict.revert_feature", what=what)
        return "watch", say(lang, "verdict.revert", what=what)
    if v.category in ("Critical", "Security"):
        return "watch", say(lang, f"verdict.{v.category.lower()}")
    kernels = ctx.has("kernel_touched")
    if kernels:
        return "watch", say(lang, "verdict.kernel_numerics", names=names_of(kernels[0], lang))
    limits = ctx.has("limit", "constant")
    if limits and any(file_role(f["path"]) == "kernel" for f in ctx.files):
        fact = limits[0]
        return "watch", say(lang, "verdict.limit", old=code(fact.old), new=code(fact.new))
    if lowered := ctx.has("capability_min"):
        fact = lowered[0]
        direction = (
            "wider" if fact.new.isdigit() and fact.old.isdigit() and int(fact.new) < int(fact.old) else "narrower"
        )
        return ("positive" if direction == "wider" else "watch"), say(
            lang, f"verdict.capability_{direction}", sm=fact.new, generation=generation(f"SM{fact.new}") or "-"
        )
    core = _core_file(ctx)
    if core and (v.category == "Core" or _core_share(ctx) * 3 >= 1):
        return "watch", say(lang, "verdict.core", file=code(core))
    if claims := ctx.has("perf_claim"):
        return "positive", say(lang, "verdict.perf_claim", figures=word(lang, "list_sep").join(claims[0].names))
    if v.category == "Perf":
        return "positive", say(lang, "verdict.perf", what=_where(ctx))
    if v.category in ("Bugfix",) or "correctness-fix" in v.signals:
        symptom = _symptom(ctx)
        if symptom:
            return "positive", say(lang, "verdict.fix_symptom", symptom=symptom)
        return "positive", say(lang, "verdict.fix", what=_where(ctx))
    added = ctx.has("backend_added", "kernel_added", "model_registered", "flag_added", "env_added", "value_added",
                    "field_added")  # fmt: skip
    if added:
        fact = added[0]
        return "positive", say(lang, f"verdict.new.{_new_kind(fact)}", names=names_of(fact, lang))
    if ctx.has("capability", "arch_target", "platform_branch") or (ctx.subjects.platforms and v.category == "Hardware"):
        platforms = _platforms(ctx)
        if platforms:
            key = "verdict.hardware_only" if _platform_only(ctx) else "verdict.hardware"
            return "positive", say(lang, key, platforms=platforms)
    if v.category == "Refactor":
        return "positive", say(lang, "verdict.refactor", what=_where(ctx))
    if v.category in ("Feature", "Model", "Kernel"):
        return "positive", say(lang, "verdict.feature", what=_where(ctx))
    return "positive", say(lang, "verdict.misc", what=_where(ctx))


def _new_kind(fact: Fact) -> str:
    return {
        "backend_added": "backend", "kernel_added": "kernel", "model_registered": "model", "flag_added": "option",
        "env_added": "option", "value_added": "value", "field_added": "option",
    }[fact.kind]  # fmt: skip


# --- impact --------------------------------------------------------------------------------------------
def _impact(ctx: ItemContext, verdict: str) -> tuple[list[str], str]:
    lang = ctx.language
    v = ctx.verdict
    clauses: list[str] = []
    risk = {"risk": "high", "watch": "medium", "positive": "low"}[verdict]
    if v.category == "Revert":
        what = revert_what(ctx, short=True)
        feature = bool(_FEATURE_VERBS.match(ctx.revert_title or ""))
        clauses.append(say(lang, "impact.revert_feature" if feature else "impact.revert", what=what))
        if ctx.earlier_day:
            clauses.append(say(lang, "impact.revert_earlier", day=ctx.earlier_day))
        if ctx.redo:
            clauses.append(say(lang, "impact.revert_redo", redo=code(ctx.redo[:7])))
        return clauses, risk
    if v.breaking:
        clauses += _migrations(ctx)
    if lowered := ctx.has("capability_min"):
        fact = lowered[0]
        if fact.new.isdigit() and fact.old.isdigit() and int(fact.new) < int(fact.old):
            name = generation(f"SM{fact.new}")
            named = say(lang, "paren", text=name) if name else ""
            clauses.append(
                say(lang, "impact.capability_wider", sm=fact.new, generation=named, owner=code(fact.names[0]))
            )
    kernels = ctx.has("kernel_touched")
    if kernels:
        who = _who(ctx)
        key = "impact.kernel_numerics_who" if who else "impact.kernel_numerics"
        clauses.append(say(lang, key, names=names_of(kernels[0], lang), who=who))
    if model := ctx.has("model_registered"):
        clauses.append(say(lang, "impact.model", names=names_of(model[0], lang)))
        shared = _shared_files(ctx)
        if shared:
            clauses.append(say(lang, "impact.model_shared", files=word(lang, "list_sep").join(map(code, shared))))
        else:
            clauses.append(say(lang, "impact.model_contained"))
    options = [f for f in ctx.facts if f.kind in ("flag_added", "env_added")]
    backends = ctx.has("backend_added", "value_added")
    if not v.breaking and (options or backends):
        clauses.append(_option_clause(ctx, options, backends))
    if (claims := ctx.has("perf_claim")) and not kernels:
        who = _who(ctx)
        key = "impact.perf_claim_who" if who else "impact.perf_claim"
        clauses.append(say(lang, key, figures=word(lang, "list_sep").join(claims[0].names), who=who))
    if v.category == "Perf" and not kernels and not ctx.has("perf_claim"):
        who = _who(ctx)
        clauses.append(say(lang, "impact.perf_unmeasured_who", who=who) if who else say(lang, "impact.perf_unmeasured"))
    platforms = _platforms(ctx)
    if platforms and not clauses:
        if _platform_only(ctx):
            clauses.append(say(lang, "impact.platform_only", platforms=platforms))
        elif v.category not in ("Bugfix", "Critical", "Security"):
            clauses.append(say(lang, "impact.platform", who=_who(ctx)))
    if v.category in ("Bugfix", "Critical", "Security") or "correctness-fix" in v.signals:
        who, symptom = _who(ctx), _symptom(ctx)
        if who and symptom:
            clauses.append(say(lang, "impact.fix_who_symptom", who=who, symptom=symptom))
        elif who:
            clauses.append(say(lang, "impact.fix_who", who=who))
        elif symptom:
            clauses.append(say(lang, "impact.fix_symptom", symptom=symptom))
    if v.category == "Core" and not clauses and (who := _who(ctx)):
        clauses.append(say(lang, "impact.core", who=who))
    return clauses[:3], risk


def _option_clause(ctx: ItemContext, options: list[Fact], backends: list[Fact]) -> str:
    """How a reader turns a new capability on: the backend to choose, the knob and its default."""
    lang = ctx.language
    sep = word(lang, "list_sep")
    knobs = sep.join(names_of(f, lang) for f in options[:2])
    first = options[0] if options else None
    default = say(lang, "default", value=code(first.new)) if first and len(options) == 1 and first.new else ""
    where = _platforms(ctx) if ctx.has("platform_branch") or _platform_only(ctx) else ""
    if backends and options:
        return say(lang, "impact.backend_knobs", backend=names_of(backends[0], lang), knobs=knobs, default=default,
                   where=say(lang, "impact.on", platforms=where) if where else "")  # fmt: skip
    if backends:
        return say(lang, "impact.backend", names=names_of(backends[0], lang),
                   where=say(lang, "impact.on", platforms=where) if where else "")  # fmt: skip
    return say(lang, "impact.option", names=knobs, default=default)


def _migrations(ctx: ItemContext) -> list[str]:
    """What a reader must change, for the breaking surfaces (facts already merge values of one list)."""
    lang = ctx.language
    out = []
    for fact in ctx.facts:
        key = f"migrate.{fact.kind}"
        if key not in MESSAGES:
            continue
        values = {"names": names_of(fact, lang), "name": code(fact.names[0]) if fact.names else "",
                  "owner": code(fact.owner), "old": code(fact.old), "new": code(fact.new)}  # fmt: skip
        text = say(lang, key, **values)
        if text not in out:
            out.append(text)
    return out[:2]


# --- helpers ---------------------------------------------------------------------------------------------
def revert_what(ctx: ItemContext, short: bool = False) -> str:
    """What a revert undoes: "#N（its headline）", or only "#N" when `short` and a number is known."""
    lang = ctx.language
    target = ctx.revert_target
    title = headline(ctx.revert_title, lang) if ctx.revert_title else ""
    if target and (short or not title):
        return target
    if target and title:
        return say(lang, "revert.target_title", target=target, title=title)
    if target:
        return target
    if title:
        return say(lang, "revert.title", title=title)
    return say(lang, "revert.unknown")


def _where(ctx: ItemContext) -> str:
    """What a change is about in the reader's words: its components, platforms and models, else its
    main file."""
    lang = ctx.language
    s = ctx.subjects
    labels = [component_label(key, lang) for key in s.components][:2]
    labels += [*s.platforms[:1], *(s.model_names[:1] or s.models[:1]), *s.dtypes[:1]]
    if labels:
        return say(lang, "where.labels", labels=word(lang, "list_sep").join(dict.fromkeys(labels)))
    main = _main_file(ctx)
    return say(lang, "where.file", file=code(main)) if main else say(lang, "where.none")


def _symptom(ctx: ItemContext) -> str:
    """The failure a fix names, from the triage's correctness evidence (never guessed from other words)."""
    evidence = " ".join(r for r in ctx.verdict.reasons if r.startswith("correctness-fix"))
    for pattern, key in SYMPTOMS:
        if re.search(pattern, evidence, re.I):
            return say(ctx.language, f"symptom.{key}")
    return ""


def _who(ctx: ItemContext) -> str:
    """Who the change reaches, from the title's platform, model, data type and component words."""
    lang = ctx.language
    s = ctx.subjects
    labels = list(s.model_names[:1] or s.models[:1])
    labels += s.dtypes[:1]
    labels += [component_label(key, lang) for key in s.components if key not in ("quantization",)][:2]
    platforms = _platforms(ctx)
    sep = word(lang, "list_sep")
    if labels and platforms:
        return say(lang, "who.platform_uses", platforms=platforms, uses=sep.join(labels))
    if labels:
        return say(lang, "who.uses", uses=sep.join(labels))
    if platforms:
        return say(lang, "who.platform", platforms=platforms)
    return ""


def _platforms(ctx: ItemContext) -> str:
    found = list(ctx.subjects.platforms)
    for reason in ctx.verdict.reasons:
        if reason.startswith("hardware-enablement: "):
            for part in reason.split(": ", 1)[1].split(", "):
                name = generation(part) if re.fullmatch(r"SM\d{2,3}", part) else part
                name = {"AMD": "AMD ROCm", "ROCm": "AMD ROCm", "Intel GPU": "Intel XPU", "XPU": "Intel XPU",
                        "NPU": "Ascend NPU", "Ascend": "Ascend NPU"}.get(name, name)  # fmt: skip
                if name and name not in found:
                    found.append(name)
    for fact in ctx.has("platform_branch"):
        for name in fact.names:
            name = {"ROCm": "AMD ROCm", "XPU": "Intel XPU", "NPU": "Ascend NPU"}.get(name, name)
            if name not in found:
                found.append(name)
    return word(ctx.language, "list_sep").join(found[:3])


_PLATFORM_PATH = re.compile(r"(?:^|/|_)(rocm|hip|npu|ascend|xpu|tpu|cpu|musa|hpu|aiter|gaudi|neuron)(?=/|_|\.)", re.I)


def _platform_only(ctx: ItemContext) -> bool:
    shipped = [f for f in ctx.files if file_role(f["path"]) not in NOT_SHIPPED]
    return bool(shipped) and all(_PLATFORM_PATH.search(f["path"]) for f in shipped)


def _shared_files(ctx: ItemContext) -> list[str]:
    """Shipped files a model addition modified outside model code, registries and package inits."""
    shared = []
    for change in ctx.files:
        path = change["path"]
        if file_role(path) in NOT_SHIPPED or change.get("status") == "added" or is_model_path(path):
            continue
        name = PurePosixPath(path).name
        if name in ("registry.py", "__init__.py", "config.py", "model_config.py") or "registry" in name:
            continue
        shared.append(name)
    return shared[:2]


# The files every request goes through: schedulers, engine cores, model runners, forward contexts.
_CORE_FILE = re.compile(
    r"(^|/)(sched\w*|scheduler|engine_core|llm_engine|model_runner|gpu_model_runner|forward_context|tp_worker)\.py$"
    r"|(^|/)v1/core/"
)


def _core_file(ctx: ItemContext) -> str:
    """The biggest changed file on the execution path every request takes, or ""."""
    core = [f for f in ctx.files if file_role(f["path"]) in ("source", "kernel") and _CORE_FILE.search(f["path"])]
    if not core:
        return "" if ctx.verdict.category != "Core" else _main_file(ctx)
    return PurePosixPath(max(core, key=_size)["path"]).name


def _core_share(ctx: ItemContext) -> float:
    shipped = [f for f in ctx.files if file_role(f["path"]) in ("source", "kernel")]
    core = [f for f in shipped if _CORE_FILE.search(f["path"])]
    total = sum(map(_size, shipped))
    return sum(map(_size, core)) / total if total else 0.0


def _size(change: dict) -> int:
    return change.get("additions", 0) + change.get("deletions", 0)


def _main_file(ctx: ItemContext) -> str:
    shipped = [f for f in ctx.files if file_role(f["path"]) in ("source", "kernel")]
    return PurePosixPath(max(shipped, key=_size)["path"]).name if shipped else ""
