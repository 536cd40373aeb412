"""Read a repository's day from the GitHub REST API through PyGithub: the github.com source.

`GitHubSource.fetch(repo, since, until)` returns a `RepositorySnapshot`: the default branch's
commits committed in [since, until) with stats, files and patches, and the issues and pull
requests created or updated in that window. The only module that imports PyGithub; it implements
the `Source` protocol of `sources/base.py`, and `from_settings` builds it from the settings.

Costs, per repository: 1 request for the repository, 1 per page of commits, 1 per commit (the
detail carries stats, files and patches together), 1 per page of issues. With a cache folder,
every GET is sent with If-None-Match and a 304 reuses the stored body (GitHub does not count
304s against the rate limit).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import requests.adapters
import requests_cache
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester

from .base import Progress, RequestStats
from .names import split_full_name
from .records import (
    CommitRecord,
    FileChange,
    IssueRecord,
    RepositoryInfo,
    RepositorySnapshot,
    SourceError,
)

HOST = "github.com"
PUBLIC_API = "https://api.github.com"

# (url, status, parsed JSON body) of every answer PyGithub reads; the recorder uses it.
ResponseObserver = Callable[[str, int, Any], None]


@dataclass(frozen=True)
class GitHubConfig:
    token: str | None = None
    base_url: str = PUBLIC_API
    timeout: int = 30
    retries: int = 5
    backoff: float = 1.0  # seconds; doubles with every retry of a 5xx
    secondary_rate_wait: float = 60.0  # when a secondary rate limit gives no Retry-After
    max_rate_limit_wait: float = 300.0  # a primary rate-limit reset further away than this ends the run
    cache_dir: Path | None = None  # conditional-request cache; None sends plain GETs
    per_page: int = 100


def check_name(full_name: str) -> None:
    """A name GitHub could not have never reaches a URL (no "../" or "?" smuggled into a request)."""
    try:
        split_full_name(full_name)
    except ValueError as error:
        raise SourceError(str(error)) from None


def to_utc(moment: datetime) -> datetime:
    # PyGithub formats since/until with strftime and a literal Z, without converting: an aware
    # 08:00+08:00 would go out as 08:00Z. Everything sent to the API is converted here first.
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime")
    return moment.astimezone(UTC)


def parse_api_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def normalize_commit(detail: dict, files: list[dict]) -> CommitRecord:
    """A commit record from the single-commit answer; KeyError/TypeError mean a malformed answer."""
    git = detail["commit"]
    author = detail.get("author") or {}
    stats = detail.get("stats") or {}
    changes = tuple(
        FileChange(
            path=item["filename"],
            status=item.get("status", "modified"),
            additions=int(item.get("additions", 0)),
            deletions=int(item.get("deletions", 0)),
            patch=item.get("patch"),
            previous_path=item.get("previous_filename"),
        )
        for item in files
    )
    return CommitRecord(
        sha=detail["sha"],
        message=_text(git["message"]),
        author_name=_text(git["author"].get("name")),
        author_login=_text(author.get("login")),
        authored_at=parse_api_time(git["author"]["date"]),
        committed_at=parse_api_time(git["committer"]["date"]),
        html_url=detail["html_url"],
        additions=int(stats.get("additions", sum(c.additions for c in changes))),
        deletions=int(stats.get("deletions", sum(c.deletions for c in changes))),
        files=changes,
    )


def normalize_issue(item: dict) -> IssueRecord:
    labels = tuple(label["name"] if isinstance(label, dict) else str(label) for label in item.get("labels") or ())
    html_url = item["html_url"]
    return IssueRecord(
        number=int(item["number"]),
        title=_text(item["title"]).strip(),
        body=_text(item.get("body")),
        state=item["state"],
        labels=labels,
        author_login=_text((item.get("user") or {}).get("login")),
        comments=int(item.get("comments") or 0),
        created_at=parse_api_time(item["created_at"]),
        updated_at=parse_api_time(item["updated_at"]),
        closed_at=parse_api_time(item.get("closed_at")),
        html_url=html_url,
        # The list answer has "pull_request" only for PRs, and asking PyGithub for an absent
        # field costs a request per issue; the web URL tells the same thing for free.
        is_pull_request="pull_request" in item or "/pull/" in html_url,
    )


class CountingAdapter(requests.adapters.HTTPAdapter):
    """Reports every answer that came over the network (a cache hit never reaches an adapter)."""

    def __init__(self, on_response: Callable[[requests.Response], None], **kwargs):
        super().__init__(**kwargs)
        self.on_response = on_response

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        self.on_response(response)
        return response


class GitHubSource:
    """One configured client; `fetch` may be called for several repositories in turn."""

    # PyGithub picks its connection class when a client is built; building is serialized so
    # that our class (with the cache and the counters) is what this client gets.
    _build_lock = threading.Lock()

    def __init__(self, config: GitHubConfig, observer: ResponseObserver | None = None):
        self.config = config
        self.observer = observer
        self.stats = RequestStats()
        self._client = self._build_client()

    def _build_client(self) -> Github:
        config = self.config
        retry = GithubRetry(
            total=config.retries,
            backoff_factor=config.backoff,
            secondary_rate_wait=config.secondary_rate_wait,
            max_rate_limit_wait=config.max_rate_limit_wait,
        )
        http, https = self._connection_classes()
        with self._build_lock:
            Requester.injectConnectionClasses(http, https)
            try:
                return Github(
                    auth=Auth.Token(config.token) if config.token else None,
                    base_url=config.base_url.rstrip("/"),
                    timeout=config.timeout,
                    retry=retry,
                    per_page=config.per_page,
                    seconds_between_requests=None,
                    seconds_between_writes=None,
                )
            finally:
                Requester.resetConnectionClasses()

    def _connection_classes(self):
        source = self

        def make(base):
            class Connection(base):
                def __init__(self, *args, **kwargs):
                    super().__init__(*args, **kwargs)
                    self.session.close()
                    self.session = source._new_session()
                    self.adapter = CountingAdapter(
                        source._count,
                        max_retries=self.retry,
                        pool_connections=self.pool_size,
                        pool_maxsize=self.pool_size,
                    )
                    self.session.mount(f"{self.protocol}://", self.adapter)

                def getresponse(self):
                    response = super().getresponse()
                    source._observe(response.response)
                    return response

            return Connection

        return make(HTTPRequestsConnectionClass), make(HTTPSRequestsConnectionClass)

    def _new_session(self) -> requests.Session:
        if self.config.cache_dir is None:
            session = requests.Session()
        else:
            session = requests_cache.CachedSession(
                str(self.config.cache_dir),
                backend="filesystem",
                # Stored but stale at once: every later GET revalidates with If-None-Match.
                expire_after=requests_cache.EXPIRE_IMMEDIATELY,
                always_revalidate=True,
            )
            session.cache.delete(older_than=timedelta(days=14))
        session.auth = Requester.noopAuth
        return session

    def _count(self, response: requests.Response) -> None:
        self.stats.requests += 1
        if response.status_code == 304:
            self.stats.not_modified += 1
        retries = getattr(response.raw, "retries", None)
        if retries is not None:
            self.stats.retries += len(retries.history)

    def _observe(self, response: requests.Response) -> None:
        if self.observer is None or response.status_code != 200:
            return
        try:
            body = response.json()
        except ValueError:
            return  # the caller reports the malformed answer
        self.observer(response.url, response.status_code, body)

    def repository(self, full_name: str) -> RepositoryInfo:
        """The repository as GitHub names it, with its default branch; SourceError if it is not there."""
        step = Step(full_name, "the repository")
        check_name(full_name)
        try:
            repo = self._client.get_repo(full_name)
            return RepositoryInfo(full_name=repo.full_name, default_branch=repo.default_branch)
        except Exception as error:
            raise SourceError(describe_failure(error, step, self.config)) from error

    def fetch(
        self,
        full_name: str,
        since: datetime,
        until: datetime,
        progress: Progress | None = None,
    ) -> RepositorySnapshot:
        """Everything of `full_name` in [since, until); raises SourceError with a one-line reason."""
        check_name(full_name)
        since, until = to_utc(since), to_utc(until)
        start = RequestStats(**vars(self.stats))
        step = Step(full_name)
        try:
            step.now = "the repository"
            repo = self._client.get_repo(full_name)
            branch = repo.default_branch
            step.now = "the commit list"
            # GitHub's bounds are inclusive; the window's end is not, so drop that exact second.
            listed = [
                commit
                for commit in repo.get_commits(sha=branch, since=since, until=until)
                if commit.commit.committer.date.astimezone(UTC) < until
            ]
            commits = []
            for done, listed_commit in enumerate(listed, start=1):
                step.now = f"commit {listed_commit.sha[:12]}"
                detail = listed_commit.raw_data  # one GET: stats, files and patches together
                files = [f.raw_data for f in listed_commit.files]  # more pages only past 300 files
                commits.append(normalize_commit(detail, files))
                if progress:
                    progress(done, len(listed))
            step.now = "the issue list"
            issues = []
            for issue in repo.get_issues(state="all", since=since, sort="updated", direction="desc"):
                record = normalize_issue(issue._rawData)  # the list item as served; no extra GET
                if since <= record.created_at < until or since <= record.updated_at < until:
                    issues.append(record)
        except Exception as error:
            raise SourceError(describe_failure(error, step, self.config)) from error
        used = self.stats.since(start)
        return RepositorySnapshot(
            full_name=full_name,
            default_branch=branch,
            since=since,
            until=until,
            commits=tuple(sorted(commits, key=lambda c: c.committed_at)),
            issues=tuple(sorted(issues, key=lambda i: i.number)),
            requests=used.requests,
            not_modified=used.not_modified,
            retries=used.retries,
        )


def from_settings(
    settings: Any, *, base_url: str | None = None, observer: ResponseObserver | None = None
) -> GitHubSource:
    """The source as the GITHUB_* settings configure it; `base_url` overrides GITHUB_API_URL (a replay)."""
    config = GitHubConfig(
        token=settings.GITHUB_TOKEN,
        base_url=base_url or settings.GITHUB_API_URL,
        timeout=settings.GITHUB_TIMEOUT,
        retries=settings.GITHUB_RETRIES,
        backoff=settings.GITHUB_BACKOFF,
        secondary_rate_wait=settings.GITHUB_SECONDARY_RATE_WAIT,
        max_rate_limit_wait=settings.GITHUB_MAX_RATE_LIMIT_WAIT,
        cache_dir=settings.GITHUB_CACHE_DIR,
    )
    return GitHubSource(config, observer=observer)


@dataclass
class Step:
    repository: str
    now: str = field(default="")

    def __str__(self) -> str:
        return f"{self.repository}: {self.now}" if self.now else self.repository


def _reset_time(headers: dict | None) -> str:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    reset = headers.get("x-ratelimit-reset")
    if reset and str(reset).isdigit():
        return datetime.fromtimestamp(int(reset), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "an unknown time"


def describe_failure(error: Exception, step: Step, config: GitHubConfig) -> str:
    """Turn what PyGithub, requests or urllib3 raised into one line an operator can act on."""
    if isinstance(error, RateLimitExceededException):
        advice = "run again after the reset" if config.token else "set GITHUB_TOKEN for a higher limit"
        return f"{step}: GitHub rate limit exhausted; it resets at {_reset_time(error.headers)}: {advice}."
    if isinstance(error, GithubException):
        message = error.data.get("message") if isinstance(error.data, dict) else None
        if error.status == 404:
            return f"{step}: not found on GitHub (is the repository name right, and public or readable by the token?)"
        if error.status == 401:
            return f"{step}: GitHub rejected the token (401 Bad credentials); check GITHUB_TOKEN"
        return f"{step}: GitHub answered {error.status}" + (f" ({message})" if message else "")
    if isinstance(error, requests.exceptions.RetryError):
        # urllib3 says "too many 502 error responses"; keep that part, not the URL soup around it.
        reason = getattr(error.args[0], "reason", None) if error.args else None
        return f"{step}: GitHub kept failing after {config.retries} retries ({reason or 'server errors'})"
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return f"{step}: cannot reach the GitHub API at {config.base_url} ({type(error).__name__})"
    if isinstance(error, json.JSONDecodeError):
        return f"{step}: GitHub sent a malformed answer (invalid JSON: {error.msg})"
    if isinstance(error, KeyError):
        return f"{step}: GitHub sent a malformed answer (field {error.args[0]!r} is missing)"
    if isinstance(error, (ValueError, TypeError, AttributeError)):
        return f"{step}: GitHub sent a malformed answer ({type(error).__name__}: {error})"
    return f"{step}: {type(error).__name__}: {error}"
