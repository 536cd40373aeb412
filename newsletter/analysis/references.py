"""What a commit message or pull request says about other changes: reverts, redos, fixed issues.

Pure functions over text. A squash-merged title ends in its own "(#N)", which is never a
reference to another change: it is stripped before anything is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OWN_SUFFIX = re.compile(r"\s*\(#\d+\)\s*$")
_TAGS = re.compile(r"^\s*\[([^\]]{1,40})\]\s*:?\s*")
# A reference to a change of the same repository: #N, OWNER/NAME#N, or the URL of its pull (merge)
# request or issue on whichever host it is (github.com/O/N/pull/N, a GitLab's O/N/-/merge_requests/N).
_URL = r"https?://[\w.-]+(?::\d+)?/(?P<url>[\w.-]+/[\w.-]+)/(?:-/)?(?:pull|issues|merge_requests)/"
_NUMBER = rf"(?:{_URL}|(?P<repo>[\w.-]+/[\w.-]+)?#)(?P<n>\d+)"
_REVERT_VERB = r"revert(?:s|ed|ing)?"
_REDO_VERB = r"(?:reapply|reapplies|re-apply|reland(?:s|ed)?|re-land(?:s|ed)?|redo(?:es)?|re-do|restore[sd]?)"
_VERB_REF = re.compile(
    rf"\b(?P<verb>{_REVERT_VERB}|{_REDO_VERB})\b(?:\s+(?:of|pr|pull request|change|commit))?\s*:?\s*{_NUMBER}", re.I
)
_QUOTED = re.compile(rf'^(?P<verb>{_REVERT_VERB}|{_REDO_VERB})\s+"(?P<title>.+)"\s*$', re.I)
_LEADING_VERB = re.compile(rf"^(?P<verb>{_REVERT_VERB}|{_REDO_VERB})\b[\s:]*(?P<rest>.*)$", re.I)
_REVERTS_SHA = re.compile(r"\bthis reverts commit ([0-9a-f]{7,40})", re.I)
_FIXES = re.compile(rf"\b(?:fix(?:es|ed)?|close[sd]?|resolve[sd]?)\b\s*:?\s+{_NUMBER}", re.I)
_REVERT_TAGS = {"revert", "reverted"}
_REDO_TAGS = {"redo", "reland", "reapply", "re-land", "re-apply", "restore"}


def strip_own_number(title: str) -> str:
    return _OWN_SUFFIX.sub("", title).strip()


def _same_repository(match: re.Match, repository: str) -> bool:
    other = match.group("url") or match.group("repo")
    return not other or not repository or other.lower() == repository.lower()


def linked_issues(text: str, repository: str = "") -> tuple[int, ...]:
    """Issues a text says it fixes: "Fixes #N", "Closes OWNER/NAME#N", "Resolves <issue URL>", ...

    Only references to `repository` (OWNER/NAME) count when one is given; in order, without repeats.
    """
    found: list[int] = []
    for match in _FIXES.finditer(text or ""):
        number = int(match.group("n"))
        if _same_repository(match, repository) and number not in found:
            found.append(number)
    return tuple(found)


@dataclass(frozen=True)
class Reference:
    """A commit that undoes (revert) or brings back (redo) other changes, and how it names them."""

    kind: str  # "revert" or "redo"
    prs: tuple[int, ...] = ()  # pull request numbers it names, never its own
    titles: tuple[str, ...] = ()  # titles it quotes, without their "(#N)"
    shas: tuple[str, ...] = ()  # SHA prefixes from "This reverts commit <sha>"


def reference_of(
    title: str, message: str = "", *, own_pr: int | None = None, own_sha: str = "", repository: str = ""
) -> Reference | None:
    """Whether a commit is a revert or a redo, and of what; None for any other commit.

    Recognized: `Revert "<title>"`, `Revert "Revert "<title>""` (a redo), `Reapply "<title>"`,
    `[Revert]`/`[Redo]` tags, `Revert #N`, `Reland #N`, `Reverts OWNER/NAME#N`, pull request
    URLs, and git's `This reverts commit <sha>`. A commit never refers to itself.
    """
    text = strip_own_number(title)
    tags: list[str] = []
    while match := _TAGS.match(text):
        tags.extend(t.strip().lower() for t in re.split(r"\]\s*\[", match.group(1)))
        text = text[match.end() :]
    kind = ""
    titles: list[str] = []
    quoted = _QUOTED.match(text)
    if quoted:
        inner = quoted.group("title")
        kind = "redo" if _is_redo_verb(quoted.group("verb")) else "revert"
        again = _QUOTED.match(strip_own_number(inner))
        if kind == "revert" and again and not _is_redo_verb(again.group("verb")):
            kind = "redo"  # reverting a revert brings the change back
            titles.append(strip_own_number(again.group("title")))
        titles.append(strip_own_number(inner))
    elif _REVERT_TAGS & set(tags):
        kind = "revert"
    elif _REDO_TAGS & set(tags):
        kind = "redo"
    elif leading := _LEADING_VERB.match(text):
        verb, rest = leading.group("verb").lower(), leading.group("rest").strip()
        numbered = re.match(rf"^(?:pr\s*)?{_NUMBER}", rest, re.I)
        # "Restore the old default" restores behaviour, not a change: it needs a number to count.
        if numbered or not verb.startswith("restore"):
            kind = "redo" if _is_redo_verb(verb) else "revert"
            if not numbered and rest:
                titles.append(strip_own_number(rest))
    shas = [s for s in _REVERTS_SHA.findall(message or "") if not (own_sha and own_sha.startswith(s))]
    if not kind and shas:
        kind = "revert"
    prs: list[int] = []
    sources = [text] if kind else []
    for match in _VERB_REF.finditer(message or ""):
        # A body that says "Reverts OWNER/NAME#N" makes a revert even under a neutral title.
        kind = kind or ("redo" if _is_redo_verb(match.group("verb")) else "revert")
        sources.append(match.group(0))
    if not kind:
        return None
    for source in sources:
        for match in re.finditer(_NUMBER, source):
            number = int(match.group("n"))
            if number != own_pr and number not in prs and _same_repository(match, repository):
                prs.append(number)
    return Reference(kind, tuple(prs), tuple(t for t in titles if t), tuple(dict.fromkeys(shas)))


def _is_redo_verb(verb: str) -> bool:
    return bool(re.fullmatch(_REDO_VERB, verb, re.I))
