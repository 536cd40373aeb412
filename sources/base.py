"""What a source is, and which source reads a repository.

A source reads what changed in a repository during a window of time from the place that hosts
it, and hands it over as the plain records of `sources/records.py`. A repository names its host
(`Repository.host`, e.g. "github.com"); `source_for(host, settings)` gives the source registered
for that host. The collection code only ever talks to a source through the `Source` protocol.

To read repositories of a new host:

1. Write `sources/<name>.py` with a class that has what `Source` below lists:
   - `stats`, a `RequestStats` it adds every request to, a failed fetch's included;
   - `repository(full_name)`: the repository as the host names it, with its default branch
     (the admin calls it before a repository is added);
   - `fetch(full_name, since, until, progress=None)`: a `RepositorySnapshot` of the default
     branch's commits committed in [since, until) and the issues and pull requests created or
     updated in it, ordered by commit time and by number. `since` and `until` are aware
     datetimes; call `progress(done, total)` as commits arrive if it is given.
   Both raise `SourceError` with a one-line reason the operator can act on, and nothing else.
   Keep the module plain Python: no Django import.
2. Give the module a function `from_settings(settings, **options)` that builds the source from
   the Django settings object it is handed (read the host's token and URLs there; options are
   the source's own, such as the replay server's address for GitHub).
3. Add the host to `SOURCES` below as "module:function". The admin then accepts repositories on
   that host, and collection reads them with the new source.

`sources/github.py` is the implementation to read alongside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any, Protocol

from .records import RepositoryInfo, RepositorySnapshot

DEFAULT_HOST = "github.com"

# host -> "module:function" building its source from settings. A path rather than the function
# itself: reading this table (the models and the admin do) must not load every host's client.
SOURCES: dict[str, str] = {
    DEFAULT_HOST: "sources.github:from_settings",
}

# Called with (done, total) as commit details arrive.
Progress = Callable[[int, int], None]


@dataclass
class RequestStats:
    """Requests a source sent: in all, answered 304 Not Modified, and retried."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0

    def since(self, start: RequestStats) -> RequestStats:
        return RequestStats(
            self.requests - start.requests,
            self.not_modified - start.not_modified,
            self.retries - start.retries,
        )


class Source(Protocol):
    stats: RequestStats

    def repository(self, full_name: str) -> RepositoryInfo: ...

    def fetch(
        self, full_name: str, since: datetime, until: datetime, progress: Progress | None = None
    ) -> RepositorySnapshot: ...


def hosts() -> list[str]:
    """The hosts a repository may be on: those a source reads."""
    return sorted(SOURCES)


def host_choices() -> list[tuple[str, str]]:
    return [(host, host) for host in hosts()]


def source_for(host: str, settings: Any, **options: Any) -> Source:
    """The source of `host`, built from `settings`; KeyError for a host no source reads."""
    if host not in SOURCES:
        raise KeyError(f"no source reads {host!r}; known hosts: {', '.join(hosts())}")
    module, function = SOURCES[host].split(":")
    return getattr(import_module(module), function)(settings, **options)
