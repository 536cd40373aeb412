"""Validators (ETag, Last-Modified) and a whole-response cache for the public archive.

Both are keyed on the archive's state, read in one aggregate query, never on time alone. A sent
issue's own rows are read-only in the admin once sending starts, yet what its pages show still
changes after that: an issue becomes public when its last delivery settles (status and `sent_at`
are written with `update()`, which leaves `updated_at` alone), any later save of a report moves
`updated_at` (a correction, a withdrawal), an issue page links to the next issue and lists the
earlier ones, and the list, the feed and the home page show the newest. So an issue page's
version is its own row, the sent issues up to its day and the date of the next one; the other
pages' version is every sent issue of the language (how many, the latest `updated_at` and
`sent_at`). The cache timeout only bounds how long an entry nobody asks for stays.

The query runs only when the language's archive version (newsletter.archive_version, written by
every change of a public report) moved since the state was last read, or is gone: each process
keeps the state in memory under the version it was read under. Pages are kept in two places
under keys made from their ETag: the shared cache (rendered once for all processes) and each
process's memory (`Memory`). A cached page then costs one read of the shared cache, the
version, like a trivial view plus a lookup.

The language comes from the URL (`?lang=`), never from Accept-Language or a cookie, so it is part
of every key and ETag, and no response needs to vary on a header for it.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import wraps

import cachetools
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_safe

from newsletter import archive_version
from newsletter.models import Report

# Part of every key: raise it when the pages' markup changes, so a deployment serves no page
# rendered by the code before it.
MARKUP_VERSION = 1


class Memory:
    """Archive pages and states this process keeps as they are: a page's body is handed out as the
    same bytes every time, never copied or unpickled (a feed is almost 2 MB). Its keys name their
    content, so nothing in it is ever stale; it holds at most ARCHIVE_MEMORY_BYTES of bodies, each
    for at most ARCHIVE_CACHE_SECONDS, and the least recently used go first."""

    STATE_SIZE = 1024  # what a state, or a page's headers, counts for against the bound

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: cachetools.TTLCache | None = None

    def _store(self) -> cachetools.TTLCache:
        if self._entries is None:  # made on first use, from the settings of the time
            self._entries = cachetools.TTLCache(
                settings.ARCHIVE_MEMORY_BYTES, settings.ARCHIVE_CACHE_SECONDS, getsizeof=self._size
            )
        return self._entries

    @classmethod
    def _size(cls, entry) -> int:
        return cls.STATE_SIZE + (len(entry[0]) if isinstance(entry, tuple) else 0)

    def state(self, key: str) -> ArchiveState | None:
        with self._lock:
            return self._store().get(key)

    def keep_state(self, key: str, state: ArchiveState) -> None:
        with self._lock:
            self._store()[key] = state

    def page(self, key: str) -> HttpResponse | None:
        with self._lock:
            entry = self._store().get(key)
        if entry is None:
            return None
        body, status, headers = entry
        response = HttpResponse(body, status=status)  # the same bytes object: nothing is copied
        for name, value in headers:
            response.headers[name] = value
        return response

    def keep_page(self, key: str, response: HttpResponse) -> None:
        entry = (response.content, response.status_code, tuple(response.headers.items()))
        if self._size(entry) > settings.ARCHIVE_MEMORY_BYTES:
            return  # larger than the whole memory: it stays in the shared cache only
        with self._lock:
            self._store()[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries = None


memory = Memory()


@dataclass(frozen=True)
class ArchiveState:
    """What the archive pages of one language are made of, as far as their freshness goes."""

    fingerprint: tuple  # changes whenever the page's content does
    changed: datetime | None  # the latest change of any sent issue of the language: Last-Modified
    published: int  # sent issues (up to the day, for an issue page)
    latest: date | None  # the newest sent issue
    shown: bool  # the asked-for day is a sent issue (always True without a day)


def archive_state(request: HttpRequest, language: str, day: date | None = None) -> ArchiveState:
    """The state of the language's archive, or of the issue page of `day`: read once per request
    (the ETag and the Last-Modified are both made from it)."""
    known = request.__dict__.setdefault("_archive_states", {})
    if (language, day) not in known:
        known[(language, day)] = remembered_state(language, day)
    return known[(language, day)]


def remembered_state(language: str, day: date | None) -> ArchiveState:
    """The state as read under the current archive version (kept in this process's memory under
    that version); read again (one query) when the version moved, or when it is gone."""
    version = cache.get(archive_version.key(language))
    if version is None:
        version = archive_version.establish(language)
    key = f"archive-state:{language}:{day or ''}:{version}"
    state = memory.state(key)
    if state is None:
        state = read_state(language, day)
        memory.keep_state(key, state)
    return state


def read_state(language: str, day: date | None) -> ArchiveState:
    # Written as SQL: the same query through the ORM's filtered aggregates costs several times
    # more to build than to run, and this query is all a cached page costs.
    with connection.cursor() as cursor:
        cursor.execute(state_sql(), state_parameters(language, day))
        rows = {bool(upto): rest for upto, *rest in cursor.fetchall()}
    # Up to the day (the whole archive without one): what an issue page lists and links back to.
    published, last_update, last_sent, _, newest_upto = rows.get(True, (0, None, None, None, None))
    # After it: the next issue, which an issue page links to.
    _, later_update, later_sent, following, newest_later = rows.get(False, (0, None, None, None, None))
    stamps = [stamp for stamp in map(moment, (last_update, last_sent, later_update, later_sent)) if stamp]
    newest = [calendar_day(newest) for newest in (newest_upto, newest_later) if newest]
    return ArchiveState(
        fingerprint=(published, moment(last_update), moment(last_sent), calendar_day(following)),
        changed=max(stamps) if stamps else None,
        published=published,
        latest=max(newest) if newest else None,
        shown=day is None or calendar_day(newest_upto) == day,
    )


@functools.cache
def state_sql() -> str:
    names = ("status", "date", "updated_at", "sent_at", "language")
    column = {name: connection.ops.quote_name(Report._meta.get_field(name).column) for name in names}
    table = connection.ops.quote_name(Report._meta.db_table)
    status, day, updated, sent = column["status"], column["date"], column["updated_at"], column["sent_at"]
    # Sent issues and withdrawn ones (they keep sent_at, and the save that withdrew one is a
    # change too), in two groups: up to the day and after it. One scan, five aggregates.
    return f"""
        SELECT {day} <= %s,
               COUNT(CASE WHEN {status} = %s THEN 1 END),
               MAX({updated}),
               MAX({sent}),
               MIN(CASE WHEN {status} = %s THEN {day} END),
               MAX(CASE WHEN {status} = %s THEN {day} END)
        FROM {table}
        WHERE {column["language"]} = %s AND ({status} = %s OR {sent} IS NOT NULL)
        GROUP BY 1
    """


def state_parameters(language: str, day: date | None) -> list:
    sent = Report.Status.SENT.value
    return [connection.ops.adapt_datefield_value(day or date.max), sent, sent, sent, language, sent]


def moment(value) -> datetime | None:
    """A timestamp as the database answers it (SQLite: text in UTC), as an aware datetime."""
    value = Report._meta.get_field("updated_at").to_python(value)
    return value if value is None or timezone.is_aware(value) else timezone.make_aware(value, UTC)


def calendar_day(value) -> date | None:
    return Report._meta.get_field("date").to_python(value)


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime | None


def validators(*parts, changed: datetime | None) -> Validators:
    """A weak ETag over everything a page depends on: the same version may be rendered again
    byte for byte differently (a token in a form), never with other content."""
    digest = hashlib.sha256(repr((MARKUP_VERSION, *parts)).encode()).hexdigest()[:32]
    return Validators(etag=f'W/"{digest}"', last_modified=changed)


Describe = Callable[..., Validators | None]


def with_validators(describe: Describe):
    """Django's `condition` over `describe(request, *args, **kwargs)`: ETag and Last-Modified on
    the answer, 304 to a matching If-None-Match or If-Modified-Since. None (no such page) means no
    validators and never a 304; the view then answers (a 404)."""

    def etag(request, *args, **kwargs):
        found = describe(request, *args, **kwargs)
        return found.etag if found else None

    def last_modified(request, *args, **kwargs):
        found = describe(request, *args, **kwargs)
        return found.last_modified if found else None

    return condition(etag_func=etag, last_modified_func=last_modified)


def public_page(describe: Describe):
    """A page everyone is shown alike: validators, 304s, and the whole response cached under its
    ETag. Shared caches may keep it, but must ask again before reusing it (`no-cache`): with the
    validators, asking again costs a 304.

    The view's response is stored as it leaves the view, before any middleware adds a cookie, a
    `Vary: Cookie` or anything else of the visitor's. Only a 200 is stored; a view that raises
    (a 404) stores nothing.
    """

    def decorate(view):
        @wraps(view)
        def cached(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            found = describe(request, *args, **kwargs)
            if found is None:
                return view(request, *args, **kwargs)
            return stored_page(f"archive-page:{found.etag}", lambda: view(request, *args, **kwargs))

        return require_safe(cache_control(public=True, no_cache=True)(with_validators(describe)(cached)))

    return decorate


def stored_page(key: str, render: Callable[[], HttpResponse]) -> HttpResponse:
    """The response stored under `key`, a key that changes with the page's content: from this
    process's memory, else from the shared cache (rendered once for every process), else rendered
    now and kept in both. Only a 200 is kept."""
    response = memory.page(key)
    if response is not None:
        return response
    response = cache.get(key)
    if response is None:
        response = render()
        if response.status_code != 200:
            return response
        # The archive's own Last-Modified is set on the way out (the feed sets its newest entry's,
        # which is not what If-Modified-Since is compared with).
        response.headers.pop("Last-Modified", None)
        # One chunk: the feed is written in hundreds, and every later read of the body (the
        # Content-Length, the server) would join them all again.
        response.content = response.content
        cache.set(key, response, settings.ARCHIVE_CACHE_SECONDS)
    memory.keep_page(key, response)
    return response
