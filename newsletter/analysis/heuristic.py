"""The offline analyzer: deterministic, no network, Chinese or English; every sentence from a fact.

Per highlighted commit: a headline rebuilt from the title's verb and object
(headlines.py), 变更详情 from the facts of the diff, message and pull request (facts.py,
details.py), the most telling added hunk quoted verbatim with a note, 影响 and a verdict with its
reason (assess.py), the breaking surface, topics and selection reason from the triage. Per
repository: the 评估 from the themes of its highlights and the Issues 看点 (issues.py). For the
day: the 摘要 grouped by theme across repositories and the numbered 总结 (themes.py). A rule
with nothing specific to say says nothing.
"""

from __future__ import annotations

import re
from dataclasses import replace

from newsletter.analysis import issues as issue_picks
from newsletter.analysis import themes
from newsletter.analysis.assess import ItemContext, assess, revert_what
from newsletter.analysis.details import describe, snippet_note
from newsletter.analysis.diffs import telling_snippet
from newsletter.analysis.draft import DayInput, ItemDraft, RepoDay, ReportDraft, SectionDraft, Statement
from newsletter.analysis.facts import CommitView, Fact, facts_of
from newsletter.analysis.headlines import headline
from newsletter.analysis.subjects import subjects_of
from newsletter.analysis.triage import Verdict
from newsletter.analysis.wording import say
from newsletter.models import Commit

# The triage's signal names, for the editor's "why this commit" in Chinese.
SIGNAL_NAMES_ZH = {
    "revert": "回退", "redo": "重新引入", "critical": "紧急", "security": "安全", "breaking": "公开接口变化",
    "new-model": "新模型", "new-kernel": "新 kernel", "new-backend": "新后端", "hardware-enablement": "硬件适配",
    "correctness-fix": "正确性修复", "changed-default": "默认值变化", "new-option": "新选项", "perf-claim": "性能数据",
    "bot": "机器人提交", "auto-sync": "自动同步", "typo-fix": "拼写修正", "tests-ci-docs-only": "仅测试/CI/文档",
    "tooling-config": "工具配置", "message-only": "仅改消息", "pure-rename": "纯重命名",
}  # fmt: skip


def commit_facts(repo: RepoDay, sha: str) -> list[Fact]:
    """The facts of one commit, read from its diff once per day however many sentences use them."""
    key = ("facts", sha)
    if key not in repo.memo:
        repo.memo[key] = _read_facts(repo, sha)
    return repo.memo[key]


def _read_facts(repo: RepoDay, sha: str) -> list[Fact]:
    commit = repo.commit(sha)
    pull = repo.pull_request(sha)
    view = CommitView(
        commit.title, commit.message, commit.files, pull.body if pull else "", pull.labels if pull else ()
    )
    return facts_of(view, symbols=repo.triage.verdicts[sha].symbols)


def item_draft(repo: RepoDay, sha: str, language: str) -> ItemDraft:
    """One highlighted commit as an ItemDraft (HeuristicAnalyzer.item)."""
    commit = repo.commit(sha)
    verdict = repo.triage.verdicts[sha]
    story = repo.triage.story_of(sha)
    related = story.related(sha) if story else []  # earlier days' members too, with their day
    facts = commit_facts(repo, sha)
    pull = repo.pull_request(sha)
    subjects = subjects_of(commit.title, *(pull.labels if pull else ()))
    ctx = ItemContext(
        title=commit.title,
        verdict=verdict,
        facts=facts,
        subjects=subjects,
        files=commit.files,
        language=language,
        revert_target=_revert_target(repo, sha, verdict),
        revert_title=verdict.reverts_title,
        redo=next((s for s, role in (story.members if story else []) if role == "redo" and s != sha), ""),
        earlier_day=next((m.day.isoformat() for m in (story.earlier if story else []) if m.role == "change"), ""),
    )
    judged = assess(ctx)
    lead = []
    if verdict.category == "Revert":
        what = revert_what(ctx) if ctx.revert_target or ctx.revert_title else ""
        lead.append(say(language, "fact.revert", what=what) if what else say(language, "fact.revert_unknown"))
    removal = verdict.category == "Deprecation" and commit.deletions > 3 * commit.additions
    snippet = None if removal else telling_snippet(without_headers(commit.files))
    snippets = [replace(snippet, note=snippet_note(snippet, facts, language))] if snippet else []
    new_model = "new-model" in verdict.signals
    return ItemDraft(
        sha=sha,
        category=verdict.category,
        title=headline(commit.title, language, new_model=new_model, category=verdict.category),
        details=describe(facts, language, lead=lead),
        impact=judged.impact,
        risk=judged.risk,
        breaking=verdict.breaking,
        snippets=snippets,
        score=verdict.score,
        related=related,
        verdict=judged.verdict,
        verdict_reason=judged.reason,
        breaking_surface=judged.breaking_surface,
        topics=list(verdict.topics),
        selection_reason=selection_reason(verdict, language),
    )


_PREAMBLE_LINE = re.compile(r"^\s*(#|//|/\*|\*|$|import\s|from\s+\S+\s+import\s|#include\s|using\s)")
_DOCSTRING = re.compile(r'^\s*[rRuU]?("""|\'\'\')')


def without_headers(files: list[dict]) -> list[dict]:
    """The files with a new file's preamble (license comments, module docstring, imports) left out of
    its patch, so the quoted code is code; what remains are lines of the patch as they were."""
    out = []
    for change in files:
        patch = change.get("patch") or ""
        if change.get("status") != "added" or not patch:
            out.append(change)
            continue
        lines = patch.split("\n")
        start = end = 1 if lines and lines[0].startswith("@@") else 0
        while end < len(lines) and lines[end].startswith("+"):
            text = lines[end][1:]
            if quote := _DOCSTRING.match(text):  # skip to the line that closes the docstring
                closing = quote.group(1)
                rest = text[quote.end() :]
                while closing not in rest and end + 1 < len(lines) and lines[end + 1].startswith("+"):
                    end += 1
                    rest = lines[end][1:]
                end += 1
                continue
            if not _PREAMBLE_LINE.match(text):
                break
            end += 1
        out.append({**change, "patch": "\n".join(lines[:start] + lines[end:])} if end > start else change)
    return out


def _revert_target(repo: RepoDay, sha: str, verdict: Verdict) -> str:
    """What a revert undoes, as "#N" or a short SHA: never the revert's own number or SHA."""
    own = repo.commit(sha)
    if verdict.reverts_pr and verdict.reverts_pr != own.pr_number:
        return f"#{verdict.reverts_pr}"
    if verdict.reverts_sha and not verdict.reverts_sha.startswith(sha[:7]):
        return verdict.reverts_sha[:7]
    return ""


def selection_reason(verdict: Verdict, language: str) -> str:
    """Why the triage picked the commit, for the editor: its reason line, signal names in Chinese for zh."""
    if language != "zh":
        return verdict.reason
    parts = []
    for part in verdict.reason.split("; "):
        name, _, evidence = part.partition(" (")
        label = SIGNAL_NAMES_ZH.get(name.strip())
        parts.append(f"{label}（{evidence.rstrip(')')}）" if label and evidence else (label or part))
    return "；".join(parts)


class HeuristicAnalyzer:
    name = "heuristic"

    def analyze(self, day: DayInput, progress=None) -> ReportDraft:
        sections = [self.section(repo, day.language) for repo in day.repos]
        return ReportDraft(
            analyzer=self.name,
            sections=sections,
            summary=self.summary(sections, day.language, day),
            conclusions=self.conclusions(sections, day),
        )

    def item(self, repo: RepoDay, sha: str, language: str) -> ItemDraft:
        return item_draft(repo, sha, language)

    def section(self, repo: RepoDay, language: str) -> SectionDraft:
        highlights = [self.item(repo, sha, language) for sha in repo.triage.highlighted]
        picks = issue_picks.issue_highlights(repo, language)
        name = repo.repository.display_name
        titles = {c.sha: c.title for c in repo.commits}
        facts = {sha: commit_facts(repo, sha) for sha in repo.triage.highlighted}
        mine = [themes.Entry(name, item, titles[item.sha], facts[item.sha]) for item in highlights]
        return SectionDraft(
            repository=repo.repository,
            assessment=themes.assessment(name, repo.stats, mine, picks, language),
            highlights=highlights,
            listed=list(repo.triage.listed),
            issues=picks,
            stats=repo.stats,
        )

    def summary(self, sections: list[SectionDraft], language: str, day: DayInput | None = None) -> list[Statement]:
        return themes.summary(self._entries(sections, day), language)

    def conclusions(self, sections: list[SectionDraft], day: DayInput) -> list[Statement]:
        issues = [
            (section.repository.display_name, section.repository.full_name, pick)
            for section in sections
            for pick in section.issues
        ]
        return themes.conclusions(self._entries(sections, day), issues, day.language)

    @staticmethod
    def _entries(sections: list[SectionDraft], day: DayInput | None) -> list[themes.Entry]:
        """The items with their commits' titles and facts: from the day when given, else from the rows."""
        shas = [item.sha for section in sections for item in section.highlights]
        titles: dict[str, str] = {}
        facts: dict[str, list[Fact]] = {}
        for repo in day.repos if day else []:
            for sha in shas:
                if any(c.sha == sha for c in repo.commits):
                    titles[sha] = repo.commit(sha).title
                    facts[sha] = commit_facts(repo, sha)
        missing = [sha for sha in shas if sha not in titles]
        if missing:
            titles.update(Commit.objects.filter(sha__in=missing).values_list("sha", "title"))
        return themes.entries(sections, titles, facts)
