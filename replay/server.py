"""Serve a folder of recorded GitHub API answers as the GitHub REST API, for PyGithub, offline.

Layout of the folder (the "replay format"):
    OWNER/NAME/commits.json         the commit list endpoint's items, newest first
    OWNER/NAME/commits/SHA.json     a single commit with stats and files[].patch
    OWNER/NAME/issues.json          issues and PRs as the issues endpoint returns them
    OWNER/NAME/repo.json            optional: the repository object (else a minimal one)

The server behaves like GitHub where PyGithub can tell: since/until/state/sort/per_page/page,
Link headers, ETag + If-None-Match -> 304, rate-limit headers, 404 for what it lacks, and every
https://api.github.com URL in a body rewritten to the server's own address. Faults can be
injected for tests: the first N requests answer 502, secondary rate limits, an exhausted primary
rate limit, or a truncated body.

    python -m sources.replay DIR [--port 8765] [--fail-first N] [--rate-limit-after N] ...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from replay.routes import ROUTES, find_route

GITHUB_API = "https://api.github.com"
DOCS = "https://docs.github.com/rest"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30
RATE_LIMIT = 5000


class NotFoundError(Exception):
    pass


class BadRequestError(Exception):
    pass


def parse_time(value: str) -> datetime:
    """GitHub timestamps: ISO 8601 in UTC with a Z; anything unparseable is the caller's error."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadRequestError(f"invalid timestamp {value!r}") from error
    if parsed.tzinfo is None:
        raise BadRequestError(f"timestamp without a time zone: {value!r}")
    return parsed


@dataclass
class Faults:
    """Failures to inject, counted over all requests the server answers."""

    fail_first: int = 0  # the first N requests answer 502
    secondary_limit_first: int = 0  # then N requests answer 403 secondary rate limit + Retry-After
    retry_after: int = 1
    rate_limit_after: int | None = None  # after N good answers, 403 primary rate limit until the reset
    rate_limit_reset_in: int = 3600  # seconds from the first 403 to the advertised reset
    malformed: str | None = None  # request paths (with query) containing this get a truncated body


@dataclass
class RequestLog:
    method: str
    path: str
    status: int
    if_none_match: str | None = None


@dataclass
class ReplayState:
    root: Path
    faults: Faults = field(default_factory=Faults)
    log: list[RequestLog] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: int = 0  # requests answered with data (not faults)
    seen: int = 0
    rate_limit_reset_at: int | None = None

    def reset(self, faults: Faults | None = None) -> None:
        with self.lock:
            self.faults = faults or Faults()
            self.log.clear()
            self.answered = 0
            self.seen = 0
            self.rate_limit_reset_at = None

    def statuses(self) -> list[int]:
        with self.lock:
            return [entry.status for entry in self.log]


class ReplayData:
    """Read-only access to the replay folder; parsed files are cached in memory."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._parsed: dict[Path, object] = {}
        self._lock = threading.Lock()

    def repo_dir(self, owner: str, name: str) -> Path:
        path = self.root / owner / name
        # A path segment like ".." must never walk out of the replay folder.
        if not path.resolve().is_relative_to(self.root.resolve()) or not path.is_dir():
            raise NotFoundError
        return path

    def _load(self, path: Path):
        with self._lock:
            if path in self._parsed:
                return self._parsed[path]
        if not path.is_file():
            raise NotFoundError
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        with self._lock:
            self._parsed[path] = data
        return data

    def repository(self, owner: str, name: str) -> dict:
        directory = self.repo_dir(owner, name)
        path = ROUTES["repository"].path(directory)
        if path.is_file():
            return self._load(path)
        full_name = f"{owner}/{name}"
        return {
            "id": None,
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": {"login": owner, "url": f"{GITHUB_API}/users/{owner}", "type": "Organization"},
            "html_url": f"https://github.com/{full_name}",
            "url": f"{GITHUB_API}/repos/{full_name}",
            "default_branch": "main",
        }

    def commits(self, owner: str, name: str) -> list[dict]:
        return self._load(ROUTES["commit_list"].path(self.repo_dir(owner, name)))

    def commit(self, owner: str, name: str, ref: str) -> dict:
        if not re.fullmatch(r"[0-9a-f]{7,40}", ref):
            raise NotFoundError
        route, directory = ROUTES["commit_detail"], self.repo_dir(owner, name)
        if len(ref) < 40:  # an abbreviated SHA, as GitHub accepts
            pattern = route.path(directory, ref=ref + "*")
            matches = sorted(pattern.parent.glob(pattern.name))
            if len(matches) != 1:
                raise NotFoundError
            return self._load(matches[0])
        return self._load(route.path(directory, ref=ref))

    def issues(self, owner: str, name: str) -> list[dict]:
        path = ROUTES["issue_list"].path(self.repo_dir(owner, name))
        return self._load(path) if path.is_file() else []


def _single(query: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = query.get(key)
    return values[-1] if values else default


def _int_param(query: dict[str, list[str]], key: str, default: int, maximum: int | None = None) -> int:
    raw = _single(query, key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise BadRequestError(f"{key} must be an integer") from error
    if value < 1:
        raise BadRequestError(f"{key} must be positive")
    return min(value, maximum) if maximum else value


def select_commits(items: list[dict], query: dict[str, list[str]], default_branch: str) -> list[dict]:
    """GitHub filters on the committer date, both bounds inclusive."""
    ref = _single(query, "sha")
    if ref and ref != default_branch:
        start = next((i for i, item in enumerate(items) if item["sha"].startswith(ref)), None)
        if start is None:
            raise NotFoundError
        items = items[start:]
    since, until = _single(query, "since"), _single(query, "until")
    since_at = parse_time(since) if since else None
    until_at = parse_time(until) if until else None
    selected = []
    for item in items:
        committed = parse_time(item["commit"]["committer"]["date"])
        if since_at and committed < since_at:
            continue
        if until_at and committed > until_at:
            continue
        selected.append(item)
    return selected


def select_issues(items: list[dict], query: dict[str, list[str]]) -> list[dict]:
    state = _single(query, "state", "open")
    if state not in ("open", "closed", "all"):
        raise BadRequestError("state must be open, closed or all")
    since = _single(query, "since")
    since_at = parse_time(since) if since else None
    sort = _single(query, "sort", "created")
    if sort not in ("created", "updated", "comments"):
        raise BadRequestError("sort must be created, updated or comments")
    direction = _single(query, "direction", "desc")
    selected = [
        item
        for item in items
        if (state == "all" or item["state"] == state)
        and (since_at is None or parse_time(item["updated_at"]) >= since_at)
    ]
    key = {"created": "created_at", "updated": "updated_at", "comments": "comments"}[sort]
    return sorted(selected, key=lambda item: item[key], reverse=direction != "asc")


class ReplayHandler(BaseHTTPRequestHandler):
    server_version = "GitHubReplay/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive, as GitHub and requests' pooling expect
    # Headers and body go out in separate writes; without TCP_NODELAY each answer waits ~40 ms
    # for a delayed ACK.
    disable_nagle_algorithm = True

    @property
    def state(self) -> ReplayState:
        return self.server.state  # type: ignore[attr-defined]

    @property
    def data(self) -> ReplayData:
        return self.server.data  # type: ignore[attr-defined]

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]  # type: ignore[index]
        return f"http://{host}:{port}"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        fault = self._fault(self.path)
        if fault:
            status, headers, body = fault
        else:
            try:
                status, headers, body = self._answer(parts.path, query)
            except NotFoundError:
                status, headers, body = 404, {}, {"message": "Not Found", "documentation_url": DOCS}
            except BadRequestError as error:
                status, headers, body = 422, {}, {"message": str(error), "documentation_url": DOCS}
        self._send(status, headers, body, head=head)

    def _fault(self, target: str):
        faults, state = self.state.faults, self.state
        with state.lock:
            state.seen += 1
            seen = state.seen
            if seen <= faults.fail_first:
                return 502, {}, {"message": "Server Error"}
            if seen <= faults.fail_first + faults.secondary_limit_first:
                message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
                return 403, {"Retry-After": str(faults.retry_after)}, {"message": message, "documentation_url": DOCS}
            if state.rate_limit_reset_at is not None and time.time() >= state.rate_limit_reset_at:
                # The advertised reset has passed: a new window of rate_limit_after answers.
                state.rate_limit_reset_at, state.answered = None, 0
            if faults.rate_limit_after is not None and state.answered >= faults.rate_limit_after:
                if state.rate_limit_reset_at is None:
                    state.rate_limit_reset_at = int(time.time()) + faults.rate_limit_reset_in
                reset = state.rate_limit_reset_at
                headers = {
                    "X-RateLimit-Limit": "60",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                    "X-RateLimit-Used": "60",
                }
                message = f"API rate limit exceeded for {self.client_address[0]}."
                return 403, headers, {"message": message, "documentation_url": DOCS}
            state.answered += 1
        if faults.malformed and faults.malformed in target:
            return 200, {"X-Replay-Fault": "malformed"}, None
        return None

    def _answer(self, path: str, query: dict[str, list[str]]):
        found = find_route(path)
        if found is None:
            raise NotFoundError
        route, captured = found
        return getattr(self, f"_{route.name}")(query, **captured)

    def _repository(self, query, owner: str, name: str):
        return 200, {}, self.data.repository(owner, name)

    def _commit_list(self, query, owner: str, name: str):
        branch = self.data.repository(owner, name).get("default_branch", "main")
        items = select_commits(self.data.commits(owner, name), query, branch)
        return self._paginate(items, query)

    def _commit_detail(self, query, owner: str, name: str, ref: str):
        return 200, {}, self.data.commit(owner, name, ref)

    def _issue_list(self, query, owner: str, name: str):
        return self._paginate(select_issues(self.data.issues(owner, name), query), query)

    def _issue_detail(self, query, owner: str, name: str, number: str):
        for item in self.data.issues(owner, name):
            if item["number"] == int(number):
                return 200, {}, item
        raise NotFoundError

    def _rate_limit(self, query):
        core = {"limit": RATE_LIMIT, "remaining": RATE_LIMIT, "reset": int(time.time()) + 3600, "used": 0}
        return 200, {}, {"resources": {"core": core}, "rate": core}

    def _paginate(self, items: list, query: dict[str, list[str]]):
        per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        page = _int_param(query, "page", 1)
        last = max(1, -(-len(items) // per_page))
        links = []

        def page_url(number: int) -> str:
            params = {key: values[-1] for key, values in query.items()}
            params["page"] = str(number)
            return f"{self.base_url}{urlsplit(self.path).path}?{urlencode(params)}"

        if page < last:
            links += [f'<{page_url(page + 1)}>; rel="next"', f'<{page_url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{page_url(1)}>; rel="first"', f'<{page_url(page - 1)}>; rel="prev"']
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, headers, items[(page - 1) * per_page : page * per_page]

    def _send(self, status: int, headers: dict[str, str], body, head: bool = False) -> None:
        if body is None:  # an injected malformed answer: JSON cut off mid-object
            payload = b'{"sha": "0000000", "commit": {"message": "cut off'
        else:
            text = json.dumps(body, ensure_ascii=False).replace(GITHUB_API, self.base_url)
            payload = text.encode("utf-8")
        etag = 'W/"' + hashlib.sha256(payload).hexdigest()[:40] + '"'
        if_none_match = self.headers.get("If-None-Match")
        if status == 200 and if_none_match and etag in [tag.strip() for tag in if_none_match.split(",")]:
            status, payload = 304, b""
        with self.state.lock:
            self.state.log.append(RequestLog(self.command, self.path, status, if_none_match))
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if status in (200, 304):
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "private, max-age=60, s-maxage=60")
            self.send_header("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
        if "X-RateLimit-Remaining" not in headers:
            remaining = max(0, RATE_LIMIT - self.state.answered)
            headers = {
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(int(time.time()) + 3600),
                "X-RateLimit-Used": str(RATE_LIMIT - remaining),
                **headers,
            }
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head and payload:
            self.wfile.write(payload)


class ReplayServer:
    """The replay server in a background thread: `with ReplayServer(root) as server: server.url`."""

    def __init__(
        self,
        root: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        verbose: bool = False,
    ):
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"replay folder not found: {root}")
        self.state = ReplayState(root=root, faults=faults or Faults())
        self.httpd = ThreadingHTTPServer((host, port), ReplayHandler)
        self.httpd.daemon_threads = True
        self.httpd.state = self.state  # type: ignore[attr-defined]
        self.httpd.data = ReplayData(root)  # type: ignore[attr-defined]
        self.httpd.verbose = verbose  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="github-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sources.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="a replay folder (OWNER/NAME/commits.json, ...)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fail-first", type=int, default=0, metavar="N", help="answer the first N requests with 502")
    parser.add_argument(
        "--secondary-limit-first",
        type=int,
        default=0,
        metavar="N",
        help="then answer N requests with a 403 secondary rate limit and Retry-After",
    )
    parser.add_argument(
        "--rate-limit-after",
        type=int,
        default=None,
        metavar="N",
        help="after N answers, every request gets a 403 primary rate limit (X-RateLimit-Remaining: 0)",
    )
    parser.add_argument("--rate-limit-reset", type=int, default=3600, metavar="SECONDS")
    parser.add_argument(
        "--malformed", default=None, metavar="TEXT", help="answer paths containing TEXT with a truncated body"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        parser.error(f"replay folder not found: {args.directory}")
    faults = Faults(
        fail_first=args.fail_first,
        secondary_limit_first=args.secondary_limit_first,
        rate_limit_after=args.rate_limit_after,
        rate_limit_reset_in=args.rate_limit_reset,
        malformed=args.malformed,
    )
    try:
        server = ReplayServer(args.directory, host=args.host, port=args.port, faults=faults, verbose=args.verbose)
    except OSError as error:
        parser.error(f"cannot listen on {args.host}:{args.port}: {error.strerror}")
    repos = sorted(p.parent.relative_to(args.directory) for p in args.directory.glob("*/*/commits.json"))
    print(f"Replaying {len(repos)} repositories from {args.directory} at {server.url}", flush=True)
    for repo in repos:
        print(f"  {repo}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
