"""The offline analyzer: deterministic, no network, Chinese or English.

Category from the triage, details from the cleaned commit message and the files, the code detail
from the most telling added hunk, impact from rules (a revert removes a feature, removed public
symbols break callers, test/CI-only is low risk), and the assessment, issue highlights, summary
and conclusions written from the same data.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

from newsletter.analysis.diffs import NOT_SHIPPED, file_role, telling_snippet
from newsletter.analysis.draft import (
    DayInput,
    IssueDraft,
    ItemDraft,
    RepoDay,
    ReportDraft,
    SectionDraft,
    Statement,
)
from newsletter.analysis.messages import clean_body, shorten
from newsletter.analysis.triage import Verdict, parse_title
from newsletter.analysis.wording import PLATFORMS, category_name, join, say
from newsletter.models import Commit, Issue

ISSUES_PER_REPO = 5
_ISSUE_LABEL_WEIGHTS = [
    (re.compile(r"critical|p0|blocker|regression|security", re.I), 8),
    (re.compile(r"\bbug\b|crash|error", re.I), 4),
    (re.compile(r"rfc|proposal|roadmap", re.I), 3),
    (re.compile(r"perf|performance", re.I), 3),
    (re.compile(r"feature|enhancement", re.I), 2),
    (re.compile(r"question|usage|documentation|good first issue", re.I), -2),
]


def sentences_of(language: str, sentences: list[str]) -> str:
    """Chinese sentences follow each other directly; English ones after a space."""
    return ("" if language == "zh" else " ").join(sentences)


def code_ref(name: str) -> str:
    return f"`{name}`" if "`" not in name else name


def areas(commit: Commit, language: str, limit: int = 2) -> str:
    """The directories where most of a commit's shipped lines changed, e.g. `vllm/v1/core`."""
    weights: Counter[str] = Counter()
    for change in commit.files:
        if file_role(change["path"]) in NOT_SHIPPED:
            continue
        parent = str(PurePosixPath(change["path"]).parent)
        weights["/".join(parent.split("/")[:3]) or change["path"]] += change["additions"] + change["deletions"] + 1
    if not weights:
        weights.update(change["path"] for change in commit.files[:limit])
    return join(language, [code_ref(path) for path, _ in weights.most_common(limit)]) or "-"


class HeuristicAnalyzer:
    name = "heuristic"

    def analyze(self, day: DayInput, progress=None) -> ReportDraft:
        sections = [self.section(repo, day.language) for repo in day.repos]
        return ReportDraft(
            analyzer=self.name,
            sections=sections,
            summary=self.summary(sections, day.language),
            conclusions=self.conclusions(sections, day),
        )

    # --- one commit ---------------------------------------------------------------------------
    def item(self, repo: RepoDay, sha: str, language: str) -> ItemDraft:
        commit = repo.commit(sha)
        verdict = repo.triage.verdicts[sha]
        story = repo.triage.story_of(sha)
        related = [{"sha": s, "role": role} for s, role in (story.members if story else []) if s != sha]
        impact, risk = self.impact(repo, commit, verdict, related, language)
        return ItemDraft(
            sha=sha,
            category=verdict.category,
            title=verdict.reverts_title or parse_title(commit.title).text or commit.title,
            details=self.details(commit, verdict, language),
            impact=impact,
            risk=risk,
            breaking=verdict.breaking or verdict.category == "Revert",
            snippets=[snippet] if (snippet := telling_snippet(commit.files)) else [],
            score=verdict.score,
            related=related,
        )

    def details(self, commit: Commit, verdict: Verdict, language: str) -> str:
        shipped = [c for c in commit.files if file_role(c["path"]) not in NOT_SHIPPED] or commit.files
        top = sorted(shipped, key=lambda c: c["additions"] + c["deletions"], reverse=True)[:3]
        sentences = []
        body = clean_body(commit.message, limit=400)
        if body:
            sentences.append(say(language, "message", body=body))
        sentences.append(
            say(
                language,
                "files",
                files=len(commit.files),
                added=commit.additions,
                removed=commit.deletions,
                paths=join(language, [code_ref(c["path"]) for c in top]) or "-",
            )
        )
        if verdict.symbols.added:
            names = [code_ref(s) for s in verdict.symbols.added[:4]]
            sentences.append(say(language, "new_symbols", symbols=join(language, names)))
        return sentences_of(language, sentences)

    def impact(self, repo: RepoDay, commit: Commit, verdict: Verdict, related: list[dict], language: str):
        category = verdict.category
        parts: list[str] = []
        risk = "low"
        if category == "Revert":
            what = f"#{verdict.reverts_pr}" if verdict.reverts_pr else commit.short_sha
            if verdict.reverts_title:
                what += f"（{verdict.reverts_title}）" if language == "zh" else f" ({verdict.reverts_title})"
            parts.append(say(language, "impact_revert", what=what))
            redo = next((r["sha"] for r in related if r["role"] == "redo"), None)
            if redo:
                parts.append(say(language, "impact_revert_redo", redo=code_ref(redo[:7])))
            risk = "high"
        if verdict.symbols.removed:
            names = [code_ref(s) for s in verdict.symbols.removed[:5]]
            parts.append(say(language, "impact_removed", symbols=join(language, names)))
            risk = "high"
        if verdict.symbols.renamed:
            pairs = [f"`{old}` → `{new}`" for old, new in verdict.symbols.renamed[:3]]
            parts.append(say(language, "impact_renamed", pairs=join(language, pairs)))
            risk = "high"
        if category == "Deprecation" and not verdict.symbols.removed:
            parts.append(say(language, "impact_deprecation"))
            risk = "high"
        if not parts:
            parts.append(self.category_impact(commit, verdict, language))
            risk = self.category_risk(verdict)
        return sentences_of(language, parts), risk

    def category_impact(self, commit: Commit, verdict: Verdict, language: str) -> str:
        category = verdict.category
        where = areas(commit, language)
        if set(verdict.roles) <= {"test", "ci", "docs", "tooling"}:
            return say(language, "impact_quiet")
        if category == "Perf":
            return say(language, "impact_perf", areas=where)
        if "kernel" in verdict.roles and category in ("Kernel", "Feature", "Bugfix", "Misc"):
            kernels = [code_ref(c["path"]) for c in commit.files if file_role(c["path"]) == "kernel"][:2]
            return say(language, "impact_kernel", files=join(language, kernels))
        if category == "Hardware":
            tags = parse_title(commit.title).tags
            platform = next((PLATFORMS[t] for t in tags if t in PLATFORMS), None)
            if platform is None:
                platform = next((PLATFORMS[p] for t in tags for p in re.split(r"[/ ]+", t) if p in PLATFORMS), "-")
            return say(language, "impact_hardware", platform=platform)
        if category == "Core":
            return say(language, "impact_core", areas=where)
        if category in ("Bugfix", "Critical", "Security"):
            return say(language, "impact_bugfix", areas=where)
        if category == "Model":
            return say(language, "impact_model")
        if category == "Feature":
            return say(language, "impact_feature", areas=where)
        if category == "Refactor":
            return say(language, "impact_refactor")
        return say(language, "impact_misc", areas=where)

    @staticmethod
    def category_risk(verdict: Verdict) -> str:
        if verdict.category in ("Critical", "Security"):
            return "high"
        if verdict.category in ("Perf", "Core", "Kernel") or "kernel" in verdict.roles:
            return "medium"
        return "low"

    # --- one repository -------------------------------------------------------------------------
    def section(self, repo: RepoDay, language: str) -> SectionDraft:
        highlights = [self.item(repo, sha, language) for sha in repo.triage.highlighted]
        return SectionDraft(
            repository=repo.repository,
            assessment=self.assessment(repo, highlights, language),
            highlights=highlights,
            listed=list(repo.triage.listed),
            issues=self.issue_highlights(repo, language),
            stats=repo.stats,
        )

    def assessment(self, repo: RepoDay, highlights: list[ItemDraft], language: str) -> str:
        stats = repo.stats
        sentences = []
        if not repo.commits:
            sentences.append(say(language, "assessment_quiet"))
        else:
            counts = Counter(v.category for v in repo.triage.verdicts.values())
            mix = [
                say(language, "mix_item", count=n, name=category_name(language, category))
                for category, n in counts.most_common(4)
            ]
            sentences.append(
                say(
                    language,
                    "assessment",
                    commits=stats["commits"],
                    added=stats["additions"],
                    removed=stats["deletions"],
                    authors=stats["authors"],
                    mix=join(language, mix),
                )
            )
            breaking = [item for item in highlights if item.breaking]
            if breaking:
                cites = join(language, [f"`{item.sha[:7]}`" for item in breaking[:4]])
                sentences.append(say(language, "assessment_breaking", count=len(breaking), cites=cites))
            reverts = counts.get("Revert", 0)
            if reverts:
                sentences.append(say(language, "assessment_reverts", count=reverts))
        if repo.new_issues:
            sentences.append(say(language, "assessment_issues", count=len(repo.new_issues)))
        return sentences_of(language, sentences)

    def issue_highlights(self, repo: RepoDay, language: str) -> list[IssueDraft]:
        ranked = sorted(repo.new_issues, key=lambda issue: (-self.issue_score(issue), -issue.number))
        return [
            IssueDraft(number=issue.number, title=issue.title, why=self.issue_why(issue, language))
            for issue in ranked[:ISSUES_PER_REPO]
        ]

    @staticmethod
    def issue_score(issue: Issue) -> int:
        text = " ".join([*issue.labels, issue.title])
        score = sum(weight for pattern, weight in _ISSUE_LABEL_WEIGHTS if pattern.search(text))
        return score + min(issue.comments, 20) // 2

    def issue_why(self, issue: Issue, language: str) -> str:
        text = " ".join([*issue.labels, issue.title]).lower()
        if re.search(r"\bbug\b|crash|error|nan|fail", text):
            kind = "issue_kind_bug"
        elif re.search(r"rfc|proposal|design", text):
            kind = "issue_kind_rfc"
        elif re.search(r"feature|enhancement|support", text):
            kind = "issue_kind_feature"
        else:
            kind = "issue_kind_other"
        comments = say(language, "issue_comments", count=issue.comments) if issue.comments else ""
        labels = ", ".join(issue.labels) or say(language, "issue_no_labels")
        body = shorten(re.sub(r"\s+", " ", clean_body("x\n" + (issue.body or ""))), 240) or issue.title
        return say(language, "issue_why", kind=say(language, kind), labels=labels, comments=comments, body=body)

    # --- the whole issue --------------------------------------------------------------------------
    def summary(self, sections: list[SectionDraft], language: str) -> list[Statement]:
        statements = []
        for section in sections:
            name = section.repository.display_name
            if section.highlights:
                breaking = [item for item in section.highlights if item.breaking][:2]
                others = [item for item in section.highlights if not item.breaking][:3]
                names = join(language, [f"{item.title}" for item in others]) or "-"
                if breaking:
                    text = say(
                        language,
                        "summary_repo_breaking",
                        name=name,
                        commits=section.stats["commits"],
                        breaking=join(language, [item.title for item in breaking]),
                        highlights=names,
                    )
                else:
                    text = say(language, "summary_repo", name=name, commits=section.stats["commits"], highlights=names)
                lead = say(language, "summary_lead", name=name)
                statements.append(Statement(text, [item.sha for item in breaking + others], lead))
            elif section.issues:
                cites = [f"{section.repository.full_name}#{i.number}" for i in section.issues[:3]]
                issues = join(language, [f"#{i.number}" for i in section.issues[:3]])
                text = say(language, "summary_issues_only", name=name, issues=issues)
                statements.append(Statement(text, cites, say(language, "summary_lead", name=name)))
        return statements

    def conclusions(self, sections: list[SectionDraft], day: DayInput) -> list[Statement]:
        language = day.language
        themes = [
            ("conclusion_breaking", lambda item: item.breaking),
            ("conclusion_perf", lambda item: item.category == "Perf"),
            ("conclusion_hardware", lambda item: item.category == "Hardware"),
            ("conclusion_models", lambda item: item.category == "Model"),
        ]
        statements: list[Statement] = []
        used: set[str] = set()
        for key, wanted in themes:
            for section in sections:
                items = [i for i in section.highlights if wanted(i) and i.sha not in used][:3]
                if not items:
                    continue
                used.update(i.sha for i in items)
                names = join(language, [i.title for i in items])
                name = section.repository.display_name
                statements.append(
                    Statement(
                        say(language, key, name=name, items=names),
                        [i.sha for i in items],
                        say(language, f"{key}_lead", name=name),
                    )
                )
        for section in sections:
            fixes = [i for i in section.highlights if i.category == "Bugfix" and i.sha not in used]
            if fixes:
                text = say(
                    language,
                    "conclusion_fixes",
                    name=section.repository.display_name,
                    count=len(fixes),
                    items=fixes[0].title,
                )
                lead = say(language, "conclusion_fixes_lead", name=section.repository.display_name, count=len(fixes))
                statements.append(Statement(text, [fixes[0].sha], lead))
            if section.issues:
                first = section.issues[0]
                text = say(
                    language,
                    "conclusion_issues",
                    name=section.repository.display_name,
                    items=f"#{first.number} {first.title}",
                )
                lead = say(language, "conclusion_issues_lead", name=section.repository.display_name)
                statements.append(Statement(text, [f"{section.repository.full_name}#{first.number}"], lead))
        return statements[:6]
