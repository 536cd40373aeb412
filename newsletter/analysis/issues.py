"""Issues 看点: which of the day's new issues to show and why each matters, from its labels, title and body.

The sentence says what kind of report it is, what it is about (the code names, hardware, model
family and data type it names, as written), what the reporter says goes wrong, and why a reader
should care; the English body is never pasted into a Chinese sentence. A commit of the day that
fixes the issue is recorded (IssueDraft.fixed_by) for the renderer's "已由 abc1234 修复".
"""

from __future__ import annotations

import re

from newsletter.analysis.details import code, sentence
from newsletter.analysis.draft import IssueDraft, RepoDay
from newsletter.analysis.headlines import clean_title, zh_phrase
from newsletter.analysis.subjects import subjects_of
from newsletter.analysis.wording import say, word
from newsletter.models import Issue

ISSUES_PER_REPO = 5
_LABEL_WEIGHTS = [
    (re.compile(r"critical|p0|blocker|regression|security", re.I), 8),
    (re.compile(r"\bbug\b|crash|error", re.I), 4),
    (re.compile(r"rfc|proposal|roadmap", re.I), 3),
    (re.compile(r"perf|performance", re.I), 3),
    (re.compile(r"feature|enhancement", re.I), 2),
    (re.compile(r"question|usage|documentation|good first issue", re.I), -2),
]
_KINDS = [
    ("bug", re.compile(r"\bbug\b|crash|error|\bnans?\b|fail|broken|regression|wrong|incorrect|hang", re.I)),
    ("rfc", re.compile(r"\brfc\b|proposal|design|roadmap", re.I)),
    ("perf", re.compile(r"\bperf\b|performance|slow|latency|throughput", re.I)),
    ("feature", re.compile(r"feature|enhancement|\bsupport\b|request|\badd\b", re.I)),
    ("question", re.compile(r"question|usage|how to|\bhelp\b", re.I)),
    ("docs", re.compile(r"\bdocs?\b|documentation", re.I)),
]
_SYMPTOMS = [
    ("nan", re.compile(r"\bnans?\b|\binf\b", re.I)),
    ("wrong", re.compile(r"wrong|incorrect|garbage|gibberish|accuracy|mismatch", re.I)),
    ("crash", re.compile(r"crash|segfault|illegal memory access|core dump", re.I)),
    ("hang", re.compile(r"\bhangs?\b|\bhanging\b|\bstuck\b|deadlock|timeout", re.I)),
    ("oom", re.compile(r"\boom\b|out of memory", re.I)),
    ("slow", re.compile(r"\bslow\b|regression|degrad", re.I)),
    ("fails", re.compile(r"fail|error|exception|not work|doesn't work|does not work|unable|cannot|can't", re.I)),
]
_ERROR_NAME = re.compile(r"\b([A-Z][A-Za-z]*(?:Error|Exception))\b")
_CODE_NAME = re.compile(r"`([^`\n]{2,60})`|\b([A-Za-z_][\w.]*\(\))")


def score(issue: Issue) -> int:
    text = " ".join([*issue.labels, issue.title])
    return sum(weight for pattern, weight in _LABEL_WEIGHTS if pattern.search(text)) + min(issue.comments, 20) // 2


def issue_highlights(repo: RepoDay, language: str) -> list[IssueDraft]:
    ranked = sorted(repo.new_issues, key=lambda issue: (-score(issue), -issue.number))
    return [
        IssueDraft(
            number=issue.number,
            title=issue.title,
            why=why(issue, language),
            fixed_by=repo.fixing_commit(issue.number) or "",
        )
        for issue in ranked[:ISSUES_PER_REPO]
    ]


def kind_of(issue: Issue) -> str:
    labels = " ".join(issue.labels)
    for kind, pattern in _KINDS:
        if pattern.search(labels):
            return kind
    for kind, pattern in _KINDS:
        if pattern.search(issue.title):
            return kind
    return "other"


def why(issue: Issue, language: str) -> str:
    """What the issue reports and why it matters, in clauses a reader can check against the issue."""
    kind = kind_of(issue)
    text = f"{issue.title}\n{issue.body or ''}"
    names = _names(issue)
    subjects = subjects_of(issue.title, issue.body or "")
    symptom = next((key for key, pattern in _SYMPTOMS if pattern.search(text)), "")
    error = _ERROR_NAME.search(text)
    sep = word(language, "list_sep")
    clauses = []
    if kind == "bug" or (kind == "other" and symptom):
        if names and symptom:
            clauses.append(say(language, f"issue.bug.{symptom}", about=sep.join(names[:2])))
        elif symptom:
            # The title is shown right before this sentence: say what it reports, not the title again.
            clauses.append(say(language, f"issue.bug_symptom.{symptom}"))
        else:
            clauses.append(say(language, "issue.bug", about=sep.join(names[:2]) or _topic(issue, language)))
        if error and code(error.group(1)) not in clauses[0]:
            clauses.append(say(language, "issue.error", error=code(error.group(1))))
    elif kind in ("feature", "rfc", "perf", "docs", "question"):
        clauses.append(say(language, f"issue.{kind}", about=_topic(issue, language)))
    else:
        clauses.append(say(language, "issue.other", about=_topic(issue, language)))
    reach = [*subjects.platforms[:2], *subjects.dtypes[:2], *(subjects.model_names[:1] or subjects.models[:1])]
    if reach:
        key = "issue.reach_numerics" if symptom in ("nan", "wrong") else "issue.reach"
        clauses.append(say(language, key, reach=sep.join(reach)))
    elif symptom in ("nan", "wrong"):
        clauses.append(say(language, "issue.numerics"))
    if issue.comments:
        clauses.append(say(language, "issue.comments", count=issue.comments))
    return sentence(clauses, language)


def _names(issue: Issue) -> list[str]:
    """Code names the title (or else the body) writes: `x`, foo()."""
    for text in (issue.title, issue.body or ""):
        found = []
        for match in _CODE_NAME.finditer(text):
            name = (match.group(1) or match.group(2)).strip()
            if name and code(name) not in found:
                found.append(code(name))
        if found:
            return found
    return []


def _topic(issue: Issue, language: str) -> str:
    """The title as a phrase: rebuilt around its names in Chinese, cleaned in English."""
    title = re.sub(r"^\s*(?:\[[^\]]{1,30}\]\s*:?\s*)+", "", issue.title).strip()
    title = re.sub(r"^(?:bug|feature|rfc|question|feature request|enhancement|perf)\s*:\s*", "", title, flags=re.I)
    title = clean_title(title) if title else issue.title
    return zh_phrase(title) if language == "zh" else title
