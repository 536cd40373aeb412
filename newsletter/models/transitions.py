"""Status changes allowed by a table of from -> to, and the error for any other."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class TransitionError(ValueError):
    """A status change the table does not allow; the message names both states."""

    def __init__(self, message: str, *, source: str, target: str):
        super().__init__(message)
        self.source, self.target = source, target


def check(table: Mapping[str, Iterable[str]], model: str, source: str, target: str) -> None:
    if target not in table.get(source, ()):
        allowed = ", ".join(sorted(table.get(source, ()))) or "nothing"
        message = f"a {model} cannot go from {source} to {target} (from {source}: {allowed})"
        raise TransitionError(message, source=source, target=target)


def allowed_sources(
    table: Mapping[str, Iterable[str]], model: str, target: str, sources: Iterable[str] | None = None
) -> list[str]:
    """The states a bulk change to `target` may start from (the WHERE of its UPDATE): the given
    ones, each checked against the table, or every one the table lets reach `target`."""
    if sources is None:
        return sorted(source for source, targets in table.items() if target in targets)
    sources = sorted(sources)
    for source in sources:
        check(table, model, source, target)
    return sources
