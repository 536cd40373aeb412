"""A change, its revert and its redo are one story, told once, under the newest commit of the day.

The change a revert names may have landed today or on an earlier collected day (gather.py hands
those commits over; nothing here reads the database). Commits are linked by what reverts and
redos say (references.py: the pull request number, the quoted title, the reverted SHA), and two
commits that name the same change are one story even when the change itself was never
collected: a `[Critical] Revert #N` and a later `[Redo] #N` belong together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, tzinfo
from typing import Protocol

from newsletter.analysis.references import Reference


class StoryCommit(Protocol):
    sha: str
    title: str
    pr_number: int | None
    committed_at: object  # a datetime


@dataclass(frozen=True)
class EarlierMember:
    """A member of today's story that landed on an earlier day: the archive issue of that day told it."""

    sha: str
    role: str  # change, revert or redo
    day: date  # in the report's time zone
    title: str = ""


@dataclass
class Story:
    lead: str  # the SHA the story is told under: its newest commit of the day
    members: list[tuple[str, str]]  # (sha, role) of the day's commits, oldest first, the lead included
    earlier: list[EarlierMember] = field(default_factory=list)  # oldest first

    def related(self, sha: str) -> list[dict]:
        """Every other member as the report stores it: {"sha", "role"}, plus "day" and "earlier" for
        members of earlier days (the renderer links those to that day's issue). Oldest first."""
        earlier = [{"sha": m.sha, "role": m.role, "day": m.day.isoformat(), "earlier": True} for m in self.earlier]
        return earlier + [{"sha": s, "role": role} for s, role in self.members if s != sha]


def normalized_title(title: str) -> str:
    """A title as two commits that mean the same change would both write it."""
    text = title.strip()
    while match := re.match(r"^\s*\[[^\]]{1,40}\]\s*:?\s*", text):
        text = text[match.end() :]
    text = re.sub(r"\s*\(#\d+\)", "", text)
    return re.sub(r"\s+", " ", text).strip().strip('"').lower()


def _names(reference_title: str, title: str) -> bool:
    """Does a quoted or free-text title name this commit's title?"""
    wanted, own = normalized_title(reference_title), normalized_title(title)
    return bool(own) and (wanted == own or (len(own) >= 12 and own in wanted))


class _Groups:
    """Union-find over commit SHAs and the keys commits are known by ("pr:N", "title:t")."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def undone_by(commit: StoryCommit, reference: Reference, pool: Sequence[StoryCommit]) -> list[StoryCommit]:
    """The commits a revert or redo names, among those that landed before it; never itself."""
    older = [c for c in pool if c.sha != commit.sha and c.committed_at <= commit.committed_at]
    found = [c for c in older if c.pr_number and c.pr_number in reference.prs]
    found += [c for c in older if any(c.sha.startswith(prefix) for prefix in reference.shas)]
    found += [c for c in older if any(_names(t, c.title) for t in reference.titles)]
    return list({c.sha: c for c in found}.values())


def link_stories(
    today: Sequence[StoryCommit],
    earlier: Sequence[StoryCommit],
    reference: Callable[[StoryCommit], Reference | None],
    zone: tzinfo = UTC,
) -> tuple[dict[str, Story], dict[str, StoryCommit]]:
    """Stories of the day by lead, and for each revert or redo of the day the commit it names first.

    `reference` tells what a commit reverts or redoes (None for other commits); `zone` dates the
    earlier members.
    """
    today_shas = {c.sha for c in today}
    pool = sorted([*today, *(c for c in earlier if c.sha not in today_shas)], key=lambda c: (c.committed_at, c.sha))
    pool = list({c.sha: c for c in pool}.values())
    references = {c.sha: ref for c in pool if (ref := reference(c))}
    groups = _Groups()
    targets: dict[str, list[StoryCommit]] = {}
    for commit in pool:
        if commit.pr_number:
            groups.union(commit.sha, f"pr:{commit.pr_number}")
        ref = references.get(commit.sha)
        if ref is None:
            continue
        for number in ref.prs:
            groups.union(commit.sha, f"pr:{number}")
        targets[commit.sha] = undone_by(commit, ref, pool)
        for target in targets[commit.sha]:
            groups.union(commit.sha, target.sha)
    # Landing the reverted change again under the same title is a redo too.
    for commit in pool:
        if commit.sha in references:
            continue
        for revert, undone in targets.items():
            before = next(c for c in pool if c.sha == revert)
            if commit.committed_at > before.committed_at and any(
                normalized_title(u.title) == normalized_title(commit.title) for u in undone if u.sha != commit.sha
            ):
                groups.union(commit.sha, revert)

    components: dict[str, list[StoryCommit]] = {}
    for commit in pool:
        components.setdefault(groups.find(commit.sha), []).append(commit)
    stories: dict[str, Story] = {}
    for members in components.values():
        if len(members) < 2 or not any(c.sha in today_shas for c in members):
            continue
        roles = _roles(members, references, targets)
        lead = [c for c in members if c.sha in today_shas][-1]
        stories[lead.sha] = Story(
            lead=lead.sha,
            members=[(c.sha, roles[c.sha]) for c in members if c.sha in today_shas],
            earlier=[
                EarlierMember(c.sha, roles[c.sha], c.committed_at.astimezone(zone).date(), c.title)
                for c in members
                if c.sha not in today_shas
            ],
        )
    firsts = {sha: found[0] for sha, found in targets.items() if found and sha in today_shas}
    return stories, firsts


def _roles(
    members: list[StoryCommit], references: dict[str, Reference], targets: dict[str, list[StoryCommit]]
) -> dict[str, str]:
    roles: dict[str, str] = {}
    for commit in members:  # oldest first: what a commit names already has its role
        ref = references.get(commit.sha)
        if ref is None:
            reverted_before = any(roles.get(c.sha) == "revert" for c in members if c.committed_at < commit.committed_at)
            roles[commit.sha] = "redo" if reverted_before else "change"
        elif (
            ref.kind == "revert"
            and targets.get(commit.sha)
            and all(roles.get(t.sha) == "revert" for t in targets[commit.sha])
        ):
            roles[commit.sha] = "redo"  # a revert of a revert
        else:
            roles[commit.sha] = ref.kind
    return roles
