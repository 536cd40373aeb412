"""The Claude analyzer: map (one cheap call per highlighted commit), then reduce (strong model).

Map: ANTHROPIC_ITEM_MODEL sees one commit's message and budgeted diff and answers one
schema-checked item; answers are cached per (SHA, model, prompt version, language), so a rebuild
makes no new per-commit calls. Reduce: ANTHROPIC_MODEL sees only the items, once per repository
(评估, Issues 看点) and once for the issue (摘要, 总结). Structured output via JSON schema; the
system prompt carries cache_control. A schema violation is retried once, then that part falls
back to the heuristic analyzer and the report carries a warning. Provider error text is never
copied into a report: warnings say what happened in our words.
"""

from __future__ import annotations

import json
import logging
import textwrap
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import anthropic
from django.conf import settings
from pydantic import BaseModel, ValidationError

from newsletter.analysis import prompts
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
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.analysis.pricing import cost, newest_model
from newsletter.analysis.schemas import CommitItem, IssueSynthesis, RepositorySynthesis, output_schema
from newsletter.models import CommitAnalysis

logger = logging.getLogger(__name__)

ITEM_MAX_TOKENS = 2048
SYNTHESIS_MAX_TOKENS = 4096


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
    ):
        self.client = client
        self.item_model = item_model
        self.synthesis_model = synthesis_model
        self.concurrency = concurrency
        self.deadline = deadline
        self.cache = cache or AnalysisCache()
        self.heuristic = HeuristicAnalyzer()

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
        )

    # --- one call -----------------------------------------------------------------------------
    def call(self, model: str, prompt: prompts.Prompt, shape: type[BaseModel], title: str, max_tokens: int):
        """One structured call, retried once on a schema violation; never raises for the provider."""
        result = CallResult()
        for _attempt in range(2):
            try:
                response = self.client.messages.create(
                    model=model,
                    max_tokens=max_tokens,
                    system=[{"type": "text", "text": prompt.system, "cache_control": {"type": "ephemeral"}}],
                    messages=[{"role": "user", "content": prompt.user}],
                    output_config={"format": {"type": "json_schema", "schema": output_schema(shape, title)}},
                )
            except anthropic.APIStatusError as error:
                result.failure, result.status = "service", error.status_code
                return result
            except anthropic.APIError:  # connection errors and timeouts, after the SDK's retries
                result.failure = "service"
                return result
            result.usage.add(self._usage(model, response.usage))
            try:
                result.value = self._parse(response, shape)
                result.failure = ""
                return result
            except SchemaError:
                result.failure = "schema"
        return result

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

    # --- map: the commits -------------------------------------------------------------------------
    def analyze(self, day: DayInput, progress=None) -> ReportDraft:
        draft = ReportDraft(
            analyzer=self.name,
            sections=[],
            summary=[],
            conclusions=[],
            model_ids={"item": self.item_model, "synthesis": self.synthesis_model},
            prompt_version=prompts.PROMPT_VERSION,
        )
        started = time.monotonic()
        items = self.analyze_commits(day, draft, started, progress)
        draft.sections = self.synthesize_repositories(day, items, draft, started)
        draft.summary, draft.conclusions = self.synthesize_issue(day, draft)
        return draft

    def analyze_commits(self, day: DayInput, draft: ReportDraft, started: float, progress) -> dict[str, ItemDraft]:
        language = day.language
        jobs = {sha: repo for repo in day.repos for sha in repo.triage.highlighted}
        cached = self.cache.get_many(list(jobs), self.item_model, language)
        items: dict[str, ItemDraft] = {}
        for sha, payload in cached.items():
            item = self._item_from(jobs[sha], sha, CommitItem.model_validate(payload), draft)
            if item:
                items[sha] = item
        pending = [sha for sha in jobs if sha not in cached]
        results = self._run_all(
            {
                sha: (
                    self.item_model,
                    prompts.item_prompt(jobs[sha], sha, language),
                    CommitItem,
                    "commit_item",
                    ITEM_MAX_TOKENS,
                )
                for sha in pending
            },
            started,
            progress,
        )
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
        return items

    def _run_all(self, calls: dict[str, tuple], started: float, progress) -> dict[str, CallResult]:
        """Run calls `concurrency` at a time; what has not finished by the deadline gives up."""
        results: dict[str, CallResult] = {}
        if not calls:
            return results
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="anthropic")
        futures: dict[Future, str] = {executor.submit(self.call, *args): key for key, args in calls.items()}
        try:
            waiting = set(futures)
            while waiting:
                remaining = self.deadline - (time.monotonic() - started)
                if remaining <= 0:
                    break
                done, waiting = wait(waiting, timeout=remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        results[futures[future]] = future.result()
                    except Exception:  # a bug of ours, not the provider's: log it, fall back
                        logger.exception("model call for %s failed", futures[future])
                        results[futures[future]] = CallResult(failure="service")
                    if progress:
                        progress(len(results), len(calls))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
        for key in calls:
            results.setdefault(key, CallResult(failure="deadline"))
        return results

    @staticmethod
    def _failure_text(result: CallResult) -> str:
        if result.failure == "schema":
            return "the model's answer broke the schema twice"
        if result.failure == "deadline":
            return "the model did not answer before the build deadline"
        status = f" (HTTP {result.status})" if result.status else ""
        return f"the model service failed{status} after retries"

    def _fallback(self, repo: RepoDay, sha: str, language: str) -> ItemDraft:
        item = self.heuristic.item(repo, sha, language)
        item.source = "fallback"
        return item

    def _item_from(self, repo: RepoDay, sha: str, answer: CommitItem, draft: ReportDraft) -> ItemDraft | None:
        """Checks by code: the SHA must be the one asked about. Links and stories come from code too."""
        if not (len(answer.sha) >= 7 and sha.startswith(answer.sha.lower())):
            draft.warnings.append(
                f"{repo.repository.full_name} {sha[:7]}: the model named an unknown commit; "
                "its item was dropped and the heuristic analysis is used"
            )
            return None
        story = repo.triage.story_of(sha)
        code = answer.code
        lines = textwrap.dedent(code.snippet).strip("\n") if code else ""
        snippets = [Snippet(code.path, code.language.lower(), lines)] if code else []
        return ItemDraft(
            sha=sha,
            category=answer.category,
            title=answer.title,
            details=answer.details,
            impact=answer.impact,
            risk=answer.risk,
            breaking=answer.breaking,
            snippets=snippets,
            score=repo.triage.verdicts[sha].score,
            related=[{"sha": s, "role": role} for s, role in (story.members if story else []) if s != sha],
            source="anthropic",
        )

    # --- reduce: repositories, then the issue ---------------------------------------------------------
    def synthesize_repositories(
        self, day: DayInput, items: dict[str, ItemDraft], draft: ReportDraft, started: float
    ) -> list[SectionDraft]:
        language = day.language
        sections = {}
        calls = {}
        for repo in day.repos:
            highlights = [items[sha] for sha in repo.triage.highlighted if sha in items]
            section = self.heuristic.section(repo, language)
            section.highlights = highlights
            sections[repo.repository.full_name] = section
            if repo.commits or repo.new_issues:
                prompt = prompts.repository_prompt(repo, highlights, day.day.isoformat(), language)
                calls[repo.repository.full_name] = (
                    self.synthesis_model,
                    prompt,
                    RepositorySynthesis,
                    "repository_synthesis",
                    SYNTHESIS_MAX_TOKENS,
                )
        results = self._run_all(calls, started, None)
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
            section.assessment = result.value.assessment
            known = {issue.number: issue for issue in repo.new_issues}
            picks = []
            for pick in result.value.issue_highlights[:5]:
                if pick.number not in known:
                    draft.warnings.append(f"{name}: dropped a highlight of unknown issue #{pick.number}")
                    continue
                picks.append(IssueDraft(number=pick.number, title=known[pick.number].title, why=pick.why))
            section.issues = picks
        return [sections[repo.repository.full_name] for repo in day.repos]

    def synthesize_issue(self, day: DayInput, draft: ReportDraft) -> tuple[list[Statement], list[Statement]]:
        fallback = (
            self.heuristic.summary(draft.sections, day.language),
            self.heuristic.conclusions(draft.sections, day),
        )
        if not any(section.highlights or section.issues for section in draft.sections):
            return fallback
        prompt = prompts.issue_prompt(day.day.isoformat(), draft.sections, day.language)
        result = self.call(self.synthesis_model, prompt, IssueSynthesis, "issue_synthesis", SYNTHESIS_MAX_TOKENS)
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
            return [Statement(answer.text, [full(c) for c in answer.cites]) for answer in answers]

        return statements(result.value.summary), statements(result.value.conclusions)
