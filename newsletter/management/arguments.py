"""Argument checks shared by the management commands: one clear line on bad input."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.core.management.base import CommandError
from tqdm import tqdm

from newsletter.days import check_not_future, parse_day
from newsletter.models import Repository


def day_option(value: str, *, allow_future: bool = False) -> date:
    try:
        day = parse_day(value)
        if not allow_future:
            check_not_future(day)
    except ValueError as error:
        raise CommandError(f"--date: {error}") from None
    return day


def choice_option(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise CommandError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def repository_options(names: list[str] | None) -> list[Repository]:
    """The named repositories (OWNER/NAME, any case), or every enabled one."""
    if not names:
        repositories = list(Repository.objects.enabled())
        if not repositories:
            raise CommandError("no enabled repository: enable one in the admin or pass --repo OWNER/NAME")
        return repositories
    found = []
    for name in names:
        try:
            found.append(Repository.objects.get_by_full_name(name))
        except Repository.DoesNotExist:
            known = ", ".join(r.full_name for r in Repository.objects.all()) or "none"
            raise CommandError(f"--repo: unknown repository {name!r} (known: {known})") from None
    return found


@contextmanager
def progress_bar(label: str, stream, unit: str = "commit") -> Iterator:
    """A progress callback (done, total) drawing a bar when `stream` is a terminal, else nothing."""
    interactive = hasattr(stream, "isatty") and stream.isatty()
    bar = tqdm(desc=label, unit=unit, leave=False, disable=not interactive, file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
