"""Which Claude models to use by default, what their tokens cost at list price, and from what
prompt length they cache."""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass

from anthropic.types.model import Model


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float  # 5-minute cache writes
    cache_read: float


# List prices as published on the Claude pricing page (November 2026). Haiku 5.5 bills prompts
# over 100K tokens at 5x; our per-commit prompts stay far below that.
PRICES = {
    "claude-haiku-5-5": Price(0.10, 0.50, 0.125, 0.01),
    "claude-sonnet-5-5": Price(2.00, 10.00, 2.50, 0.10),
    "claude-sonnet-5": Price(2.00, 10.00, 2.50, 0.20),
    "claude-opus-5-5": Price(4.00, 20.00, 5.00, 0.20),
    "claude-opus-5": Price(5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-8": Price(5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-7": Price(5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-6": Price(5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-5": Price(5.00, 25.00, 6.25, 0.50),
    "claude-sonnet-4-6": Price(3.00, 15.00, 3.75, 0.30),
    "claude-sonnet-4-5": Price(3.00, 15.00, 3.75, 0.30),
    "claude-haiku-4-5": Price(1.00, 5.00, 1.25, 0.10),
}
# An unlisted model is priced as the newest listed one of its family.
FAMILY_FALLBACK = {"haiku": "claude-haiku-5-5", "sonnet": "claude-sonnet-5-5", "opus": "claude-opus-5-5"}

# The shortest prefix (in tokens, up to and including the block marked cache_control) that a model
# caches; a shorter one is processed and billed as plain input, marker or not. The anthropic SDK
# documents no minimum (its docstrings only link to the prompt-caching guide), so these are the
# values of that guide we rely on: 1024 for Sonnet and Opus, 2048 for Haiku. Our stable prompts are
# written to pass 4096 for the per-commit model as well, so a higher minimum of a newer Haiku
# still caches; the fake Messages API enforces its own copy of this table.
CACHE_MINIMUM_TOKENS = {"haiku": 2048, "sonnet": 1024, "opus": 1024}
UNKNOWN_FAMILY_CACHE_MINIMUM = 4096  # the largest minimum we have seen documented for any model


def cache_minimum(model: str) -> int:
    family = next((f for f in CACHE_MINIMUM_TOKENS if f in model), None)
    return CACHE_MINIMUM_TOKENS[family] if family else UNKNOWN_FAMILY_CACHE_MINIMUM


def estimated_tokens(text: str) -> int:
    """A low estimate of a text's tokens (one per 4 bytes of UTF-8): a prefix estimated at the
    minimum is at least that long for the real tokenizer, which splits Chinese and code finer."""
    return len(text.encode("utf-8")) // 4


_VERSIONED = re.compile(r"^claude-(?P<family>[a-z]+)-(?P<major>\d+)(?:-(?P<minor>\d{1,2}))?$")


def newest_model(family: str) -> str:
    """The newest `family` model (haiku, sonnet, opus) in the anthropic SDK's list of model ids."""
    candidates = []
    for literal in typing.get_args(Model):
        for model_id in typing.get_args(literal):
            match = _VERSIONED.match(model_id)
            if match and match["family"] == family:
                candidates.append(((int(match["major"]), int(match["minor"] or 0)), model_id))
    if not candidates:
        raise LookupError(f"the anthropic SDK lists no {family} model")
    return max(candidates)[1]


def price_of(model: str) -> Price:
    base = re.sub(r"-\d{8}$", "", model)  # dated snapshots cost what their alias costs
    if base in PRICES:
        return PRICES[base]
    family = next((f for f in FAMILY_FALLBACK if f in model), "sonnet")
    return PRICES[FAMILY_FALLBACK[family]]


def cost(model: str, *, input_tokens: int, output_tokens: int, cache_write: int, cache_read: int) -> float:
    price = price_of(model)
    return (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_write * price.cache_write
        + cache_read * price.cache_read
    ) / 1_000_000
