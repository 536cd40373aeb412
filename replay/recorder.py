"""Write the GitHub API answers a fetch reads into a folder in the replay format.

Pass `Recorder.observe` as a GitHubSource observer, fetch, then `write(repo)` to store what was
read for that repository (or `discard(repo)` if the fetch failed, so a folder never holds half a
day). Recording into a folder that already holds other days merges with them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from replay.routes import ROUTES, find_route

PUBLIC_API = "https://api.github.com"
# A fetch asks for each listed commit by its full SHA, the name its file is kept under.
_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def _write_json(path: Path, data: Any) -> None:
    """Atomic: a crash leaves the old file or the new one, never a truncated one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=1)
        out.write("\n")
    os.replace(temporary, path)


def _read_json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


class _Buffer:
    def __init__(self) -> None:
        self.repository: dict | None = None
        self.commits: dict[str, dict] = {}
        self.details: dict[str, dict] = {}
        self.issues: dict[int, dict] = {}


class Recorder:
    def __init__(self, out: str | Path, base_url: str = PUBLIC_API):
        self.out = Path(out)
        self.base_url = base_url.rstrip("/")
        self._prefix = urlsplit(self.base_url).path.rstrip("/")  # "/api/v3" on GitHub Enterprise
        self._buffers: dict[str, _Buffer] = {}

    def _canonical(self, body: Any) -> Any:
        # Answers from a replay server or GitHub Enterprise carry their own address; the replay
        # format always says https://api.github.com.
        if self.base_url == PUBLIC_API:
            return body
        return json.loads(json.dumps(body).replace(self.base_url, PUBLIC_API))

    def observe(self, url: str, status: int, body: Any) -> None:
        parts = urlsplit(url)
        path = parts.path[len(self._prefix) :] if parts.path.startswith(self._prefix) else parts.path
        found = find_route(path)
        if found is None:
            return
        route, match = found
        kind = route.name
        if kind not in ("repository", "commit_list", "commit_detail", "issue_list"):
            return  # one issue or the rate limit: the folder keeps these nowhere of their own
        if kind == "commit_detail" and not _FULL_SHA.fullmatch(match["ref"]):
            return
        buffer = self._buffers.setdefault(f"{match['owner']}/{match['name']}".lower(), _Buffer())
        body = self._canonical(body)
        if kind == "repository":
            buffer.repository = body
        elif kind == "commit_list":
            buffer.commits.update((item["sha"], item) for item in body)
        elif kind == "commit_detail":
            page = int(parse_qs(parts.query).get("page", ["1"])[-1])
            sha = match["ref"]
            if page > 1 and sha in buffer.details:  # a commit of more than 300 files
                buffer.details[sha]["files"].extend(body.get("files", []))
            else:
                buffer.details[sha] = body
        elif kind == "issue_list":
            buffer.issues.update((item["number"], item) for item in body)

    def discard(self, full_name: str) -> None:
        self._buffers.pop(full_name.lower(), None)

    def write(self, full_name: str) -> Path:
        """Merge what was read for `full_name` into the folder; returns the repository's folder."""
        buffer = self._buffers.pop(full_name.lower(), _Buffer())
        directory = self.out / full_name
        if buffer.repository is not None:
            _write_json(ROUTES["repository"].path(directory), buffer.repository)
        commit_list = ROUTES["commit_list"].path(directory)
        commits = {item["sha"]: item for item in _read_json(commit_list, [])}
        commits.update(buffer.commits)
        ordered = sorted(commits.values(), key=lambda item: item["commit"]["committer"]["date"], reverse=True)
        _write_json(commit_list, ordered)
        for sha, detail in buffer.details.items():
            _write_json(ROUTES["commit_detail"].path(directory, ref=sha), detail)
        issue_list = ROUTES["issue_list"].path(directory)
        issues = {item["number"]: item for item in _read_json(issue_list, [])}
        issues.update(buffer.issues)
        _write_json(issue_list, sorted(issues.values(), key=lambda i: i["created_at"], reverse=True))
        return directory

    def note_window(self, day: str, time_zone: str, since: datetime, until: datetime, repositories: list[str]) -> None:
        """Keep a list of recorded days beside the data, so a replay knows what it can answer."""
        path = self.out / "recordings.json"
        recordings = [r for r in _read_json(path, []) if r.get("date") != day]
        recordings.append(
            {
                "date": day,
                "time_zone": time_zone,
                "since": since.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "until": until.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "repositories": sorted(repositories),
            }
        )
        _write_json(path, sorted(recordings, key=lambda r: r["date"]))


def recorded_days(folder: str | Path) -> list[str]:
    return [entry["date"] for entry in _read_json(Path(folder) / "recordings.json", [])]
