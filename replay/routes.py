"""The GitHub REST API paths a replay folder answers, and the file of the folder behind each one.

One table for both sides: the server finds a request's route here and reads the route's file;
the recorder finds a recorded answer's route here and writes that same file. A route without a
file (the rate limit) is answered by the server from nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


@dataclass(frozen=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    # In the repository's folder (OWNER/NAME/); "{ref}" is the commit the path names.
    file: str | None

    def path(self, repository: Path, ref: str = "") -> Path:
        return repository / self.file.format(ref=ref)


ROUTES = {
    route.name: route
    for route in (
        Route("repository", re.compile(_REPO + r"/?$"), "repo.json"),
        Route("commit_list", re.compile(_REPO + r"/commits/?$"), "commits.json"),
        Route("commit_detail", re.compile(_REPO + r"/commits/(?P<ref>[^/]+)$"), "commits/{ref}.json"),
        Route("issue_list", re.compile(_REPO + r"/issues/?$"), "issues.json"),
        # One issue is an entry of the list's file, not a file of its own.
        Route("issue_detail", re.compile(_REPO + r"/issues/(?P<number>\d+)$"), "issues.json"),
        Route("rate_limit", re.compile(r"/rate_limit/?$"), None),
    )
}


def find_route(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of a URL path (without the API's own prefix) and what its pattern captured."""
    for route in ROUTES.values():
        match = route.pattern.match(path)
        if match:
            return route, match.groupdict()
    return None
