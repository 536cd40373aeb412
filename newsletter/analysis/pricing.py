"""Which Claude models to use by default, and what their tokens cost at list price."""

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
