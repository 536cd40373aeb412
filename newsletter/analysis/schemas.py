"""The shapes the model must answer in (JSON schema for structured output) and their validation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from newsletter.analysis.triage import CATEGORIES

Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeDetail(Strict):
    path: str = Field(description="The file the lines come from, exactly as listed in the manifest.")
    language: str = Field(description="Fence language for the file, e.g. python, cpp, cuda, rust.")
    snippet: str = Field(description="At most 15 lines copied verbatim from that file's diff, without +/- signs.")


class CommitItem(Strict):
    sha: str = Field(description="The full SHA of the commit being analyzed.")
    category: Category  # type: ignore[valid-type]
    title: str = Field(description="A short headline for engineers, in the requested language.")
    details: str = Field(description="What changed and how, 1-3 sentences.")
    code: CodeDetail | None = Field(description="The most telling lines of the diff, or null.")
    impact: str = Field(description="Who is affected and how: breaking change? regression risk? 1-2 sentences.")
    risk: Literal["low", "medium", "high"]
    breaking: bool


class Cited(Strict):
    text: str = Field(description="One sentence in the requested language, without links.")
    cites: list[str] = Field(description="Full SHAs or OWNER/NAME#NUMBER of the items this sentence is about.")


class IssuePick(Strict):
    number: int
    why: str = Field(description="Why an inference engineer should care, one sentence.")


class RepositorySynthesis(Strict):
    assessment: str = Field(description="评估: the day of this repository in 1-3 sentences.")
    issue_highlights: list[IssuePick] = Field(description="At most 5 of the listed new issues that matter.")


class IssueSynthesis(Strict):
    summary: list[Cited] = Field(description="摘要: one or two sentences per repository with activity.")
    conclusions: list[Cited] = Field(description="总结: 3-6 numbered conclusions across repositories.")


def output_schema(model: type[BaseModel], title: str) -> dict:
    """The JSON schema sent as output_config.format: every property required, nothing extra."""
    schema = model.model_json_schema()
    schema["title"] = title

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
