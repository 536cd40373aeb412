"""The Claude path against a fake Messages API over real HTTP: drops, fallbacks, cache, usage."""

from datetime import date

import pytest

from newsletter.build import build_report
from newsletter.models import Commit, CommitAnalysis, Report, ReportItem
from newsletter.render.markdown import render_markdown
from tests.fake_anthropic import PROVIDER_SECRET

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)


def build(force=False, language="zh"):
    return build_report(day=DAY, language=language, analyzer="anthropic", force=force)


def highlight(report, prefix):
    return ReportItem.objects.get(section__report=report, kind="highlight", commit__sha__startswith=prefix)


def test_map_then_reduce_with_structured_output_and_cached_system_prompts(collected, fake_anthropic):
    report = build()
    items = fake_anthropic.of_kind("commit_item")
    highlighted = ReportItem.objects.filter(section__report=report, kind="highlight")
    assert len(items) == highlighted.count() == 16
    assert {r.model for r in items} == {"claude-haiku-5-5"}
    assert len(fake_anthropic.of_kind("repository_synthesis")) == 3  # FlashInfer has an issue, no commits
    assert [r.model for r in fake_anthropic.of_kind("issue_synthesis")] == ["claude-sonnet-5-5"]
    for request in fake_anthropic.requests:
        assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert request.body["output_config"]["format"]["type"] == "json_schema"
        assert "sk-test" in (request.headers.get("x-api-key", "") + request.headers.get("authorization", ""))
    assert all(item.source == "anthropic" for item in highlighted)
    assert report.analyzer == "anthropic" and report.model_ids == {
        "item": "claude-haiku-5-5",
        "synthesis": "claude-sonnet-5-5",
    }
    assert report.llm_calls == 20 and report.input_tokens > 0 and report.output_tokens > 0
    assert report.cache_read_tokens > 0 and report.cache_write_tokens > 0 and report.cost_usd > 0
    sent = sum(r.usage["input_tokens"] for r in fake_anthropic.requests)
    assert report.input_tokens == sent


def test_a_rebuild_makes_no_new_per_commit_calls(collected, fake_anthropic):
    build()
    assert CommitAnalysis.objects.count() == 16
    fake_anthropic.reset()
    report = build(force=True)
    assert fake_anthropic.of_kind("commit_item") == []
    assert len(fake_anthropic.of_kind("issue_synthesis")) == 1
    assert all(i.source == "anthropic" for i in ReportItem.objects.filter(section__report=report, kind="highlight"))
    fake_anthropic.reset()
    build(force=True, language="en")  # another language is another prompt: new calls
    assert len(fake_anthropic.of_kind("commit_item")) == 16


def test_an_unknown_sha_drops_the_item_and_falls_back(collected, fake_anthropic):
    sha = Commit.objects.get(sha__startswith="c4e744d").sha
    fake_anthropic.plan(sha, "unknown_sha")
    report = build()
    item = highlight(report, "c4e744d")
    assert item.source == "fallback" and item.commit.sha == sha
    assert any("c4e744d: the model named an unknown commit" in w for w in report.warnings)
    assert not CommitAnalysis.objects.filter(sha=sha).exists()


def test_a_snippet_not_in_the_diff_is_dropped(collected, fake_anthropic):
    sha = Commit.objects.get(sha__startswith="3e44078").sha
    fake_anthropic.plan(sha, "bad_snippet")
    report = build()
    item = highlight(report, "3e44078")
    assert item.source == "anthropic" and item.code_snippet == ""
    assert any("3e44078: dropped a code snippet that is not verbatim" in w for w in report.warnings)
    assert "invented_call" not in render_markdown(report)


def test_invalid_json_is_retried_once(collected, fake_anthropic):
    sha = Commit.objects.get(sha__startswith="8b3f0a9").sha
    fake_anthropic.plan(sha, "invalid_json", "valid")
    report = build()
    assert len([r for r in fake_anthropic.of_kind("commit_item") if r.sha == sha]) == 2
    assert highlight(report, "8b3f0a9").source == "anthropic"
    assert not any("8b3f0a9" in w for w in report.warnings)


@pytest.mark.parametrize("behaviour", ["invalid_json", "wrong_shape"])
def test_a_second_schema_violation_falls_back_to_the_heuristic(collected, fake_anthropic, behaviour):
    sha = Commit.objects.get(sha__startswith="8b3f0a9").sha
    fake_anthropic.plan(sha, behaviour)
    report = build()
    assert len([r for r in fake_anthropic.of_kind("commit_item") if r.sha == sha]) == 2
    item = highlight(report, "8b3f0a9")
    assert item.source == "fallback" and item.category == "Model"
    assert "vllm-project/vllm 8b3f0a9: the model's answer broke the schema twice" in report.warnings[0]


def test_overloaded_then_success_is_retried_by_the_sdk(collected, fake_anthropic):
    sha = Commit.objects.get(sha__startswith="c4e744d").sha
    fake_anthropic.plan(sha, "overloaded", "valid")
    report = build()
    statuses = [r.status for r in fake_anthropic.of_kind("commit_item") if r.sha == sha]
    assert statuses == [529, 200]
    assert highlight(report, "c4e744d").source == "anthropic"
    assert all("c4e744d" not in w for w in report.warnings)


def test_a_persistent_500_falls_back_and_no_provider_text_leaks(collected, fake_anthropic, settings):
    sha = Commit.objects.get(sha__startswith="c4e744d").sha
    fake_anthropic.plan(sha, "server_error")
    fake_anthropic.plan("issue_synthesis", "server_error")
    report = build()
    statuses = [r.status for r in fake_anthropic.of_kind("commit_item") if r.sha == sha]
    assert statuses == [500] * (1 + settings.ANTHROPIC_MAX_RETRIES)
    assert highlight(report, "c4e744d").source == "fallback"
    assert any("c4e744d: the model service failed (HTTP 500) after retries" in w for w in report.warnings)
    assert any(w.startswith("summary: the model service failed (HTTP 500)") for w in report.warnings)
    assert report.summary.startswith("- **FlashInfer**")  # the heuristic summary took over
    fields = ReportItem.objects.filter(section__report=report).values_list("title", "details", "impact")
    everything = " ".join([render_markdown(report), report.summary, *report.warnings, *(" ".join(f) for f in fields)])
    assert PROVIDER_SECRET not in everything and "api_error" not in everything


def test_sentences_without_known_citations_are_dropped(collected, fake_anthropic):
    report = build()
    assert "A conclusion that cites nothing" not in report.conclusions
    assert "cites an unknown commit" not in report.conclusions
    assert report.warnings.count("conclusions: dropped a sentence that cites no known commit or issue") == 2
    lines = report.conclusions.splitlines() + report.summary.splitlines()
    assert lines and all("](https://github.com/" in line for line in lines)


def test_an_unknown_issue_number_is_dropped(collected, fake_anthropic):
    fake_anthropic.plan("repository_synthesis", "unknown_issue")
    report = build()
    issues = ReportItem.objects.filter(section__report=report, kind="issue")
    assert [i.issue.number for i in issues] == [2440]
    assert any("dropped a highlight of unknown issue #999999" in w for w in report.warnings)


def test_the_build_deadline_falls_back_instead_of_waiting(collected, fake_anthropic, settings):
    settings.ANTHROPIC_DEADLINE = 0
    report = build()
    assert all(i.source == "fallback" for i in ReportItem.objects.filter(section__report=report, kind="highlight"))
    assert any("did not answer before the build deadline" in w for w in report.warnings)
    assert Report.objects.count() == 1
