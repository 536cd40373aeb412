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

The language comes from the URL (`?lang=`), never from Accept-Language or a cookie, so it is part
of every key and ETag, and no response needs to vary on a header for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_safe

from newsletter.models import Report

# Part of every key: raise it when the pages' markup changes, so a deployment serves no page
# rendered by the code before it.
MARKUP_VERSION = 1


@dataclass(frozen=True)
class ArchiveState:
    """What the archive pages of one language are made of, as far as their freshness goes."""

    fingerprint: tuple  # changes whenever the page's content does
    changed: datetime | None  # the latest change of any sent issue of the language: Last-Modified
    published: int  # sent issues (up to the day, for an issue page)
    latest: date | None  # the newest sent issue
    shown: bool  # the asked-for day is a sent issue (always True without a day)


def archive_state(request: HttpRequest, language: str, day: date | None = None) -> ArchiveState:
    """The state of the language's archive, or of the issue page of `day`: one query, once per
    request (the ETag and the Last-Modified are both read from it)."""
    known = request.__dict__.setdefault("_archive_states", {})
    if (language, day) not in known:
        known[(language, day)] = read_state(language, day)
    return known[(language, day)]


def read_state(language: str, day: date | None) -> ArchiveState:
    sent = Q(status=Report.Status.SENT)
    # A withdrawn issue keeps its sent_at, so the save that withdrew it still counts as a change.
    seen = sent | Q(sent_at__isnull=False)
    scope = Q(date__lte=day) if day else Q()
    around = {"following": Min("date", filter=sent & Q(date__gt=day)), "shown": Count("pk", filter=sent & Q(date=day))}
    row = Report.objects.filter(language=language).aggregate(
        published=Count("pk", filter=sent & scope),
        last_update=Max("updated_at", filter=seen & scope),
        last_sent=Max("sent_at", filter=scope),
        newest_update=Max("updated_at", filter=seen),
        newest_sent=Max("sent_at"),
        latest=Max("date", filter=sent),
        **(around if day else {}),
    )
    stamps = [stamp for stamp in (row["newest_update"], row["newest_sent"]) if stamp]
    return ArchiveState(
        fingerprint=(row["published"], row["last_update"], row["last_sent"], row.get("following")),
        changed=max(stamps) if stamps else None,
        published=row["published"],
        latest=row["latest"],
        shown=bool(row.get("shown", True)),
    )


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
            key = f"archive-page:{found.etag}"
            response = cache.get(key)
            if response is None:
                response = view(request, *args, **kwargs)
                # The archive's own Last-Modified is set on the way out (the feed sets its newest
                # entry's, which is not what If-Modified-Since is compared with).
                response.headers.pop("Last-Modified", None)
                if response.status_code == 200:
                    cache.set(key, response, settings.ARCHIVE_CACHE_SECONDS)
            return response

        return require_safe(cache_control(public=True, no_cache=True)(with_validators(describe)(cached)))

    return decorate
