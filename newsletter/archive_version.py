"""The version of each language's public archive, one small key in Django's cache.

Every change of what the archive shows (an issue going public, sent again, withdrawn or
corrected) writes a new version; the archive's validators read it instead of asking the database
on every request, and ask the database only when the version moved or is gone (a cache flush, an
eviction). A version is a fresh random number, never a counter: two changes racing on a cache
without an atomic increment can lose an increment, never a fresh value, and a version that
vanished and comes back new never matches anything remembered under the old one.
"""

from __future__ import annotations

import secrets

from django.core.cache import cache
from django.db import transaction

TIMEOUT = None  # kept until a change replaces it; a missing one is made again from the database


def key(language: str) -> str:
    return f"archive-version:{language}"


def fresh() -> int:
    return secrets.randbits(62)


def bump(language: str) -> None:
    """A new version now (for readers in this transaction, and tests, which never commit), and
    again once the change is committed: a reader that read the rows before the commit has its
    result remembered under a version that is gone by then."""
    cache.set(key(language), fresh(), TIMEOUT)
    transaction.on_commit(lambda: cache.set(key(language), fresh(), TIMEOUT))


def establish(language: str) -> int:
    """The version when none is stored: a new one, set before the rows are read, so what is read
    is never older than the version it is remembered under."""
    version = fresh()
    if cache.add(key(language), version, TIMEOUT):
        return version
    return cache.get(key(language), version)
