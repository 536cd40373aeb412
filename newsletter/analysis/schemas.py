"""The shapes the model must answer in (JSON schema for structured output) and their validation.

Descriptions are part of the schema the model reads, so they say what a field is for in a few
words; the rules behind them are in the style guide of the prompts. Counts the API's structured
output cannot enforce (at most 3 snippets, at most 5 issues) are trimmed by code, not rejected:
a fourth snippet is not worth a second call.
"""

from __future__ import annotations

from typing import Literal

import anthropic
from pydantic import BaseModel, ConfigDict, Field

from newsletter.analysis.draft import TOPICS, VERDICTS
from newsletter.analysis.triage import CATEGORIES

Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
Topic = Literal[TOPICS]  # type: ignore[valid-type]
Verdict = Literal[VERDICTS]  # type: ignore[valid-type]

# The "kind" of each call: the schema's title, the key of recorded exchanges and of the fake's queue.
SELECTION = "selection"
COMMIT_ITEM = "commit_item"
REPOSITORY_SYNTHESIS = "repository_synthesis"
ISSUE_SYNTHESIS = "issue_synthesis"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- selection ----------------------------------------------------------------------------------
class Pick(Strict):
    sha: str = Field(description="The commit's SHA as listed (12 hex characters).")
    reason: str = Field(description="Why a reader needs this commit today, one short line.")


class Selection(Strict):
    highlights: list[Pick] = Field(description="The commits to analyze in depth, most important first.")


# --- one commit -----------------------------------------------------------------------------------
class NotedSnippet(Strict):
    path: str = Field(description="The file, exactly as in the manifest.")
    language: str = Field(description="Fence language: python, cpp, cuda, rust, ...")
    code: str = Field(description="At most 15 lines copied verbatim from that file's diff, without +/-.")
    note: str = Field(description="One line: what these lines show.")


class CommitItem(Strict):
    sha: str = Field(description="The full SHA of the commit, as given.")
    headline: str = Field(description="The headline, in the report's language.")
    category: Category  # type: ignore[valid-type]
    details: str = Field(description="变更详情: the mechanism of the change, 2-4 sentences.")
    snippets: list[NotedSnippet] = Field(description="1-3 verbatim excerpts of the diff, each with a note.")
    impact: str = Field(description="影响: who is affected, on which hardware or models, what to do on upgrade.")
    verdict: Verdict  # type: ignore[valid-type]
    verdict_reason: str = Field(description="评估: why this verdict, one sentence.")
    breaking: bool = Field(description="True only when a public surface changed incompatibly.")
    breaking_surface: str = Field(
        description="The public surface that changed, with its `name`; empty if not breaking."
    )
    topics: list[Topic] = Field(description="The topics the change belongs to.")  # type: ignore[valid-type]
    risk: Literal["low", "medium", "high"]


# --- one repository -------------------------------------------------------------------------------
class IssuePick(Strict):
    number: int
    why: str = Field(description="Why an inference engineer should care, one sentence.")


class RepositorySynthesis(Strict):
    assessment: str = Field(description="评估: the repository's day in 1-3 sentences.")
    issue_highlights: list[IssuePick] = Field(description="At most 5 of the listed new issues that matter.")


# --- the whole issue ------------------------------------------------------------------------------
class Theme(Strict):
    lead: str = Field(description="The theme in a few words (hardware, model family, kernel, ...).")
    text: str = Field(description="One or two sentences, in the report's language, without links.")
    cites: list[str] = Field(description="Full SHAs or OWNER/NAME#NUMBER of the items it is about.")


class Conclusion(Strict):
    lead: str = Field(description="A few words in bold before the sentence, or empty.")
    text: str = Field(description="What a reader should do or watch, in the report's language.")
    cites: list[str] = Field(description="Full SHAs or OWNER/NAME#NUMBER of the items it is about.")


class IssueSynthesis(Strict):
    summary: list[Theme] = Field(description="摘要: 2-5 themes across repositories.")
    conclusions: list[Conclusion] = Field(description="总结: 2-5 things to do or watch.")


SHAPES = {
    SELECTION: Selection,
    COMMIT_ITEM: CommitItem,
    REPOSITORY_SYNTHESIS: RepositorySynthesis,
    ISSUE_SYNTHESIS: IssueSynthesis,
}


def output_schema(kind: str) -> dict:
    """The JSON schema sent as output_config.format, in the form the API accepts: every property
    required, nothing extra, unsupported constraints moved into descriptions (anthropic's own
    transform_schema)."""
    schema = anthropic.transform_schema(SHAPES[kind].model_json_schema())
    schema["title"] = kind

    def tighten(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            for value in node.values():
                tighten(value)
        elif isinstance(node, list):
            for value in node:
                tighten(value)

    tighten(schema)
    return schema
