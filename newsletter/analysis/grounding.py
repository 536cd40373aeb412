"""Is a sentence grounded in the sources? Backticked identifiers and measured numbers must be there.

An analyzer (the model above all) may write a plausible name or figure that no source contains.
Every sentence of an item, an assessment, an issue highlight or the summary is checked against the
texts it is about (the commit's message, its diff and file paths, its pull request; an issue's
title and body): a backticked identifier must appear verbatim in them, and a number with a unit of
measure (%, ×/x, ms, GB, tokens/s, …) must appear there as a number, with the same unit (in either
language: "3 倍" is "3x", "12 毫秒" is "12 ms") or with none (a table whose header names it). A sentence that fails is
dropped, never repaired: the check is cheap and a dropped sentence is visible to the editor.
Pure functions, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A sentence ends at Chinese end punctuation, or at ". ", "! ", "? " before what starts a sentence
# (not inside "e.g. x" or "1.5").
_SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=[.!?;])\s+(?=[A-Z`*(\"'\u4e00-\u9fff])")
_IDENTIFIER = re.compile(r"`([^`\n]+)`")
# Units of measure, each with its canonical name: longer spellings first ("ms" before "s").
_UNIT_NAMES = (
    (r"%|％", "%"),
    (r"×|x\b|倍", "x"),
    (r"ms\b|毫秒", "ms"),
    (r"us\b|µs\b|μs\b|微秒", "us"),
    (r"ns\b|纳秒", "ns"),
    (r"s\b|秒", "s"),
    (r"[KMGT]i?B\b", "bytes"),
    (r"tokens?/s\b|tok/s\b", "tokens/s"),
    (r"TFLOPS\b", "TFLOPS"),
    (r"GFLOPS\b", "GFLOPS"),
    (r"QPS\b", "QPS"),
)
_UNITS = "|".join(pattern for pattern, _ in _UNIT_NAMES)
_MEASURE = re.compile(rf"(?<![\w.])(\d+(?:[.,]\d+)*)\s*({_UNITS})", re.I)
_UNIT_AFTER = re.compile(rf"\s*({_UNITS})", re.I)


def unit_name(unit: str) -> str:
    """The canonical name of a unit as written ("毫秒" and "ms" are both "ms"; "GB" and "MiB" are bytes)."""
    for pattern, name in _UNIT_NAMES:
        if re.fullmatch(pattern, unit, re.I):
            return name
    return unit


@dataclass(frozen=True)
class Sources:
    """The texts a sentence may draw names and figures from."""

    text: str

    @classmethod
    def of(cls, parts: Iterable[str | None]) -> Sources:
        return cls("\n".join(part for part in parts if part))

    def __add__(self, other: Sources) -> Sources:
        return Sources(self.text + "\n" + other.text)

    def has_name(self, name: str) -> bool:
        name = name.strip()
        # A call or a flag with its value ("foo()", "--x=1") counts when its name is there.
        bare = re.sub(r"\(.*\)$|=.*$", "", name).strip()
        return bool(bare) and (name in self.text or bare in self.text)

    def has_number(self, number: str, unit: str = "") -> bool:
        """`number` is in the sources followed by `unit` (by its canonical name) or by no unit at all."""
        plain = number.replace(",", "")
        pattern = rf"(?<![\d.])(?:{re.escape(plain)}|{re.escape(number)})(?![\d])"
        text = self.text.replace("\u00d7", "x")
        for match in re.finditer(pattern, text):
            after = _UNIT_AFTER.match(text, match.end())
            if not unit or after is None or unit_name(after.group(1)) == unit_name(unit):
                return True
        return False


def sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text or "") if part.strip()]


def ungrounded(sentence: str, sources: Sources) -> str:
    """Why `sentence` is not grounded in `sources` ("identifier", "number"), or "" when it is."""
    for name in _IDENTIFIER.findall(sentence):
        if not sources.has_name(name):
            return "identifier"
    for number, unit in _MEASURE.findall(sentence):
        if not sources.has_number(number, unit):
            return "number"
    return ""


def keep_grounded(text: str, sources: Sources) -> tuple[str, list[str]]:
    """`text` without its ungrounded sentences, and the check each dropped sentence failed."""
    kept, failed = [], []
    for sentence in sentences(text):
        reason = ungrounded(sentence, sources)
        if reason:
            failed.append(reason)
        else:
            kept.append(sentence)
    return (_rejoin(kept) if failed else text), failed


def _rejoin(kept: list[str]) -> str:
    # Sentences split at a space lost it; Chinese ones never had one.
    out = ""
    for sentence in kept:
        if out and not re.search(r"[。！？；]$", out) and not out.endswith((" ", "\n")):
            out += " "
        out += sentence.strip()
    return out
