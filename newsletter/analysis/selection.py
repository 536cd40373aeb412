"""Which commits of a repository-day get an analysis: the rules' pick, the floor, the model's pick.

Pure functions over a Triage. Code owns the guarantees, whatever the model answers: the floor
(reverts, [Critical], security, true breaking changes) is always highlighted, the number of
highlights never exceeds the cap unless the floor alone does, a SHA the day does not have is
ignored, a story is told under its lead, and every commit of the day ends up exactly once,
highlighted (itself or as a story member) or listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from newsletter.analysis.triage import Triage

REASONS = {
    "zh": {
        "all": "当天仅 {count} 个提交，全部分析",
        "floor": "保底入选：{reason}",
        "rules": "规则排序入选：{reason}",
    },
    "en": {
        "all": "one of the day's {count} commits: all are analyzed",
        "floor": "always highlighted: {reason}",
        "rules": "picked by the rules: {reason}",
    },
}


def lead_of(triage: Triage, sha: str) -> str:
    """The SHA a commit's story is told under (the commit itself when it is in no story)."""
    for lead, story in triage.stories.items():
        if any(member == sha for member, _ in story.members):
            return lead
    return sha


def members_of(triage: Triage, lead: str) -> list[str]:
    story = triage.stories.get(lead)
    return [sha for sha, _ in story.members] if story else [lead]


@dataclass
class Choice:
    """What a selection decided for one repository-day."""

    highlighted: list[str]
    reasons: dict[str, str] = field(default_factory=dict)  # by SHA, for the editor
    ignored: list[str] = field(default_factory=list)  # what the model named that the day does not have


def analyze_all(triage: Triage, language: str) -> Choice:
    """Few commits: every one is analyzed (a story once, under its lead), best first."""
    leads = list(dict.fromkeys(lead_of(triage, sha) for sha in triage.ranked))
    text = REASONS[language]["all"].format(count=len(triage.verdicts))
    return Choice(leads, {sha: text for sha in leads})


def rule_choice(triage: Triage, language: str) -> Choice:
    """The rules' own pick, with each commit's reason from the triage."""
    floor = set(triage.floor)
    reasons = {
        sha: REASONS[language]["floor" if sha in floor else "rules"].format(reason=triage.verdicts[sha].reason)
        for sha in triage.highlighted
    }
    return Choice(list(triage.highlighted), reasons)


def resolve(triage: Triage, cite: str) -> str | None:
    """The full SHA of the day's commit that `cite` names (7 or more leading hex digits), if exactly one."""
    cite = cite.strip().lower()
    if len(cite) < 7:
        return None
    matches = [sha for sha in triage.verdicts if sha.startswith(cite)]
    return matches[0] if len(matches) == 1 else None


def model_choice(triage: Triage, picks: list[tuple[str, str]], cap: int, language: str) -> Choice | None:
    """The model's picks within the floor and the cap; None when nothing it named is a commit of the day."""
    choice = Choice([])
    chosen: list[str] = []
    for cite, reason in picks:
        sha = resolve(triage, cite)
        if sha is None:
            choice.ignored.append(cite)
            continue
        lead = lead_of(triage, sha)
        if lead not in chosen:
            chosen.append(lead)
            choice.reasons[lead] = reason.strip()
    if not chosen:
        return None
    floor = triage.floor
    for sha in floor:
        choice.reasons.setdefault(sha, REASONS[language]["floor"].format(reason=triage.verdicts[sha].reason))
    rest = [sha for sha in chosen if sha not in floor]
    choice.highlighted = floor + rest[: max(0, cap - len(floor))]
    return choice


def apply(triage: Triage, highlighted: list[str]) -> Triage:
    """The triage with these highlights: the rest listed in commit order, stories kept for their leads.

    Commit order is the order of the verdicts (the triage judges commits oldest first)."""
    covered = {member for lead in highlighted for member in members_of(triage, lead)}
    return replace(
        triage,
        highlighted=list(highlighted),
        listed=[sha for sha in triage.verdicts if sha not in covered],
        stories={lead: story for lead, story in triage.stories.items() if lead in highlighted},
    )
