"""Who receives which edition of a report: the repositories with something to tell, the variant a
subscriber gets, and the key a variant is stored under.

A variant is the report for one set of repositories, in one language and one format; every
subscriber of a variant gets the same email but for their own links. Dispatch, the daily run, the
admin's preview and test send all ask here, so "who gets what" is decided in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newsletter.models import Report, ReportItem

# A key is "language|format|owner/a,owner/b". dispatch.create_deliveries writes the same key in SQL
# from these separators, for 50,000 subscribers at once.
KEY_SEPARATOR = "|"
NAME_SEPARATOR = ","
FORMATS = ("html", "markdown")


@dataclass(frozen=True)
class Variant:
    repositories: tuple[str, ...]  # full names, sorted; only repositories with something to tell
    language: str
    format: str  # html or markdown

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}")
        if tuple(sorted(self.repositories)) != self.repositories or not self.repositories:
            raise ValueError("a variant's repositories are a non-empty sorted tuple")

    @property
    def key(self) -> str:
        return KEY_SEPARATOR.join([self.language, self.format, NAME_SEPARATOR.join(self.repositories)])

    @classmethod
    def from_key(cls, key: str) -> Variant:
        language, output, names = key.split(KEY_SEPARATOR, 2)
        return cls(tuple(names.split(NAME_SEPARATOR)), language, output)


def active_repositories(report: Report) -> list[str]:
    """Repositories of the report that have anything to tell (commits or notable issues), in its order."""
    names = []
    for section in report.sections.select_related("repository").prefetch_related("items"):
        stats = section.stats or {}
        has_issue = any(i.kind == ReportItem.Kind.ISSUE and not i.hidden for i in section.items.all())
        if stats.get("commits") or has_issue:
            names.append(section.repository.full_name)
    return names


def variant_for(active: Iterable[str], followed: Iterable[str], language: str, output: str) -> Variant | None:
    """The variant of a subscriber who follows `followed`, or None when nothing they follow moved."""
    followed = {name.lower() for name in followed}
    chosen = tuple(sorted(name for name in active if name.lower() in followed))
    return Variant(chosen, language, output) if chosen else None
