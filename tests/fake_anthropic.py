"""A fake Anthropic Messages API: a real local HTTP server the SDK reaches through ANTHROPIC_BASE_URL.

It answers structured-output requests with items built from the prompt itself (a SHA it was
given, a line that is really in the diff), records every request, counts tokens the way a
provider would (system blocks marked cache_control are written once, then read from cache), and
can be told to misbehave per commit or per call kind:

    fake.plan("<sha>", "invalid_json", "valid")   # first call answers invalid JSON, then valid
    fake.plan("issue_synthesis", "server_error")  # every whole-issue call fails with 500

Behaviours: valid, unknown_sha, bad_snippet, invalid_json, wrong_shape, overloaded (529),
server_error (500), unknown_issue (repository synthesis naming an issue that does not exist).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDER_SECRET = "PROVIDER-INTERNAL-DETAIL-7731"  # must never reach a report
_SHA = re.compile(r"(?:Commit SHA|提交 SHA)[:：]\s*([0-9a-f]{40})")
_TITLE = re.compile(r"^(?:Title|标题)[:：]\s*(.+)$", re.M)
_DIFF = re.compile(r"^### (\S+)\n```diff\n(.*?)\n```", re.M | re.S)
_HIGHLIGHT = re.compile(r"^- ([0-9a-f]{40}) \[", re.M)
_ISSUE_CITE = re.compile(r"^- ([\w.-]+/[\w.-]+#\d+) ", re.M)
_ISSUE_NUMBER = re.compile(r"^- #(\d+) ", re.M)
_EXTENSIONS = {".py": "python", ".cu": "cuda", ".cuh": "cuda", ".h": "cpp", ".cpp": "cpp", ".rs": "rust"}


def tokens(text: str) -> int:
    return max(1, len(text.encode("utf-8")) // 4)


@dataclass
class Recorded:
    kind: str
    model: str
    status: int
    body: dict
    headers: dict
    sha: str = ""
    usage: dict = field(default_factory=dict)


class FakeAnthropic:
    def __init__(self):
        self.requests: list[Recorded] = []
        self._plans: dict[str, list[str]] = {}
        self._cache: set[str] = set()
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._plans.clear()
            self._cache.clear()

    def plan(self, key: str, *behaviours: str) -> None:
        """Behaviours for calls about `key` (a SHA or a call kind), in order; the last one repeats."""
        self._plans[key] = list(behaviours)

    def _behaviour(self, key: str, kind: str) -> str:
        with self._lock:
            for name in (key, kind):
                plan = self._plans.get(name)
                if plan:
                    return plan.pop(0) if len(plan) > 1 else plan[0]
        return "valid"

    def of_kind(self, kind: str) -> list[Recorded]:
        return [r for r in self.requests if r.kind == kind]

    # --- answers -----------------------------------------------------------------------------
    def answer(self, body: dict, headers: dict) -> tuple[int, dict, dict]:
        schema = ((body.get("output_config") or {}).get("format") or {}).get("schema") or {}
        kind = schema.get("title", "unstructured")
        user = "".join(
            block if isinstance(block, str) else block.get("text", "")
            for message in body.get("messages", [])
            for block in ([message["content"]] if isinstance(message["content"], str) else message["content"])
        )
        sha_match = _SHA.search(user)
        sha = sha_match.group(1) if sha_match else ""
        behaviour = self._behaviour(sha or kind, kind)
        record = Recorded(kind=kind, model=body.get("model", ""), status=200, body=body, headers=headers, sha=sha)
        if behaviour in ("overloaded", "server_error"):
            status = 529 if behaviour == "overloaded" else 500
            kind_name = "overloaded_error" if status == 529 else "api_error"
            record.status = status
            self._record(record)
            error = {"type": "error", "error": {"type": kind_name, "message": f"{kind_name}: {PROVIDER_SECRET}"}}
            return status, error, {"retry-after-ms": "5"}
        if behaviour == "invalid_json":
            text = '{"sha": "' + sha + '", "category": "Perf", "title": unterminated'
        elif behaviour == "wrong_shape":
            text = json.dumps({"headline": "no such field"})
        elif kind == "commit_item":
            text = json.dumps(self.item(sha, user, behaviour))
        elif kind == "repository_synthesis":
            text = json.dumps(self.repository(user, behaviour))
        elif kind == "issue_synthesis":
            text = json.dumps(self.issue(user))
        else:
            text = "plain text"
        usage = self.usage(body, text)
        record.usage = usage
        self._record(record)
        message = {
            "id": f"msg_{len(self.requests):06d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
        return 200, message, {}

    def _record(self, record: Recorded) -> None:
        with self._lock:
            self.requests.append(record)

    def usage(self, body: dict, text: str) -> dict:
        system = body.get("system") or []
        blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system
        cache_write = cache_read = plain = 0
        for block in blocks:
            if block.get("cache_control"):
                key = hashlib.sha256((body.get("model", "") + block["text"]).encode()).hexdigest()
                with self._lock:
                    seen = key in self._cache
                    self._cache.add(key)
                if seen:
                    cache_read += tokens(block["text"])
                else:
                    cache_write += tokens(block["text"])
            else:
                plain += tokens(block.get("text", ""))
        for message in body.get("messages", []):
            content = message["content"]
            plain += tokens(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
        return {
            "input_tokens": plain,
            "output_tokens": tokens(text),
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
        }

    @staticmethod
    def item(sha: str, user: str, behaviour: str) -> dict:
        title = _TITLE.search(user)
        code = None
        for path, patch in _DIFF.findall(user):
            added = [line[1:] for line in patch.split("\n") if line.startswith("+") and line[1:].strip()]
            if added:
                suffix = path[path.rfind(".") :] if "." in path else ""
                code = {"path": path, "language": _EXTENSIONS.get(suffix, "text"), "snippet": "\n".join(added[:3])}
                break
        if behaviour == "bad_snippet":
            code = {"path": code["path"] if code else "x.py", "language": "python", "snippet": "invented_call(42)"}
        return {
            "sha": "0123456789abcdef0123456789abcdef01234567" if behaviour == "unknown_sha" else sha,
            "category": "Perf",
            "title": f"Model headline: {title.group(1)[:60] if title else sha[:7]}",
            "details": "The model explains the mechanism.",
            "code": code,
            "impact": "The model explains who is affected.",
            "risk": "medium",
            "breaking": False,
        }

    @staticmethod
    def repository(user: str, behaviour: str) -> dict:
        numbers = [int(n) for n in _ISSUE_NUMBER.findall(user)]
        picks = [{"number": n, "why": "It matters to inference engineers."} for n in numbers]
        if behaviour == "unknown_issue":
            picks.append({"number": 999999, "why": "Not a real issue."})
        return {"assessment": "The model's assessment of the day.", "issue_highlights": picks}

    @staticmethod
    def issue(user: str) -> dict:
        shas = _HIGHLIGHT.findall(user)
        issues = _ISSUE_CITE.findall(user)
        summary = [{"text": f"Summary sentence about {sha[:7]}.", "cites": [sha]} for sha in shas[:3]]
        summary += [{"text": f"Issue {ref} is worth a look.", "cites": [ref]} for ref in issues[:1]]
        conclusions = [{"text": f"Conclusion about {sha[:7]}.", "cites": [sha[:10]]} for sha in shas[3:6]]
        conclusions.append({"text": "A conclusion that cites nothing.", "cites": []})
        conclusions.append({"text": "A conclusion that cites an unknown commit.", "cites": ["f" * 40]})
        return {"summary": summary, "conclusions": conclusions}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.rstrip("/") != "/v1/messages":
            return self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": "no"}}, {})
        if not (headers.get("x-api-key") or headers.get("authorization")):
            return self._send(401, {"type": "error", "error": {"type": "authentication_error", "message": "key"}}, {})
        status, payload, extra = self.server.fake.answer(json.loads(raw), headers)  # type: ignore[attr-defined]
        self._send(status, payload, extra)

    def _send(self, status: int, payload: dict, extra: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
