"""The Claude analyzer: select, map, then reduce.

Select: for each repository-day with more than three commits, ANTHROPIC_MODEL sees every commit's
title, size, the rules' signals and ranking and its pull request's summary, and answers which to
analyze, each with a reason for the editor. Code keeps the floor and the cap, maps a story member
to its lead and ignores SHAs the day does not have; a failed or empty selection falls back to the
rules' pick with a warning.

Map: ANTHROPIC_ITEM_MODEL sees one commit (message, budgeted diff, pull request, linked issues,
earlier days' highlights, its story) and answers one schema-checked item. Answers are cached per
(SHA, model, prompt version, language), so a rebuild makes no new per-commit calls.

Reduce: ANTHROPIC_MODEL sees only the checked items, once per repository (评估, Issues 看点) and
once for the issue (摘要 by theme, 总结). Which commit fixes an issue is decided by code from the
pull requests' linked issues, never by the model.

Every call is structured output (JSON schema); a schema violation is retried once, then that part
falls back to the heuristic analyzer and the report carries a warning. Provider error text is
never copied into a report: warnings say what happened in our words. The stable part of the system
prompt carries cache_control when it is long enough for the model to cache it and more than one
call of its kind will read it.
"""

from __future__ import annotations

import json
import logging
import re
import textwrap
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
from django.conf import settings
from pydantic import BaseModel, ValidationError

from newsletter.analysis import prompts, selection
from newsletter.analysis.diffs import Snippet
from newsletter.analysis.draft import (
    DayInput,
    IssueDraft,
    ItemDraft,
    RepoDay,
    ReportDraft,
    SectionDraft,
    Statement,
    Usage,
)
from newsletter.analysis.exchanges import ExchangeRecorder
from newsletter.analysis.grounding import Sources
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.analysis.pricing import cache_minimum, cost, estimated_tokens, newest_model
from newsletter.analysis.schemas import (
    COMMIT_ITEM,
    ISSUE_SYNTHESIS,
    REPOSITORY_SYNTHESIS,
    SELECTION,
    SHAPES,
    CommitItem,
    output_schema,
)
from newsletter.analysis.triage import ANALYZE_ALL_UP_TO
from newsletter.build import check_draft, commit_sources
from newsletter.models import CommitAnalysis, Issue

logger = logging.getLogger(__name__)

MAX_TOKENS = {SELECTION: 2048, COMMIT_ITEM: 3072, REPOSITORY_SYNTHESIS: 2048, ISSUE_SYNTHESIS: 4096}
MAX_SNIPPETS = 3
MAX_ISSUE_PICKS = 5
_BACKTICKED = re.compile(r"`([^`\n]+)`")


class SchemaError(Exception):
    """The answer was not JSON, or not JSON of the asked shape."""


@dataclass
class CallResult:
    value: BaseModel | None = None
    usage: Usage = field(default_factory=Usage)
    failure: str = ""  # "", "schema", "service", "deadline"
    status: int | None = None


class AnalysisCache:
    """Per-commit analyses in the database, keyed by (sha, model, prompt version, language)."""

    def get_many(self, shas: list[str], model: str, language: str) -> dict[str, dict]:
        rows = CommitAnalysis.objects.filter(
            sha__in=shas, model=model, prompt_version=prompts.PROMPT_VERSION, language=language
        )
        return {row.sha: row.payload for row in rows}

    def put(self, sha: str, model: str, language: str, payload: dict, usage: Usage) -> None:
        CommitAnalysis.objects.update_or_create(
            sha=sha,
            model=model,
            prompt_version=prompts.PROMPT_VERSION,
            language=language,
            defaults={"payload": payload, "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        )


class NoCache(AnalysisCache):
    """Every commit is asked again: a recording must hold every exchange of the day."""

    def get_many(self, shas, model, language):
        return {}


def fixing_commit(repo: RepoDay, number: int) -> str:
    """The SHA of the day's commit whose pull request links issue `number`, or ""."""
    for commit in repo.commits:
        pull = repo.pull_request(commit.sha)
        if pull and number in pull.linked_issues:
            return commit.sha
    return ""


def related_of(story, sha: str) -> list[dict]:
    """The other members of a commit's story, as the report stores them."""
    if story is None:
        return []
    if hasattr(story, "related"):
        return story.related(sha)
    return [{"sha": s, "role": role} for s, role in story.members if s != sha]


def linked_issues(repo: RepoDay, sha: str) -> list:
    """The issues a commit's pull request says it fixes: the day's new ones, or known earlier ones."""
    pull = repo.pull_request(sha)
    numbers = list(dict.fromkeys(pull.linked_issues)) if pull else []
    if not numbers:
        return []
    found = {issue.number: issue for issue in repo.new_issues if issue.number in numbers}
    missing = [n for n in numbers if n not in found]
    if missing:
        earlier = Issue.objects.filter(repository=repo.repository, number__in=missing, is_pull_request=False)
        found.update({issue.number: issue for issue in earlier})
    return [found[n] for n in numbers if n in found]


class AnthropicAnalyzer:
    name = "anthropic"

    def __init__(
        self,
        client: anthropic.Anthropic,
        *,
        item_model: str,
        synthesis_model: str,
        concurrency: int = 4,
        deadline: float = 600.0,
        cache: AnalysisCache | None = None,
        record_dir: Path | str | None = None,
        cap: int | None = None,
    ):
        self.client = client
        self.item_model = item_model
        self.synthesis_model = synthesis_model
        self.concurrency = concurrency
        self.deadline = deadline
        self.record_dir = record_dir
        self.cache = cache or (NoCache() if record_dir else AnalysisCache())
        self.cap = cap
        self.heuristic = HeuristicAnalyzer()
        self.recorder: ExchangeRecorder | None = None
        self._warm: set[tuple[str, str]] = set()  # (model, kind) whose cached prefix is written

    @classmethod
    def from_settings(cls) -> AnthropicAnalyzer:
        client = anthropic.Anthropic(
            api_key=settings.ANTHROPIC_API_KEY,
            max_retries=settings.ANTHROPIC_MAX_RETRIES,
            timeout=settings.ANTHROPIC_TIMEOUT,
        )
        return cls(
            client,
            item_model=settings.ANTHROPIC_ITEM_MODEL or newest_model("haiku"),
            synthesis_model=settings.ANTHROPIC_MODEL or newest_model("sonnet"),
            concurrency=settings.ANTHROPIC_CONCURRENCY,
            deadline=settings.ANTHROPIC_DEADLINE,
            record_dir=getattr(settings, "ANTHROPIC_RECORD_DIR", None),
        )

    # --- one call -----------------------------------------------------------------------------
    @staticmethod
    def cacheable(model: str, prompt: prompts.Prompt) -> bool:
        """Is the stable prefix (guide and task) long enough for `model` to cache it?"""
        return estimated_tokens(prompt.system) >= cache_minimum(model)

    def request(self, model: str, prompt: prompts.Prompt, *, reuse: bool) -> dict:
        """The Messages API body. The breakpoint closes the stable prefix (guide, then task); it is
        set only when another call of the kind will read it and the prefix reaches the minimum a
        model caches (below it, a marker is billed as plain input anyway)."""
        task = {"type": "text", "text": prompt.task}
        if reuse and self.cacheable(model, prompt):
            task["cache_control"] = {"type": "ephemeral"}
        return {
            "model": model,
            "max_tokens": MAX_TOKENS[prompt.kind],
            "system": [{"type": "text", "text": prompt.guide}, task],
            "messages": [{"role": "user", "content": prompt.user}],
            "output_config": {"format": {"type": "json_schema", "schema": output_schema(prompt.kind)}},
        }

    def call(self, model: str, prompt: prompts.Prompt, reuse: bool = False) -> CallResult:
        """One structured call, retried once on a schema violation; never raises for the provider."""
        body = self.request(model, prompt, reuse=reuse)
        result = CallResult()
        for _attempt in range(2):
            try:
                response = self.client.messages.create(**body)
            except anthropic.APIStatusError as error:
                self._record(body, error.status_code, {"type": "error", "error": {"type": _error_type(error)}})
                result.failure, result.status = "service", error.status_code
                return result
            except anthropic.APIError:  # connection errors and timeouts, after the SDK's retries
                result.failure = "service"
                return result
            self._record(body, 200, response.model_dump(mode="json", exclude_none=True))
            result.usage.add(self._usage(model, response.usage))
            try:
                result.value = self._parse(response, SHAPES[prompt.kind])
                result.failure = ""
                return result
            except SchemaError:
                result.failure = "schema"
        return result

    def _record(self, body: dict, status: int, response: dict) -> None:
        if self.recorder:
            self.recorder.record(body, status, response)

    @staticmethod
    def _parse(response, shape: type[BaseModel]) -> BaseModel:
        if response.stop_reason not in ("end_turn", "stop_sequence"):
            raise SchemaError(f"stopped: {response.stop_reason}")
        text = "".join(getattr(block, "text", "") for block in response.content if block.type == "text")
        try:
            return shape.model_validate(json.loads(text))
        except (ValueError, ValidationError) as error:
            raise SchemaError(type(error).__name__) from None

    @staticmethod
    def _usage(model: str, usage) -> Usage:
        cache_write = usage.cache_creation_input_tokens or 0
        cache_read = usage.cache_read_input_tokens or 0
        return Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            calls=1,
            cost_usd=cost(
                model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_write=cache_write,
                cache_read=cache_read,
            ),
        )

    def _run_all(self, calls: dict[str, tuple[str, prompts.Prompt]], started: float, progress=None):
        """Run calls `concurrency` at a time; what has not finished by the deadline gives up.

        Calls of one kind share a cached prefix, and a cache entry exists only once its first
        request is answered: the first call of a kind not yet cached runs alone, the rest after it."""
        results: dict[str, CallResult] = {}
        if not calls:
            return results
        reuse = len(calls) > 1
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="anthropic")
        keys = list(calls)
        model, prompt = calls[keys[0]]
        first = (model, prompt.kind)
        try:
            waiting: dict[Future, str] = {}
            if reuse and first not in self._warm and self.cacheable(model, prompt):
                waiting[executor.submit(self.call, model, prompt, True)] = keys.pop(0)
                self._collect(waiting, results, started, len(calls), progress)
                self._warm.add(first)
            waiting = {executor.submit(self.call, *calls[key], reuse): key for key in keys}
            self._collect(waiting, results, started, len(calls), progress)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
        for key in calls:
            results.setdefault(key, CallResult(failure="deadline"))
        return results

    def _collect(self, futures: dict[Future, str], results: dict, started: float, total: int, progress) -> None:
        waiting = set(futures)
        while waiting:
            remaining = self.deadline - (time.monotonic() - started)
            if remaining <= 0:
                return
            done, waiting = wait(waiting, timeout=remaining, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    results[futures[future]] = future.result()
                except Exception:  # a bug of ours, not the provider's: log it, fall back
                    logger.exception("model call for %s failed", futures[future])
                    results[futures[future]] = CallResult(failure="service")
                if progress:
                    progress(len(results), total)

    @staticmethod
    def _failure_text(result: CallResult) -> str:
        if result.failure == "schema":
            return "the model's answer broke the schema twice"
        if result.failure == "deadline":
            return "the model did not answer before the build deadline"
        status = f" (HTTP {result.status})" if result.status else ""
        return f"the model service failed{status} after retries"

    # --- the whole build ----------------------------------------------------------------------------
    def analyze(self, day: DayInput, progress=None) -> ReportDraft:
        draft = ReportDraft(
            analyzer=self.name,
            sections=[],
            summary=[],
            conclusions=[],
            model_ids={"item": self.item_model, "synthesis": self.synthesis_model},
            prompt_version=prompts.PROMPT_VERSION,
        )
        if self.record_dir:
            self.recorder = ExchangeRecorder(self.record_dir, day.day, day.language, (settings.ANTHROPIC_API_KEY,))
        started = time.monotonic()
        reasons = self.select(day, draft, started)
        items = self.analyze_commits(day, draft, started, progress, reasons)
        draft.sections = self.sections(day, items)
        # The syntheses see only checked items: what they repeat has passed the checks once. The
        # build checks the whole draft again; items that passed do not fail the second time.
        check_draft(draft, day)
        self.synthesize_repositories(day, draft, started)
        draft.summary, draft.conclusions = self.synthesize_issue(day, draft, started)
        return draft

    # --- select -------------------------------------------------------------------------------------
    def select(self, day: DayInput, draft: ReportDraft, started: float) -> dict[str, str]:
        """Choose each repository's highlights (updating its triage); the reason of each, by SHA."""
        cap = self.cap or settings.HIGHLIGHTS_PER_REPO
        language = day.language
        choices: dict[str, selection.Choice] = {}
        calls = {}
        for repo in day.repos:
            name = repo.repository.full_name
            if not repo.commits:
                continue
            if len(repo.commits) <= ANALYZE_ALL_UP_TO:
                choices[name] = selection.analyze_all(repo.triage, language)
            else:
                calls[name] = (self.synthesis_model, prompts.selection_prompt(repo, day.day.isoformat(), language, cap))
        results = self._run_all(calls, started)
        reasons: dict[str, str] = {}
        for repo in day.repos:
            name = repo.repository.full_name
            if name in results:
                choices[name] = self._choice(repo, results[name], cap, language, draft)
            if name in choices:
                repo.triage = selection.apply(repo.triage, choices[name].highlighted)
                reasons.update(choices[name].reasons)
        return reasons

    def _choice(self, repo: RepoDay, result: CallResult, cap: int, language: str, draft: ReportDraft):
        name = repo.repository.full_name
        draft.usage.add(result.usage)
        rules = selection.rule_choice(repo.triage, language)
        if result.failure:
            draft.warnings.append(f"{name}: selection: {self._failure_text(result)}; the rules' pick is used")
            return rules
        picks = [(pick.sha, pick.reason) for pick in result.value.highlights]
        choice = selection.model_choice(repo.triage, picks, cap, language)
        if choice is None:
            draft.warnings.append(f"{name}: the model's selection named no commit of the day; the rules' pick is used")
            return rules
        if choice.ignored:
            draft.warnings.append(
                f"{name}: the model's selection named {len(choice.ignored)} commit(s) the day does not have; ignored"
            )
        return choice

    # --- map: the commits -------------------------------------------------------------------------
    def analyze_commits(
        self, day: DayInput, draft: ReportDraft, started: float, progress=None, reasons: dict[str, str] | None = None
    ) -> dict[str, ItemDraft]:
        reasons = reasons or {}
        language = day.language
        jobs = {sha: repo for repo in day.repos for sha in repo.triage.highlighted}
        items: dict[str, ItemDraft] = {}
        for sha, payload in self.cache.get_many(list(jobs), self.item_model, language).items():
            try:
                answer = CommitItem.model_validate(payload)
            except ValidationError:  # stored by an older shape under the same version: ask again
                continue
            item = self._item_from(jobs[sha], sha, answer, draft)
            if item:
                items[sha] = item
        pending = [sha for sha in jobs if sha not in items]
        calls = {
            sha: (self.item_model, prompts.item_prompt(jobs[sha], sha, language, linked_issues(jobs[sha], sha)))
            for sha in pending
        }
        results = self._run_all(calls, started, progress)
        for sha in pending:
            repo, result = jobs[sha], results[sha]
            draft.usage.add(result.usage)
            where = f"{repo.repository.full_name} {sha[:7]}"
            if result.failure:
                draft.warnings.append(f"{where}: {self._failure_text(result)}; the heuristic analysis is used")
                items[sha] = self._fallback(repo, sha, language)
                continue
            item = self._item_from(repo, sha, result.value, draft)
            if item is None:
                items[sha] = self._fallback(repo, sha, language)
                continue
            self.cache.put(sha, self.item_model, language, result.value.model_dump(), result.usage)
            items[sha] = item
        for sha, item in items.items():
            item.selection_reason = reasons.get(sha, item.selection_reason)
        return items

    def _fallback(self, repo: RepoDay, sha: str, language: str) -> ItemDraft:
        item = self.heuristic.item(repo, sha, language)
        item.source = "fallback"
        return item

    def _item_from(self, repo: RepoDay, sha: str, answer: CommitItem, draft: ReportDraft) -> ItemDraft | None:
        """Checks by code: the SHA must be the one asked about; a breaking claim must name a surface
        the commit has. Links and stories come from code too."""
        where = f"{repo.repository.full_name} {sha[:7]}"
        if not (len(answer.sha) >= 7 and sha.startswith(answer.sha.strip().lower())):
            draft.warnings.append(
                f"{where}: the model named an unknown commit; its item was dropped and the heuristic analysis is used"
            )
            return None
        commit = repo.commit(sha)
        snippets = [
            Snippet(s.path.strip(), s.language.strip().lower(), textwrap.dedent(s.code).strip("\n"), s.note.strip())
            for s in answer.snippets
            if s.code.strip()
        ][:MAX_SNIPPETS]
        breaking, surface = answer.breaking, answer.breaking_surface.strip()
        if breaking and not self._names_public_surface(repo, sha, surface):
            draft.warnings.append(
                f"{where}: the model called the commit breaking without naming a surface the commit changes; "
                "it is not marked breaking"
            )
            breaking = False
        story = repo.triage.story_of(sha)
        return ItemDraft(
            sha=sha,
            category=answer.category,
            title=answer.headline.strip() or commit.title,
            details=answer.details.strip(),
            impact=answer.impact.strip(),
            risk=answer.risk,
            breaking=breaking,
            snippets=snippets,
            score=repo.triage.verdicts[sha].score,
            related=related_of(story, sha),
            source="anthropic",
            verdict=answer.verdict,
            verdict_reason=answer.verdict_reason.strip(),
            breaking_surface=surface if breaking else "",
            topics=list(dict.fromkeys(answer.topics)),
        )

    @staticmethod
    def _names_public_surface(repo: RepoDay, sha: str, surface: str) -> bool:
        """The surface names at least one thing in backticks, and all it names are in the commit."""
        names = _BACKTICKED.findall(surface)
        sources: Sources = commit_sources(repo, sha)
        return bool(names) and all(sources.has_name(name) for name in names)

    # --- reduce: repositories, then the issue ---------------------------------------------------------
    def sections(self, day: DayInput, items: dict[str, ItemDraft]) -> list[SectionDraft]:
        """Each repository's section: the analyzed highlights, and until the synthesis answers, the
        heuristic's assessment and issue picks (with fixed_by from the pull requests)."""
        sections = []
        for repo in day.repos:
            section = self.heuristic.section(repo, day.language)
            section.highlights = [items[sha] for sha in repo.triage.highlighted if sha in items]
            for issue in section.issues:
                issue.fixed_by = fixing_commit(repo, issue.number)
            sections.append(section)
        return sections

    def synthesize_repositories(self, day: DayInput, draft: ReportDraft, started: float) -> None:
        language = day.language
        sections = {section.repository.full_name: section for section in draft.sections}
        fixes: dict[str, dict[int, str]] = {}
        calls = {}
        for repo in day.repos:
            name = repo.repository.full_name
            fixes[name] = {i.number: sha for i in repo.new_issues if (sha := fixing_commit(repo, i.number))}
            if repo.commits or repo.new_issues:
                highlights = sections[name].highlights
                prompt = prompts.repository_prompt(repo, highlights, day.day.isoformat(), language, fixes[name])
                calls[name] = (self.synthesis_model, prompt)
        results = self._run_all(calls, started)
        for repo in day.repos:
            name = repo.repository.full_name
            if name not in results:
                continue
            result = results[name]
            draft.usage.add(result.usage)
            if result.failure:
                draft.warnings.append(f"{name}: {self._failure_text(result)}; the assessment is the heuristic one")
                continue
            section = sections[name]
            section.assessment = result.value.assessment.strip()
            known = {issue.number: issue for issue in repo.new_issues}
            picks = []
            for pick in result.value.issue_highlights:
                if pick.number not in known:
                    draft.warnings.append(f"{name}: dropped a highlight of unknown issue #{pick.number}")
                    continue
                if any(p.number == pick.number for p in picks):
                    continue
                picks.append(
                    IssueDraft(
                        number=pick.number,
                        title=known[pick.number].title,
                        why=pick.why.strip(),
                        fixed_by=fixes[name].get(pick.number, ""),
                    )
                )
            section.issues = picks[:MAX_ISSUE_PICKS]

    def synthesize_issue(
        self, day: DayInput, draft: ReportDraft, started: float | None = None
    ) -> tuple[list[Statement], list[Statement]]:
        fallback = (
            self.heuristic.summary(draft.sections, day.language),
            self.heuristic.conclusions(draft.sections, day),
        )
        if not any(section.highlights or section.issues for section in draft.sections):
            return fallback
        prompt = prompts.issue_prompt(day.day.isoformat(), draft.sections, day.language)
        result = self._run_all(
            {"issue": (self.synthesis_model, prompt)}, time.monotonic() if started is None else started
        )["issue"]
        draft.usage.add(result.usage)
        if result.failure:
            draft.warnings.append(f"summary: {self._failure_text(result)}; the heuristic summary is used")
            return fallback
        shas = [c.sha for repo in day.repos for c in repo.commits]

        def full(cite: str) -> str:
            # The model may shorten a SHA; code maps it back when it is unambiguous.
            cite = cite.strip()
            if "#" in cite:
                return cite
            matches = [sha for sha in shas if len(cite) >= 7 and sha.startswith(cite.lower())]
            return matches[0] if len(matches) == 1 else cite

        def statements(answers) -> list[Statement]:
            return [
                Statement(answer.text.strip(), [full(c) for c in answer.cites], answer.lead.strip())
                for answer in answers
            ]

        return statements(result.value.summary), statements(result.value.conclusions)


def _error_type(error: anthropic.APIStatusError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    inner = body.get("error") if isinstance(body.get("error"), dict) else body
    return str(inner.get("type") or "error")
