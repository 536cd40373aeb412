"""Recorded exchanges with the Messages API: what we asked and what the model answered, per day.

An operator with a key records a day once (`manage.py record_exchanges --date D --out DIR`); the
file replays as a test against the fake Messages API (tests/fake_anthropic.py, replay mode), so a
real answer's shape, language and mistakes are exercised without a key.

One JSON object per line, in the order the answers arrived:

    {"format": "ai-infra-daily/exchange/1", "kind": "commit_item",
     "key": {"repository": "OWNER/NAME", "sha": "<40 hex>"},
     "request": {"model": ..., "max_tokens": ..., "system": [...], "messages": [...], "output_config": {...}},
     "status": 200, "response": {"id": ..., "type": "message", "content": [...], "usage": {...}, ...}}

`request` is the body we sent, which never holds the key (the SDK sends it in a header, and
headers are not recorded); `response` is the body we received, or for a failure only the error's
type (provider text stays out of our files as it stays out of reports). Anything that still looks
like a credential is redacted before a line is written. `key` is what a replay matches on: the
call's kind and, from the prompt itself, the repository and the commit.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

FORMAT = "ai-infra-daily/exchange/1"
_SECRET_FIELDS = {"api_key", "x-api-key", "authorization", "headers", "extra_headers", "auth_token"}
_SECRET_TEXT = re.compile(r"\bsk-ant-[A-Za-z0-9_-]+|\bBearer\s+\S+")
_REPOSITORY = re.compile(r"^(?:Repository|仓库)[:：]\s*([\w.-]+/[\w.-]+)", re.M)
_SHA = re.compile(r"^(?:Commit SHA|提交 SHA)[:：]\s*([0-9a-f]{40})", re.M)


def request_text(request: dict) -> str:
    """The user turn of a request, as text."""
    parts = []
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(block.get("text", "") for block in content or [] if isinstance(block, dict))
    return "\n".join(parts)


def kind_of(request: dict) -> str:
    return (((request.get("output_config") or {}).get("format") or {}).get("schema") or {}).get("title", "")


def request_key(request: dict) -> dict:
    """What identifies a call across runs: the repository and commit its prompt is about."""
    text = request_text(request)
    key = {}
    repository = _REPOSITORY.search(text)
    if repository:
        key["repository"] = repository.group(1)
    sha = _SHA.search(text)
    if sha:
        key["sha"] = sha.group(1)
    return key


def scrub(value, secrets: tuple[str, ...] = ()):
    """`value` without fields that carry credentials, without the given secrets and without text
    that looks like a key."""
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items() if str(k).lower() not in _SECRET_FIELDS}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, "[redacted]")
        return _SECRET_TEXT.sub("[redacted]", value)
    return value


@dataclass(frozen=True)
class Exchange:
    kind: str
    key: dict
    request: dict
    status: int
    response: dict

    def matches(self, kind: str, key: dict) -> bool:
        return self.kind == kind and self.key == key


class ExchangeRecorder:
    """Appends a day's exchanges to DIR/<day>-<language>.jsonl; a new recording replaces the old."""

    def __init__(self, directory: Path | str, day: date, language: str, secrets: tuple[str, ...] = ()):
        self.secrets = tuple(s for s in secrets if s)
        self.path = Path(directory) / f"{day.isoformat()}-{language}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("", encoding="utf-8")
        self._lock = threading.Lock()

    def record(self, request: dict, status: int, response: dict) -> None:
        line = {
            "format": FORMAT,
            "kind": kind_of(request),
            "key": request_key(request),
            "request": scrub(request, self.secrets),
            "status": status,
            "response": scrub(response, self.secrets),
        }
        text = json.dumps(line, ensure_ascii=False, sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(text + "\n")


def load(path: Path | str) -> list[Exchange]:
    """The exchanges of a recorded file (.jsonl, or .jsonl.gz for fixtures kept small in the tree)."""
    path = Path(path)
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text(encoding="utf-8")
    exchanges = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}:{number}: not a recorded exchange ({data.get('format')!r})")
        exchanges.append(Exchange(data["kind"], data["key"], data["request"], data["status"], data["response"]))
    return exchanges
