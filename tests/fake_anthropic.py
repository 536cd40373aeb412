"""A fake Anthropic Messages API: a real local HTTP server the SDK reaches through ANTHROPIC_BASE_URL.

What it answers, in this order:

1. a scripted answer, queued per test (like a mock model's queue of responses):

       fake.enqueue("commit_item", {"sha": ..., ...})            # the next commit item, whatever commit
       fake.enqueue("commit_item", answer, sha="<40 hex>")        # only for that commit
       fake.enqueue("selection", '{"highlights": [', repository="vllm-project/vllm")  # raw text
       fake.enqueue("issue_synthesis", Fault(529), Fault(529))    # errors, one per request
       fake.enqueue("commit_item", lambda request: {...})         # built from the request

   Each queued answer serves one request, first come first served among those that match.
2. a planned behaviour per commit or per kind (`fake.plan("<sha>", "invalid_json", "valid")`):
   valid, unknown_sha, bad_snippet, invalid_json, wrong_shape, overloaded (529), server_error
   (500), unknown_issue; the last one repeats.
3. in replay mode (`fake.replay(path)`), the recorded answer for the request's kind, repository and
   commit (newsletter/analysis/exchanges.py); a request with no recording left is refused (400)
   and listed in `fake.unmatched`, or with `fallback=True` answered as below and listed in
   `fake.unreplayed` (a recording outlives small changes of what a build asks, such as a commit
   the triage now always highlights). `fake.unconsumed()` lists what was recorded and not asked.
4. otherwise a default answer built from the prompt: in the prompt's language (Chinese for a
   Chinese system prompt), naming only what the prompt contains (SHAs, paths, identifiers and
   lines of the diff, issue numbers), so a default build passes the checks a real answer must.

Every request is kept in `fake.requests` (also `fake.history`) with its kind, model, system and
user text, SHA, repository, status and usage.

Tokens are counted as one per 4 bytes of UTF-8. Caching follows the API's rules as far as they are
documented: a block marked cache_control closes a prefix (everything before it, with the model and
the output schema as part of its identity); a prefix is cached only if it is at least the model's
minimum (`CACHE_MINIMUM_TOKENS`, by family), becomes readable once the response that wrote it is
sent, and lives 5 minutes from its last use. The output schema is billed as input (the API adds
it as a system prompt) and never counted as cached, so the fake can understate caching, never
overstate it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from newsletter.analysis import exchanges

PROVIDER_SECRET = "PROVIDER-INTERNAL-DETAIL-7731"  # must never reach a report
CACHE_MINIMUM_TOKENS = {"haiku": 2048, "sonnet": 1024, "opus": 1024}
UNKNOWN_MODEL_MINIMUM = 4096
CACHE_TTL_SECONDS = 300

_TITLE = re.compile(r"^(?:Title|标题)[:：]\s*(.+)$", re.M)
_DIFF = re.compile(r"^### (\S+)\n(`{3,})diff\n(.*?)\n\2$", re.M | re.S)
_SELECT_LINE = re.compile(r"^- ([0-9a-f]{12}) \[(\w+)\] ([^|]*)\| ([^|]*)\|(.*)$", re.M)
_CAP = re.compile(r"(?:choose at most|最多选出) (\d+)")
_HIGHLIGHT = re.compile(r"^- ([0-9a-f]{40}) \[(\w+)\] ([^|\n]*)(.*)$", re.M)
_ISSUE_NUMBER = re.compile(r"^- #(\d+) (.*?) \(labels: ([^;]*);([^)]*)\)", re.M)
_ISSUE_CITE = re.compile(r"^- ([\w.-]+/[\w.-]+#\d+) (.*)$", re.M)
_SECTION = re.compile(r"^## (.+?) \(([\w.-]+/[\w.-]+)\)$", re.M)
_CATEGORY = re.compile(r"(?:category|类别) (\w+)")
_DEFINITION = re.compile(r"^\s*(?:async\s+)?(?:def|class|struct|enum(?:\s+class)?)\s+([A-Za-z_]\w*)")
_CALL = re.compile(r"\b([A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+)\(")
_FLAG = re.compile(r"[\"'](--[a-z][\w-]+)[\"']")
_ENV = re.compile(r"\b((?:VLLM|SGLANG|FLASHINFER|SGL)_[A-Z0-9_]{3,})\b")
_MEASURE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*(?:%|x\b)")
_EXTENSIONS = {".py": "python", ".cu": "cuda", ".cuh": "cuda", ".h": "cpp", ".cpp": "cpp", ".cc": "cpp", ".rs": "rust"}
_CATEGORY_ZH = {
    "Revert": "回退", "Critical": "紧急修复", "Security": "安全修复", "Breaking": "不兼容变更",
    "Deprecation": "弃用清理", "Perf": "性能优化", "Bugfix": "缺陷修复", "Model": "模型支持", "Kernel": "内核",
    "Hardware": "硬件适配", "Core": "核心引擎", "Feature": "新功能", "Refactor": "重构", "Misc": "杂项",
    "Docs": "文档", "CI": "CI", "Test": "测试",
}  # fmt: skip
_TOPIC_WORDS = {
    "kernel": r"csrc|kernel|\.cu\b|triton|cutlass|gemm|attention|rmsnorm",
    "hardware": r"rocm|amd|npu|xpu|tpu|musa|ascend|\bcpu\b|intel|aiter|blackwell|sm\d{2,3}",
    "quantization": r"fp8|fp4|mxfp|nvfp|int4|int8|w4a|quant|gptq|awq|marlin",
    "speculative": r"eagle|spec(?:ulative)?[_ -]?decod|draft|\bmtp\b|ngram",
    "distributed": r"\bep\b|\btp\b|\bpp\b|nccl|all2all|a2a|disagg|nixl|parallel|\bpd\b|mori|eplb",
    "scheduling": r"schedul|prefix cach|kv cache|kv_cache|batch|model_runner|model runner",
    "model": r"/models/|\bmodel:|\[model|\bqwen|llama|vl\b|ocr|asr",
    "api": r"entrypoints|openai|server_args|api|\bcli\b|config",
}
_TOPIC_ZH = {
    "kernel": "内核", "hardware": "硬件", "quantization": "量化", "speculative": "推测解码",
    "distributed": "分布式", "scheduling": "调度与缓存", "model": "模型支持", "api": "接口与配置",
}  # fmt: skip


def tokens(text: str) -> int:
    return max(1, len(text.encode("utf-8")) // 4)


def cache_minimum(model: str) -> int:
    family = next((f for f in CACHE_MINIMUM_TOKENS if f in model), None)
    return CACHE_MINIMUM_TOKENS[family] if family else UNKNOWN_MODEL_MINIMUM


@dataclass(frozen=True)
class Fault:
    """An error answer: 529 overloaded, 500 api_error, 429 rate_limit_error, 400 invalid_request_error."""

    status: int
    type: str = ""

    @property
    def error_type(self) -> str:
        return self.type or {529: "overloaded_error", 429: "rate_limit_error", 400: "invalid_request_error"}.get(
            self.status, "api_error"
        )


@dataclass
class Recorded:
    kind: str
    model: str
    status: int
    body: dict
    headers: dict
    sha: str = ""
    repository: str = ""
    usage: dict = field(default_factory=dict)
    answer: str = ""  # the text answered, when the status is 200

    @property
    def system(self) -> str:
        system = self.body.get("system") or []
        return system if isinstance(system, str) else "\n\n".join(block.get("text", "") for block in system)

    @property
    def user(self) -> str:
        return exchanges.request_text(self.body)

    @property
    def language(self) -> str:
        # The English guide names the Chinese sections too; only a Chinese task asks for 简体中文.
        return "zh" if "简体中文" in self.system else "en"

    @property
    def json(self):
        return json.loads(self.answer)


@dataclass
class _Queued:
    kind: str
    answer: object
    sha: str | None = None
    repository: str | None = None

    def matches(self, record: Recorded) -> bool:
        return (
            self.kind == record.kind
            and (self.sha is None or self.sha == record.sha)
            and (self.repository is None or self.repository == record.repository)
        )


class FakeAnthropic:
    def __init__(self):
        self.requests: list[Recorded] = []
        self.unmatched: list[Recorded] = []
        self.unreplayed: list[Recorded] = []
        self._replay_fallback = False
        self.cache_minimums = dict(CACHE_MINIMUM_TOKENS)
        self._queue: list[_Queued] = []
        self._plans: dict[str, list[str]] = {}
        self._replay: dict[tuple, deque] | None = None
        self._cache: dict[str, tuple[int, float]] = {}  # prefix key -> (tokens, last use)
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def history(self) -> list[Recorded]:
        return self.requests

    def start(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.unmatched.clear()
            self.unreplayed.clear()
            self._replay_fallback = False
            self._queue.clear()
            self._plans.clear()
            self._cache.clear()
            self._replay = None
            self.cache_minimums = dict(CACHE_MINIMUM_TOKENS)

    # --- scripting -------------------------------------------------------------------------------
    def enqueue(self, kind: str, *answers, sha: str | None = None, repository: str | None = None) -> None:
        """Answers for the next requests of `kind` (and of that commit or repository, if given):
        a dict (sent as JSON), a str (sent as is), a Fault, or a callable(Recorded) giving one of those."""
        with self._lock:
            self._queue.extend(_Queued(kind, answer, sha, repository) for answer in answers)

    def plan(self, key: str, *behaviours: str) -> None:
        """Behaviours for calls about `key` (a SHA or a call kind), in order; the last one repeats."""
        self._plans[key] = list(behaviours)

    def replay(self, path: Path | str, *, fallback: bool = False) -> None:
        """Answer from a recorded exchange file instead of building answers."""
        table: dict[tuple, deque] = {}
        for exchange in exchanges.load(path):
            table.setdefault(_replay_key(exchange.kind, exchange.key), deque()).append(exchange)
        with self._lock:
            self._replay = table
            self._replay_fallback = fallback

    def unconsumed(self) -> list[exchanges.Exchange]:
        with self._lock:
            return [exchange for found in (self._replay or {}).values() for exchange in found]

    def of_kind(self, kind: str) -> list[Recorded]:
        return [r for r in self.requests if r.kind == kind]

    def _queued(self, record: Recorded):
        with self._lock:
            for index, queued in enumerate(self._queue):
                if queued.matches(record):
                    return self._queue.pop(index)
        return None

    def _behaviour(self, key: str, kind: str) -> str:
        with self._lock:
            for name in (key, kind):
                plan = self._plans.get(name)
                if plan:
                    return plan.pop(0) if len(plan) > 1 else plan[0]
        return "valid"

    # --- answers ---------------------------------------------------------------------------------
    def answer(self, body: dict, headers: dict) -> tuple[int, dict, dict, list]:
        """(status, payload, extra headers, cache entries to make readable once the answer is sent)."""
        key = exchanges.request_key(body)
        record = Recorded(
            kind=exchanges.kind_of(body) or "unstructured",
            model=body.get("model", ""),
            status=200,
            body=body,
            headers=headers,
            sha=key.get("sha", ""),
            repository=key.get("repository", ""),
        )
        if self._replay is not None:
            replayed = self._replayed(record, key)
            if replayed is not None:
                return replayed
        queued = self._queued(record)
        if queued is not None:
            answer = queued.answer(record) if callable(queued.answer) else queued.answer
        else:
            answer = self._planned(record)
        if isinstance(answer, Fault):
            return self._fault(record, answer)
        text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        usage, pending = self.usage(body, text)
        record.usage, record.answer = usage, text
        self._record(record)
        return 200, self._message(body, text, usage), {}, pending

    def _fault(self, record: Recorded, fault: Fault):
        record.status = fault.status
        self._record(record)
        error = {
            "type": "error",
            "error": {"type": fault.error_type, "message": f"{fault.error_type}: {PROVIDER_SECRET}"},
        }
        return fault.status, error, {"retry-after-ms": "5"}, []

    def _message(self, body: dict, text: str, usage: dict) -> dict:
        return {
            "id": f"msg_{len(self.requests):06d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    def _replayed(self, record: Recorded, key: dict):
        with self._lock:
            found = self._replay.get(_replay_key(record.kind, key))
            exchange = found.popleft() if found else None
        if exchange is None and self._replay_fallback:
            with self._lock:
                self.unreplayed.append(record)
            return None
        if exchange is None:
            record.status = 400
            self._record(record)
            with self._lock:
                self.unmatched.append(record)
            return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": "not recorded"}}, {}, []
        record.status = exchange.status
        if exchange.status == 200:
            record.usage = exchange.response.get("usage", {})
            record.answer = "".join(b.get("text", "") for b in exchange.response.get("content", []))
        self._record(record)
        return exchange.status, exchange.response, {}, []

    def _planned(self, record: Recorded):
        behaviour = self._behaviour(record.sha or record.kind, record.kind)
        if behaviour == "overloaded":
            return Fault(529)
        if behaviour == "server_error":
            return Fault(500)
        if behaviour == "invalid_json":
            return '{"sha": "' + record.sha + '", "category": "Perf", "headline": unterminated'
        if behaviour == "wrong_shape":
            return {"title": "no such field"}
        build = {
            "selection": self.selection,
            "commit_item": self.item,
            "repository_synthesis": self.repository,
            "issue_synthesis": self.issue,
        }.get(record.kind)
        if build is None:
            return "plain text"
        return build(record, behaviour)

    def _record(self, record: Recorded) -> None:
        with self._lock:
            self.requests.append(record)

    # --- tokens and the cache ------------------------------------------------------------------------
    def usage(self, body: dict, text: str) -> tuple[dict, list]:
        model = body.get("model", "")
        schema = json.dumps(((body.get("output_config") or {}).get("format") or {}), sort_keys=True)
        identity = hashlib.sha256((model + "\x00" + schema).encode())
        total = tokens(schema) if schema != "{}" else 0
        prefix = 0
        breakpoints: list[tuple[str, int]] = []
        for block_text, marked in _blocks(body):
            identity.update(block_text.encode() + b"\x00")
            size = tokens(block_text)
            prefix += size
            total += size
            if marked:
                breakpoints.append((identity.hexdigest(), prefix))
        minimum = self.cache_minimums.get(
            next((f for f in self.cache_minimums if f in model), ""), UNKNOWN_MODEL_MINIMUM
        )
        now = time.monotonic()
        read = 0
        pending = []
        with self._lock:
            for key in [k for k, (_, used) in self._cache.items() if now - used > CACHE_TTL_SECONDS]:
                del self._cache[key]
            for key, size in breakpoints:
                if key in self._cache:
                    read = max(read, size)
                    self._cache[key] = (size, now)
            for key, size in breakpoints:
                if size >= minimum and size > read and key not in self._cache:
                    pending.append((key, size))
        write = max((size for _, size in pending), default=read) - read
        usage = {
            "input_tokens": total - read - write,
            "output_tokens": tokens(text),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
        }
        return usage, pending

    def commit_cache(self, pending: list) -> None:
        now = time.monotonic()
        with self._lock:
            for key, size in pending:
                self._cache[key] = (size, now)

    # --- default answers, built from the prompt -----------------------------------------------------
    def selection(self, record: Recorded, behaviour: str) -> dict:
        zh = record.language == "zh"
        cap = int((_CAP.search(record.user) or [None, "8"])[1])
        picks = []
        for short, category, marks, title, rest in _SELECT_LINE.findall(record.user):
            if "floor" in marks or "story of" in marks or "reason:" not in rest:
                continue
            picks.append((short, category, _clean_title(title)))
        # A judgement of its own: fixes and features the rules placed just below their cut come in
        # before the rules' last picks.
        ranked = sorted(picks, key=lambda p: (p[1] in ("Refactor", "Misc"), picks.index(p)))
        chosen = ranked[:cap]
        if behaviour == "unknown_sha":
            chosen = [("0123456789ab", "Misc", "invented"), *chosen]
        reason = "{category}：{title}" if zh else "{category}: {title}"
        return {
            "highlights": [
                {"sha": short, "reason": reason.format(category=_category(category, zh), title=title[:50])}
                for short, category, title in chosen
            ]
        }

    def item(self, record: Recorded, behaviour: str) -> dict:
        zh = record.language == "zh"
        sha = record.sha
        user = record.user
        title_match = _TITLE.search(user)
        title = _clean_title(title_match.group(1) if title_match else sha[:7])
        category_match = _CATEGORY.search(user)
        category = category_match.group(1) if category_match else "Misc"
        # What a reader would quote comes from shipped code, not from the tests that come with it.
        diffs = [(path, patch) for path, _, patch in _DIFF.findall(user) if not re.search(r"(^|/)tests?/|test_", path)]
        added = {path: _lines(patch, "+") for path, patch in diffs}
        removed = {path: _lines(patch, "-") for path, patch in diffs}
        snippets = []
        for path, lines in added.items():
            block = _telling_block(lines)
            if block and len(snippets) < 2:
                note = _note(zh, path, block, len(snippets))
                snippets.append({"path": path, "language": _language(path), "code": "\n".join(block), "note": note})
        if behaviour == "bad_snippet":
            path = snippets[0]["path"] if snippets else "x.py"
            snippets = [{"path": path, "language": "python", "code": "invented_call(42)", "note": "invented"}]
        new_names = [m for lines in added.values() for line in lines if (m := _first([line], _DEFINITION))]
        gone_names = [m for lines in removed.values() for line in lines if (m := _first([line], _DEFINITION))]
        gone_names = [name for name in gone_names if name not in new_names and not name.startswith("_")]
        calls = [m for lines in added.values() for line in lines for m in _CALL.findall(line)][:2]
        flags = [m for lines in added.values() for line in lines for m in _FLAG.findall(line)][:2]
        envs = [m for lines in added.values() for line in lines for m in _ENV.findall(line)][:2]
        measure = _MEASURE.search(title) or _MEASURE.search(user.split("</commit_message>")[0])
        main_path = diffs[0][0] if diffs else ""
        details = _details(zh, category, main_path, new_names, gone_names, calls, flags, envs, measure, sha)
        topics = [topic for topic, words in _TOPIC_WORDS.items() if re.search(words, title + " " + main_path, re.I)]
        breaking = category in ("Deprecation", "Breaking") and bool(gone_names)
        surface = ""
        if breaking:
            surface = (
                f"`{gone_names[0]}` 被删除，仍在使用它的代码需要迁移"
                if zh
                else f"`{gone_names[0]}` is removed; callers must migrate"
            )
        verdict = (
            "risk"
            if breaking or category == "Revert"
            else "watch"
            if category in ("Perf", "Core", "Kernel")
            else "positive"
        )
        return {
            "sha": "0123456789abcdef0123456789abcdef01234567" if behaviour == "unknown_sha" else sha,
            "headline": f"{_category(category, zh)}：{_cut(title, 60)}" if zh else _cut(title, 70),
            "category": category,
            "details": details,
            "snippets": snippets,
            "impact": _impact(zh, category, topics, flags, envs, breaking),
            "verdict": verdict,
            "verdict_reason": _verdict_reason(zh, verdict, measure, category),
            "breaking": breaking,
            "breaking_surface": surface,
            "topics": topics,
            "risk": "high" if verdict == "risk" else "medium" if verdict == "watch" else "low",
        }

    def repository(self, record: Recorded, behaviour: str) -> dict:
        zh = record.language == "zh"
        user = record.user
        highlights = _HIGHLIGHT.findall(user)
        issues = _ISSUE_NUMBER.findall(user)
        picks = []
        for number, _title, labels, rest in issues[:3]:
            fixed = "fixed by" in rest
            if zh:
                why = f"标签为 {labels.strip() or '无'}，报告的问题会影响使用相关功能的部署" + (
                    "，当天已有提交修复" if fixed else ""
                )
            else:
                why = f"Labelled {labels.strip() or 'nothing'}; it affects deployments that use this feature" + (
                    ", and a commit of the day fixes it" if fixed else ""
                )
            picks.append({"number": int(number), "why": why + ("。" if zh else ".")})
        if behaviour == "unknown_issue":
            picks.append({"number": 999999, "why": "Not a real issue."})
        categories = [category for _, category, _, _ in highlights]
        breaking = [h for h in highlights if "breaking:" in h[3]]
        if zh:
            if highlights:
                assessment = (
                    f"今天的重点集中在{'、'.join(dict.fromkeys(_category(c, True) for c in categories[:3]))}方向"
                )
                assessment += "；其中有不兼容变更，升级前需要检查调用方。" if breaking else "，没有发现不兼容变更。"
            else:
                assessment = "今天没有需要深入分析的提交。"
        elif highlights:
            assessment = f"The day's work is mostly {', '.join(dict.fromkeys(categories[:3]))}"
            assessment += (
                "; one change breaks callers, check them before upgrading."
                if breaking
                else ", with no breaking change."
            )
        else:
            assessment = "No commit of the day needed an analysis."
        return {"assessment": assessment, "issue_highlights": picks}

    def issue(self, record: Recorded, behaviour: str) -> dict:
        zh = record.language == "zh"
        user = record.user
        by_repo: dict[str, list[tuple[str, str, str, list[str]]]] = {}
        names: dict[str, str] = {}
        sections = list(_SECTION.finditer(user))
        for index, section in enumerate(sections):
            end = sections[index + 1].start() if index + 1 < len(sections) else len(user)
            body = user[section.end() : end]
            names[section.group(2)] = section.group(1)
            for sha, category, title, rest in _HIGHLIGHT.findall(body):
                topics = re.search(r"topics: ([\w, ]+)", rest)
                by_repo.setdefault(section.group(2), []).append(
                    (sha, category, title.strip(), [t.strip() for t in topics.group(1).split(",")] if topics else [])
                )
        summary, used = [], set()
        topic_items: dict[str, list[tuple[str, str]]] = {}
        for repository, items in by_repo.items():
            for sha, _, _, topics in items:
                for topic in topics:
                    topic_items.setdefault(topic, []).append((repository, sha))
        for topic, members in sorted(topic_items.items(), key=lambda kv: -len({r for r, _ in kv[1]})):
            repositories = list(dict.fromkeys(r for r, _ in members))
            if len(repositories) < 2 or len(summary) >= 3:
                continue
            cites = [next(sha for r, sha in members if r == repository) for repository in repositories]
            who = "、".join(names[r] for r in repositories) if zh else " and ".join(names[r] for r in repositories)
            text = f"{who} 今天都有{_TOPIC_ZH[topic]}方向的改动" if zh else f"{who} both changed {topic} code today"
            summary.append(
                {"lead": _TOPIC_ZH[topic] if zh else topic, "text": text + ("。" if zh else "."), "cites": cites}
            )
            used.update(cites)
        for repository, items in by_repo.items():
            rest = [sha for sha, *_ in items if sha not in used][:2]
            if rest:
                count = len(items)
                text = (
                    f"{names[repository]} 共有 {count} 条重点解读"
                    if zh
                    else f"{names[repository]} has {count} highlights"
                )
                summary.append({"lead": names[repository], "text": text + ("。" if zh else "."), "cites": rest})
        for ref, _ in _ISSUE_CITE.findall(user)[:1]:
            summary.append(
                {
                    "lead": "Issue",
                    "text": "这个新 Issue 值得跟进。" if zh else "This new issue is worth following.",
                    "cites": [ref],
                }
            )
        conclusions = []
        for items in by_repo.values():
            for sha, category, title, _ in items[:2]:
                text = (
                    f"升级前留意{_category(category, True)}：{title[:40]}"
                    if zh
                    else f"Before upgrading, check: {title[:60]}"
                )
                conclusions.append({"lead": "", "text": text + ("。" if zh else "."), "cites": [sha[:10]]})
        if behaviour == "uncited":
            conclusions.append({"lead": "", "text": "A conclusion that cites nothing.", "cites": []})
            conclusions.append({"lead": "", "text": "A conclusion that cites an unknown commit.", "cites": ["f" * 40]})
        return {"summary": summary, "conclusions": conclusions[:5]}


def _replay_key(kind: str, key: dict) -> tuple:
    return (kind, key.get("repository", ""), key.get("sha", ""))


def _blocks(body: dict):
    """(text, marked with cache_control) of the prompt's blocks in the order the API reads them."""
    system = body.get("system") or []
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system:
        yield block.get("text", ""), bool(block.get("cache_control"))
    for message in body.get("messages", []):
        content = message["content"]
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            text = block.get("text") if block.get("type") == "text" else json.dumps(block, ensure_ascii=False)
            yield text or "", bool(block.get("cache_control"))


def _clean_title(title: str) -> str:
    title = re.sub(r"^(\s*\[[^\]]*\])+\s*", "", title.strip())
    title = re.sub(r"^[a-z]+(\([^)]*\))?!?:\s*", "", title)
    return re.sub(r"\s*\(#\d+\)\s*$", "", title).strip()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0].rstrip(",;:")


def _category(category: str, zh: bool) -> str:
    return _CATEGORY_ZH.get(category, category) if zh else category


def _language(path: str) -> str:
    suffix = path[path.rfind(".") :] if "." in path else ""
    return _EXTENSIONS.get(suffix, "text")


def _lines(patch: str, sign: str) -> list[str]:
    return [line[1:] for line in patch.split("\n") if line.startswith(sign) and not line.startswith(sign * 3)]


def _first(lines: list[str], pattern: re.Pattern) -> str:
    for line in lines:
        match = pattern.search(line)
        if match:
            return match.group(1)
    return ""


def _telling_block(lines: list[str]) -> list[str]:
    """Up to 6 added lines, starting at a definition or a check when there is one, never blank-only."""
    code = [line for line in lines if line.strip() and not line.strip().startswith(("import ", "from ", "#include"))]
    start = next((i for i, line in enumerate(code) if _DEFINITION.search(line) or re.search(r"\bif\b|return", line)), 0)
    return code[start : start + 6]


def _details(zh, category, path, new_names, gone_names, calls, flags, envs, measure, sha) -> str:
    parts = []
    variant = int(sha[:2] or "0", 16) % 3 if sha else 0
    if path:
        openers_zh = [f"核心改动位于 `{path}`。", f"这次改动的重心在 `{path}`。", f"主要的代码变化出现在 `{path}`。"]
        openers_en = [
            f"The core change is in `{path}`.",
            f"Most of the change lands in `{path}`.",
            f"The work centres on `{path}`.",
        ]
        parts.append((openers_zh if zh else openers_en)[variant])
    if new_names:
        names = "、".join(f"`{n}`" for n in new_names[:3]) if zh else ", ".join(f"`{n}`" for n in new_names[:3])
        defines_zh = [f"新增了 {names} 的定义。", f"引入 {names}。", f"{names} 是这次新加的。"]
        defines_en = [f"It defines {names}.", f"It introduces {names}.", f"{names} are new."]
        parts.append((defines_zh if zh else defines_en)[(variant + 1) % 3])
    if gone_names:
        names = "、".join(f"`{n}`" for n in gone_names[:3]) if zh else ", ".join(f"`{n}`" for n in gone_names[:3])
        parts.append(f"同时删除了 {names}。" if zh else f"It removes {names}.")
    if flags:
        parts.append(f"新增命令行参数 `{flags[0]}`。" if zh else f"It adds the flag `{flags[0]}`.")
    if envs:
        parts.append(f"新读取环境变量 `{envs[0]}`。" if zh else f"It reads the environment variable `{envs[0]}`.")
    elif calls:
        call = f"`{calls[0]}`"
        calls_zh = [f"新代码调用了 {call}。", f"关键的一步是调用 {call}。", f"新的逻辑经由 {call} 完成。"]
        calls_en = [f"The new code calls {call}.", f"The key step calls {call}.", f"It goes through {call}."]
        parts.append((calls_zh if zh else calls_en)[(variant + 2) % 3])
    if measure:
        figure = measure.group(0).strip()
        parts.append(f"提交说明给出的测量结果是 {figure}。" if zh else f"The commit message reports {figure}.")
    if not parts:
        parts.append(
            f"这是一项{_category(category, True)}类改动，没有可展示的 diff。"
            if zh
            else "No diff is shown for this change."
        )
    return "".join(parts) if zh else " ".join(parts)


def _impact(zh, category, topics, flags, envs, breaking) -> str:
    scope_zh = "、".join(_TOPIC_ZH[t] for t in topics[:2]) or "相关功能"
    scope_en = ", ".join(topics[:2]) or "this feature"
    if breaking:
        return (
            f"依赖被删除接口的代码在升级后会失效，涉及{scope_zh}；升级前需要迁移调用方。"
            if zh
            else f"Code that uses the removed names breaks on upgrade ({scope_en}); migrate callers first."
        )
    if flags or envs:
        name = (flags or envs)[0]
        return (
            f"使用{scope_zh}的部署可以通过 `{name}` 控制新行为；默认行为不变时升级无需操作。"
            if zh
            else f"Deployments using {scope_en} can control the new behaviour with `{name}`."
        )
    if category in ("Perf", "Kernel", "Core"):
        return (
            f"影响使用{scope_zh}的部署的性能表现；升级后建议在自己的负载上重新做基准测试。"
            if zh
            else f"Changes performance for deployments using {scope_en}; rerun your benchmarks after upgrading."
        )
    return (
        f"主要影响使用{scope_zh}的用户；接口没有变化，升级时无需额外操作。"
        if zh
        else f"Mostly affects users of {scope_en}; no interface changes, nothing to do on upgrade."
    )


def _note(zh: bool, path: str, block: list[str], index: int) -> str:
    """What the quoted lines show, told from what they contain."""
    name = path.rsplit("/", 1)[-1]
    definition, env, flag = _first(block, _DEFINITION), _first(block, _ENV), _first(block, _FLAG)
    if env:
        return f"读取环境变量 `{env}` 的地方" if zh else f"where `{env}` is read"
    if flag:
        return f"注册命令行参数 `{flag}`" if zh else f"the flag `{flag}` is registered"
    if definition:
        return (f"`{definition}` 的定义" if index else f"新增的 `{definition}`") if zh else f"the new `{definition}`"
    if any(re.search(r"\bif\b", line) for line in block):
        return f"`{name}` 里新加的判断条件" if zh else f"the new condition in `{name}`"
    variants_zh = [f"`{name}` 中新增的几行", f"这几行落在 `{name}`", f"`{name}` 的改动核心"]
    variants_en = [f"the lines added to `{name}`", f"the core of the change in `{name}`", f"what `{name}` now does"]
    return (variants_zh if zh else variants_en)[(len(name) + index) % 3]


_REASONS = {
    ("positive", "Bugfix"): ("修复点集中，回归面小。", "The fix is narrow; little can regress."),
    ("positive", "Model"): ("新增模型支持，不影响已有模型。", "A new model; existing ones are untouched."),
    ("positive", "Hardware"): ("只影响对应的硬件平台。", "Only the platform it targets is affected."),
    ("positive", "Feature"): ("新增能力，默认不改变已有配置。", "A new capability; defaults stay as they were."),
    ("watch", "Kernel"): ("内核改动需要在目标硬件上验证。", "Kernel work needs checking on your hardware."),
    ("watch", "Core"): ("调度和引擎路径的改动，升级后需要观察。", "Engine and scheduler paths changed; watch them."),
    ("watch", "Perf"): ("性能改动需要在自己的负载上复测。", "Performance work: measure it on your workload."),
}


def _verdict_reason(zh, verdict, measure, category="") -> str:
    if verdict == "risk":
        return "改动会让现有用法失效，需要先检查。" if zh else "Existing usage stops working; check it first."
    if verdict == "watch" and measure:
        return (
            "提交说明给出了测量结果，但需要在自己的负载上验证。"
            if zh
            else "The measurement is the author's; verify it on your workload."
        )
    default = (
        ("改动位于热路径，升级后需要观察。", "The change is in a hot path; watch it after upgrading.")
        if verdict == "watch"
        else ("改动范围清晰，风险小。", "A contained change with little risk.")
    )
    zh_text, en_text = _REASONS.get((verdict, category), default)
    return zh_text if zh else en_text


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
        fake = self.server.fake  # type: ignore[attr-defined]
        status, payload, extra, pending = fake.answer(json.loads(raw), headers)
        self._send(status, payload, extra, before_body=lambda: fake.commit_cache(pending))

    def _send(self, status: int, payload: dict, extra: dict, before_body: Callable[[], None] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if before_body:
            before_body()  # a cache entry is readable once its response starts, as with the real API
        self.wfile.write(data)
