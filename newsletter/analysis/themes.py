"""The day as themes: each repository's 评估, the 摘要 grouped across repositories, and the 总结.

A theme is what a reader follows: a hardware platform, a model family, a data type, a component
(MoE, EPLB, speculative decoding, …), new models, compatibility changes, reverts. Items of
different repositories that share one are told together, citing both; the conclusions say what
to do (migrate, rerun accuracy checks, measure, try an option, follow an issue), each citing the
items it is about. Built from the drafted items, so it works for any analyzer's items; the
commits' titles and facts make it more precise when they are at hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from newsletter.analysis.details import code, sentence
from newsletter.analysis.draft import IssueDraft, ItemDraft, SectionDraft, Statement
from newsletter.analysis.facts import Fact, generation
from newsletter.analysis.headlines import starts_with_verb
from newsletter.analysis.subjects import component_label, subjects_of
from newsletter.analysis.wording import say, word

MAX_SUMMARY = 6
MAX_CONCLUSIONS = 6
# Data types that belong together for a reader: an FP8 theme includes MXFP8, an FP4 one NVFP4.
_DTYPE_GROUPS = {"MXFP8": "FP8", "FP8": "FP8", "NVFP4": "FP4", "MXFP4": "FP4", "FP4": "FP4", "INT8": "INT8",
                 "INT4": "INT4", "GPTQ": "INT4", "AWQ": "INT4", "Marlin": "INT4", "BF16": "BF16"}  # fmt: skip
# Components too broad to make a theme on their own.
_WEAK_COMPONENTS = {"quantization", "api", "scheduling", "multimodal"}


@dataclass
class Entry:
    """One highlighted item, with what the themes are read from."""

    repo: str  # display name
    item: ItemDraft
    title: str  # the commit's own title (the item's headline when unknown)
    facts: list[Fact] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return self.item.title


def entries(sections: list[SectionDraft], titles: dict[str, str], facts: dict[str, list[Fact]]) -> list[Entry]:
    return [
        Entry(section.repository.display_name, item, titles.get(item.sha, item.title), facts.get(item.sha, []))
        for section in sections
        for item in section.highlights
    ]


# --- theme keys ------------------------------------------------------------------------------------------
def keys_of(entry: Entry) -> list[tuple[str, str]]:
    """The themes an item belongs to, most specific first."""
    item = entry.item
    found = subjects_of(entry.title)
    keys: list[tuple[str, str]] = []
    if item.breaking:
        keys.append(("breaking", ""))
    if item.category == "Revert":
        keys.append(("revert", ""))
    platforms = list(found.platforms)
    for fact in entry.facts:
        if fact.kind == "platform_branch":
            platforms += [{"ROCm": "AMD ROCm", "XPU": "Intel XPU", "NPU": "Ascend NPU"}.get(n, n) for n in fact.names]
    keys += [("platform", p) for p in dict.fromkeys(platforms) if p != "CUDA 13"]
    keys += [("model", family) for family in found.models]
    keys += [("dtype", _DTYPE_GROUPS.get(d, d)) for d in dict.fromkeys(found.dtypes)]
    keys += [("component", c) for c in found.components if c not in _WEAK_COMPONENTS]
    if any(f.kind == "model_registered" for f in entry.facts) or item.category == "Model":
        keys.append(("new_models", ""))
    keys += [("topic", topic) for topic in item.topics if topic not in ("api",)]
    keys += [("component", c) for c in found.components if c in _WEAK_COMPONENTS]
    return list(dict.fromkeys(keys))


def theme_name(key: tuple[str, str], language: str) -> str:
    name = _theme_name(key, language)
    return name[:1].upper() + name[1:] if language == "en" and name[:1].islower() else name


def _theme_name(key: tuple[str, str], language: str) -> str:
    kind, value = key
    if kind == "component":
        return say(language, "theme.component", name=component_label(value, language).split("（")[0])
    if kind == "topic":
        return say(language, f"theme.topic.{value}")
    if kind in ("breaking", "revert", "new_models"):
        return say(language, f"theme.{kind}")
    if kind == "dtype" and value == "BF16":
        return say(language, "theme.dtype_plain", name=value)
    return say(language, f"theme.{kind}", name=value)


# --- 摘要 -------------------------------------------------------------------------------------------------
def summary(all_entries: list[Entry], language: str) -> list[Statement]:
    """Themes across repositories, the widest first; each item told once, under its best theme."""
    groups = _groups(all_entries)
    told: set[str] = set()
    statements: list[Statement] = []
    while len(statements) < MAX_SUMMARY:
        best = None
        for key, members in groups.items():
            fresh = [e for e in members if e.item.sha not in told]
            if not fresh:
                continue
            repos = {e.repo for e in fresh}
            must = key[0] in ("breaking", "revert")
            if not must and len(fresh) < 2:
                continue
            if key[0] == "topic" and len(repos) < 2:
                continue
            # Compatibility first, then what two repositories share, then one repository's own themes;
            # broad topics last.
            tier = 3 if must else (2 if len(repos) >= 2 and key[0] != "topic" else (1 if key[0] != "topic" else 0))
            weight = (tier, _priority(key), len(repos), len(fresh), max(e.item.score for e in fresh))
            if best is None or weight > best[0]:
                best = (weight, key, fresh)
        if best is None:
            break
        _, key, fresh = best
        statement = _theme_statement(key, fresh, language)
        told.update(statement.cites)
        statements.append(statement)
    # What no theme gathered: one statement per repository, its strongest items.
    for repo in dict.fromkeys(e.repo for e in all_entries):
        left = [e for e in all_entries if e.repo == repo and e.item.sha not in told][:3]
        if left and len(statements) < MAX_SUMMARY + 2:
            told.update(e.item.sha for e in left)
            statements.append(_repo_statement(repo, left, language))
    return statements


def _priority(key: tuple[str, str]) -> int:
    return {"breaking": 9, "revert": 8, "platform": 6, "model": 5, "dtype": 5, "component": 4, "new_models": 3,
            "topic": 1}.get(key[0], 0)  # fmt: skip


def _groups(all_entries: list[Entry]) -> dict[tuple[str, str], list[Entry]]:
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in all_entries:
        for key in keys_of(entry):
            groups.setdefault(key, []).append(entry)
    return groups


def _by_repo(members: list[Entry], language: str, limit: int = 2, surfaces: bool = False) -> str:
    """ "SGLang 新增 X，并支持 Y；vLLM 修复 Z": what each repository did under one theme. With
    `surfaces`, a breaking item is told by the public surface it changes rather than its headline."""
    parts = []
    for repo in dict.fromkeys(e.repo for e in members):
        mine = [e for e in members if e.repo == repo][:limit]
        if surfaces and all(e.item.breaking_surface for e in mine):
            told = word(language, "list_sep").join(e.item.breaking_surface for e in mine)
            parts.append(say(language, "theme.repo_surface", repo=repo, did=told))
            continue
        told = [_predicate(e, language) for e in mine]
        parts.append(say(language, "theme.repo_did", repo=repo, did=_joined(told, language)))
    return word(language, "clause_sep").join(parts)


def _joined(predicates: list[str], language: str) -> str:
    """Two predicates with the same Chinese verb share it: "支持 A，并支持 B" reads "支持 A 和 B"."""
    if language == "zh" and len(predicates) == 2:
        first, second = predicates
        verb = first[:2]
        if re.fullmatch(r"[\u4e00-\u9fff]{2}", verb) and second.startswith(verb) and "，" not in first + second:
            return f"{first} 和 {second[2:].strip()}"
    return say(language, "theme.and").join(predicates)


def _headline(entry: Entry) -> str:
    """A headline as written, for a parenthesis or a list after a colon."""
    return entry.headline.rstrip("。.")


def _predicate(entry: Entry, language: str) -> str:
    text = entry.headline.rstrip("。.")
    if language == "en" and starts_with_verb(text) and re.match(r"^[A-Z][a-z]+\b", text):
        text = text[:1].lower() + text[1:]  # "vLLM: optimize …", never "qwen3-ASR"
    return text


def _theme_statement(key: tuple[str, str], members: list[Entry], language: str) -> Statement:
    repos = list(dict.fromkeys(e.repo for e in members))
    members = [e for repo in repos for e in [m for m in members if m.repo == repo][:2]]
    clauses = [_by_repo(members, language, surfaces=key[0] == "breaking")]
    name = theme_name(key, language)
    first_word = name.split(" ")[0]
    if language == "en" and key[0] in ("topic", "component", "new_models") and first_word[1:].islower():
        # Mid-sentence: "2 projects touched multimodal"; an acronym such as "MoE" keeps its case.
        name = name[:1].lower() + name[1:]
    # A topic or new models in one repository need no "N projects" clause; a break or a revert does.
    if len(repos) > 1 or key[0] not in ("topic", "new_models"):
        clauses.append(say(language, f"meaning.{key[0]}.{'many' if len(repos) > 1 else 'one'}", name=name,
                           count=len(repos)))  # fmt: skip
    text = sentence(clauses, language)
    return Statement(text, [e.item.sha for e in members], theme_name(key, language))


def _repo_statement(repo: str, members: list[Entry], language: str) -> Statement:
    did = say(language, "theme.and").join(_predicate(e, language) for e in members[:2])
    text = sentence([say(language, "theme.also", did=did)], language)
    return Statement(text, [e.item.sha for e in members[:2]], say(language, "theme.repo_more", repo=repo))


# --- a repository's 评估 ---------------------------------------------------------------------------------------
def assessment(repo: str, stats: dict, mine: list[Entry], issues: list[IssueDraft], language: str) -> str:
    """What the day means for one repository: its themes, then what needs care, then its issues."""
    clauses: list[str] = []
    if not stats.get("commits"):
        clauses.append(say(language, "assess.quiet"))
    elif mine:
        groups = _groups(mine)
        ranked = sorted(
            ((key, members) for key, members in groups.items() if key[0] not in ("breaking", "revert")),
            key=lambda kv: (-len(kv[1]), -_priority(kv[0]), -max(e.item.score for e in kv[1])),
        )
        names: list[str] = []
        covered: set[str] = set()
        for key, members in ranked:
            if len(names) >= 3:
                break
            if {e.item.sha for e in members} <= covered:
                continue
            covered.update(e.item.sha for e in members)
            name = theme_name(key, language)
            # Mid-sentence in English: "kernels", but "MoE" and "OpenAI-compatible API" keep their case.
            lower = language == "en" and name.split(" ")[0][1:].islower()
            names.append(name[:1].lower() + name[1:] if lower else name)
        sep = word(language, "list_sep")
        key = "assess.themes_all" if len(mine) >= stats["commits"] else "assess.themes"
        clauses.append(say(language, key, commits=stats["commits"], picked=len(mine), themes=sep.join(names) or "-"))
        breaking = [e for e in mine if e.item.breaking]
        if breaking:
            # Named by their headlines: the surfaces' names are in the items' own sentences.
            items = word(language, "semicolon").join(_headline(e) for e in breaking[:3])
            key = "assess.breaking_items.one" if len(breaking) == 1 else "assess.breaking_items"
            clauses.append(say(language, key, count=len(breaking), items=items))
        reverts = [e for e in mine if e.item.category == "Revert"]
        if reverts:
            clauses.append(say(language, "assess.revert", what=_headline(reverts[0])))
        watch = [e for e in mine if e.item.verdict == "watch" and e.item.category != "Revert"]
        if watch:
            clauses.append(say(language, "assess.watch", count=len(watch), first=_headline(watch[0])))
    else:
        clauses.append(say(language, "assess.listed", commits=stats["commits"]))
    if issues:
        clauses.append(say(language, "assess.issues.one" if len(issues) == 1 else "assess.issues", count=len(issues)))
    return sentence(clauses, language)


# --- 总结 --------------------------------------------------------------------------------------------------
# What a reader sets or imports, the most common first: the name a migration is about.
_BREAKING_KINDS = (
    "value_removed", "flag_removed", "flag_renamed", "flag_default", "env_removed", "env_renamed", "env_default",
    "registry_removed", "field_removed", "field_renamed", "field_default", "export_removed", "documented_removed",
)  # fmt: skip


def _breaking_name(entry: Entry) -> str:
    for kind in _BREAKING_KINDS:
        for fact in entry.facts:
            if fact.kind == kind and fact.names:
                return code(fact.names[0])
    return ""


@dataclass
class Rule:
    key: str
    wanted: Callable[[Entry], bool]


RULES = [
    Rule("breaking", lambda e: e.item.breaking),
    Rule("revert", lambda e: e.item.category == "Revert"),
    Rule(
        "numerics", lambda e: any(f.kind in ("kernel_touched", "limit") for f in e.facts) and e.item.verdict == "watch"
    ),
    Rule("perf", lambda e: any(f.kind == "perf_claim" for f in e.facts)),
    Rule("options", lambda e: any(f.kind in ("flag_added", "env_added", "backend_added") for f in e.facts)),
    Rule("hardware", lambda e: e.item.verdict == "positive" and "hardware" in e.item.topics),
    Rule("models", lambda e: any(f.kind == "model_registered" for f in e.facts)),
    Rule("fixes", lambda e: e.item.category in ("Bugfix", "Critical", "Security")),
]


def conclusions(all_entries: list[Entry], issues: list[tuple[str, str, IssueDraft]], language: str) -> list[Statement]:
    """Numbered things to do or watch, most pressing first, each citing the items it is about.
    `issues`: (repository display name, OWNER/NAME, pick) of the issue highlights."""
    statements: list[Statement] = []
    used: set[str] = set()
    for rule in RULES:
        members = [e for e in all_entries if e.item.sha not in used and rule.wanted(e)][:3]
        if not members:
            continue
        text = _conclusion_text(rule.key, members, language)
        if not text:
            continue
        used.update(e.item.sha for e in members)
        statements.append(Statement(text, [e.item.sha for e in members], say(language, f"conclusion.{rule.key}.lead")))
        if len(statements) >= MAX_CONCLUSIONS - 1:
            break
    open_bugs = [(repo, full, pick) for repo, full, pick in issues if not pick.fixed_by]
    if open_bugs and len(statements) < MAX_CONCLUSIONS:
        repo, full, pick = open_bugs[0]
        text = sentence([say(language, "conclusion.issue", repo=repo, number=pick.number, why=pick.why.rstrip("。."))],
                        language)  # fmt: skip
        statements.append(Statement(text, [f"{full}#{pick.number}"], say(language, "conclusion.issue.lead")))
    return statements[:MAX_CONCLUSIONS]


def _conclusion_text(key: str, members: list[Entry], language: str) -> str:
    sep = word(language, "list_sep")
    if key == "breaking":
        names = list(dict.fromkeys(name for e in members if (name := _breaking_name(e))))[:4]
        if not names:
            return sentence([_by_repo(members, language), say(language, "conclusion.breaking")], language)
        action = say(language, "conclusion.breaking_names", names=sep.join(names))
        return sentence([_by_repo(members, language), action], language)
    if key == "revert":
        return sentence([_by_repo(members, language), say(language, "conclusion.revert")], language)
    if key == "numerics":
        kernels = [code(n) for e in members for f in e.facts if f.kind in ("kernel_touched",) for n in f.names][:3]
        dtypes = [d for e in members for d in subjects_of(e.title).dtypes][:2]
        scope = sep.join(dict.fromkeys(dtypes)) or sep.join(kernels)
        return sentence(
            [_by_repo(members, language), say(language, "conclusion.numerics", scope=scope or "-")], language
        )
    if key == "perf":
        figures = [n for e in members for f in e.facts if f.kind == "perf_claim" for n in f.names][:3]
        return sentence([_by_repo(members, language), say(language, "conclusion.perf", figures=sep.join(figures))],
                        language)  # fmt: skip
    if key == "options":
        parts = []
        for repo in dict.fromkeys(e.repo for e in members):
            kinds = []
            for kind in ("backend_added", "env_added", "flag_added"):
                names = [code(n) for e in members if e.repo == repo for f in e.facts if f.kind == kind for n in f.names]
                names = list(dict.fromkeys(names))
                if names:
                    kinds.append(say(language, f"knob.{kind}", count=len(names), names=sep.join(names[:2])))
            parts.append(say(language, "theme.repo_did", repo=repo, did=say(language, "knob.join").join(kinds)))
        return sentence([word(language, "clause_sep").join(parts), say(language, "conclusion.options")], language)
    if key == "hardware":
        platforms = [p for e in members for p in _platforms_of(e)]
        platforms = list(dict.fromkeys(platforms))[:3]
        if not platforms:
            return ""
        return sentence([_by_repo(members, language), say(language, "conclusion.hardware",
                                                          platforms=sep.join(platforms))], language)  # fmt: skip
    if key == "models":
        return sentence([_by_repo(members, language), say(language, "conclusion.models")], language)
    if key == "fixes":
        return sentence([_by_repo(members, language), say(language, "conclusion.fixes")], language)
    return ""


def _platforms_of(entry: Entry) -> list[str]:
    """The platforms an item names in its title or shows in its diff (capability checks, platform branches)."""
    found = list(subjects_of(entry.title).platforms)
    for fact in entry.facts:
        if fact.kind in ("capability", "arch_target", "capability_min"):
            sms = fact.names if fact.kind != "capability_min" else (f"SM{fact.new}",)
            found += [generation(sm) for sm in sms if generation(sm)]
        if fact.kind == "platform_branch":
            found += [{"ROCm": "AMD ROCm", "XPU": "Intel XPU", "NPU": "Ascend NPU"}.get(n, n) for n in fact.names]
    return list(dict.fromkeys(found))
