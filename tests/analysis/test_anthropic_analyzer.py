"""The Claude path against a fake Messages API over real HTTP: what a good, a lying and a broken
answer each become in the checked draft, selection within the floor and the cap, fixed-by from the
pull requests, themes, caching, fallbacks and usage."""

import json
import re
from datetime import date, timedelta

import pytest

from newsletter.analysis.anthropic import AnthropicAnalyzer
from newsletter.analysis.diffs import patch_lines
from newsletter.analysis.draft import PullRequest
from newsletter.build import build_report, check_draft
from newsletter.days import day_window
from newsletter.gather import day_input
from newsletter.models import Commit, CommitAnalysis, Issue, Report, ReportItem, Repository
from newsletter.render.markdown import render_markdown
from tests.fake_anthropic import PROVIDER_SECRET, Fault

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)
VLLM, SGLANG, FLASHINFER = "vllm-project/vllm", "sgl-project/sglang", "flashinfer-ai/flashinfer"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def build(force=False, language="zh", day=DAY):
    return build_report(day=day, language=language, analyzer="anthropic", force=force)


def analyze(language="zh", day=DAY, prepare=None):
    """The checked draft, as store_draft receives it."""
    data = day_input(day, language)
    if prepare:
        prepare(data)
    draft = AnthropicAnalyzer.from_settings().analyze(data)
    check_draft(draft, data)
    return data, draft


def section(draft, name):
    return next(s for s in draft.sections if s.repository.full_name == name)


def item(draft, prefix):
    return next(i for s in draft.sections for i in s.highlights if i.sha.startswith(prefix))


def full(prefix):
    return Commit.objects.get(sha__startswith=prefix).sha


def pick(fake, repository, *prefixes):
    """Script the selection of a repository: these commits, in this order."""
    fake.enqueue(
        "selection",
        {"highlights": [{"sha": full(p)[:12], "reason": f"选中 {p}"} for p in prefixes]},
        repository=repository,
    )


def added_line(request, path_part=""):
    """A line really added by the diff in the prompt (the kind a model would quote)."""
    for block in request.user.split("### ")[1:]:
        path = block.split("\n", 1)[0]
        if path_part in path:
            lines = [text for mark, text in patch_lines(block.split("\n", 2)[2]) if mark == "+" and len(text) > 20]
            if lines:
                return path, lines[0].strip()
    raise AssertionError("no added line in the prompt")


def answer_moe_commit(fake, fields):
    """Pick vLLM's c4e744d and script its answer: fields(path, line) given a line its diff really adds
    to the MoE kernel, so what the answer quotes is what the prompt showed. Returns the full sha."""
    sha = full("c4e744d")
    pick(fake, VLLM, "c4e744d")

    def answer(request):
        return {"sha": sha, **fields(*added_line(request, "moe_permute_unpermute_op.cu"))}

    fake.enqueue("commit_item", answer, sha=sha)
    return sha


# --- the whole path ---------------------------------------------------------------------------------
def test_select_map_reduce_with_structured_output_and_cached_prefixes(collected, fake_anthropic):
    report = build()
    kinds = [r.kind for r in fake_anthropic.requests]
    highlighted = ReportItem.objects.filter(section__report=report, kind="highlight")
    assert kinds.count("selection") == 2  # FlashInfer has no commit that day, only an issue
    assert {r.repository for r in fake_anthropic.of_kind("selection")} == {VLLM, SGLANG}
    assert kinds.count("commit_item") == highlighted.count() > 8
    assert kinds.count("repository_synthesis") == 3 and kinds.count("issue_synthesis") == 1
    models = {r.kind: r.model for r in fake_anthropic.requests}
    assert models == {
        "selection": "claude-sonnet-5-5",
        "commit_item": "claude-haiku-5-5",
        "repository_synthesis": "claude-sonnet-5-5",
        "issue_synthesis": "claude-sonnet-5-5",
    }
    for request in fake_anthropic.requests:
        assert request.body["output_config"]["format"]["type"] == "json_schema"
        assert request.body["output_config"]["format"]["schema"]["title"] == request.kind
        assert "sk-test" in (request.headers.get("x-api-key", "") + request.headers.get("authorization", ""))
        guide, task = request.body["system"]
        assert "cache_control" not in guide
        # Only a prefix that other calls of the kind will read is marked; the issue's call is alone.
        assert ("cache_control" in task) == (request.kind != "issue_synthesis")
    items = fake_anthropic.of_kind("commit_item")
    assert items[0].usage["cache_creation_input_tokens"] >= 4096 and items[0].usage["cache_read_input_tokens"] == 0
    assert all(r.usage["cache_read_input_tokens"] == items[0].usage["cache_creation_input_tokens"] for r in items[1:])
    assert all(i.source == "anthropic" for i in highlighted)
    assert report.analyzer == "anthropic" and report.model_ids == {
        "item": "claude-haiku-5-5",
        "synthesis": "claude-sonnet-5-5",
    }
    assert report.llm_calls == len(fake_anthropic.requests) and report.output_tokens > 0
    assert report.input_tokens == sum(r.usage["input_tokens"] for r in fake_anthropic.requests)
    assert report.cache_read_tokens > report.cache_write_tokens > 0 and 0 < report.cost_usd < 0.1


def test_the_stored_report_keeps_what_the_model_answered(collected, fake_anthropic):
    report = build()
    rows = ReportItem.objects.filter(report=report, kind="highlight").prefetch_related("snippets")
    assert rows and all(r.selection_reason and r.verdict in ("positive", "watch", "risk") for r in rows)
    assert all(r.verdict_reason and all(s.note for s in r.snippets.all()) for r in rows)
    assert sum(r.snippets.count() for r in rows) > len(rows) and any(r.topics for r in rows)
    assert report.statements.filter(kind="summary").exclude(lead="").exists()
    assert report.statements.filter(kind="conclusion").exists()


def test_a_rebuild_makes_no_new_per_commit_calls(collected, fake_anthropic):
    build()
    stored = CommitAnalysis.objects.count()
    assert stored == len(fake_anthropic.of_kind("commit_item"))
    fake_anthropic.reset()
    report = build(force=True)
    assert fake_anthropic.of_kind("commit_item") == []
    assert len(fake_anthropic.of_kind("issue_synthesis")) == 1
    assert all(i.source == "anthropic" for i in ReportItem.objects.filter(section__report=report, kind="highlight"))
    fake_anthropic.reset()
    build(force=True, language="en")  # another language is another prompt: new calls
    assert len(fake_anthropic.of_kind("commit_item")) == stored


# --- selection ---------------------------------------------------------------------------------------
def test_the_model_picks_within_the_floor_and_the_cap(collected, fake_anthropic, settings):
    settings.HIGHLIGHTS_PER_REPO = 4
    rules = next(r for r in day_input(DAY, "zh").repos if r.repository.full_name == VLLM).triage
    floor = rules.floor
    low = next(sha for sha in rules.ranked if sha not in rules.highlighted and sha not in floor)
    others = [sha for sha in rules.highlighted if sha not in floor][:5]
    answer = [
        {"sha": "f" * 12, "reason": "not a commit of the day"},
        {"sha": low[:12], "reason": "规则排得低，但读者需要"},
    ]
    answer += [{"sha": sha[:10], "reason": f"理由 {sha[:7]}"} for sha in others]
    fake_anthropic.enqueue("selection", {"highlights": answer}, repository=VLLM)
    data, draft = analyze()
    chosen = [i.sha for i in section(draft, VLLM).highlights]
    assert chosen == [*floor, low, *others][: max(4, len(floor))]
    assert item(draft, low[:12]).selection_reason == "规则排得低，但读者需要"
    assert any(
        w == f"{VLLM}: the model's selection named 1 commit(s) the day does not have; ignored" for w in draft.warnings
    )
    assert {r.sha for r in fake_anthropic.of_kind("commit_item") if r.repository == VLLM} == set(chosen)
    vllm = next(r for r in data.repos if r.repository.full_name == VLLM)
    told = chosen + [r["sha"] for i in section(draft, VLLM).highlights for r in i.related] + section(draft, VLLM).listed
    assert sorted(told) == sorted(c.sha for c in vllm.commits)  # every commit exactly once


def test_a_broken_or_empty_selection_falls_back_to_the_rules(collected, fake_anthropic):
    rules = {r.repository.full_name: list(r.triage.highlighted) for r in day_input(DAY, "zh").repos}
    fake_anthropic.enqueue("selection", '{"highlights": [', '{"highlights": [', repository=VLLM)
    fake_anthropic.enqueue("selection", {"highlights": [{"sha": "0" * 12, "reason": "?"}]}, repository=SGLANG)
    _, draft = analyze()
    assert [i.sha for i in section(draft, VLLM).highlights] == rules[VLLM]
    assert [i.sha for i in section(draft, SGLANG).highlights] == rules[SGLANG]
    assert f"{VLLM}: selection: the model's answer broke the schema twice; the rules' pick is used" in draft.warnings
    assert f"{SGLANG}: the model's selection named no commit of the day; the rules' pick is used" in draft.warnings
    assert item(draft, rules[VLLM][0]).selection_reason.startswith(("规则排序入选：", "保底入选："))


def test_three_commits_or_fewer_need_no_selection(collected, fake_anthropic):
    _, draft = analyze(day=date(2026, 1, 28))
    assert FLASHINFER not in {r.repository for r in fake_anthropic.of_kind("selection")}
    highlights = section(draft, FLASHINFER).highlights
    assert len(highlights) == 3 and {i.selection_reason for i in highlights} == {"当天仅 3 个提交，全部分析"}


# --- one commit: good, lying and broken answers ------------------------------------------------------
def test_a_good_answer_becomes_the_item(collected, fake_anthropic):
    def fields(path, line):
        return {
            "headline": "CUTLASS FP8 MoE：`moe_permute` 按专家对齐的偏移改写",
            "category": "Perf",
            "details": "`moe_permute` 现在直接读取对齐后的专家起始偏移，不再在内核里重复计算。"
            "改动只涉及 CUTLASS FP8 路径。",
            "snippets": [{"path": path, "language": "cuda", "code": line, "note": "新的偏移来自对齐后的专家表"}],
            "impact": "使用 CUTLASS FP8 MoE 的部署受影响；接口不变，升级后建议重跑 MoE 基准。",
            "verdict": "watch",
            "verdict_reason": "PR 没有给出测量条件，需要在自己的负载上验证。",
            "breaking": False,
            "breaking_surface": "",
            "topics": ["kernel", "quantization", "kernel"],
            "risk": "medium",
        }

    sha = answer_moe_commit(fake_anthropic, fields)
    _, draft = analyze()
    request = next(r for r in fake_anthropic.of_kind("commit_item") if r.sha == sha)
    assert request.language == "zh" and "写作规范" in request.system
    good = item(draft, "c4e744d")
    path, line = added_line(request, "moe_permute_unpermute_op.cu")
    assert good.source == "anthropic" and good.category == "Perf" and good.risk == "medium"
    assert good.title == "CUTLASS FP8 MoE：`moe_permute` 按专家对齐的偏移改写"
    assert good.details.startswith("`moe_permute` 现在直接读取") and good.details.endswith("CUTLASS FP8 路径。")
    assert [(s.path, s.language, s.code, s.note) for s in good.snippets] == [
        (path, "cuda", line, "新的偏移来自对齐后的专家表")
    ]
    assert good.verdict == "watch" and good.verdict_reason.startswith("PR 没有给出")
    assert good.topics == ["kernel", "quantization"] and not good.breaking and good.breaking_surface == ""
    assert good.selection_reason == "选中 c4e744d"
    assert not [w for w in draft.warnings if sha[:7] in w] and not draft.dropped


def test_a_lying_answer_loses_what_the_sources_do_not_support(collected, fake_anthropic):
    def fields(path, line):
        return {
            "headline": "`permute_everything_v9` 重写",  # a name the commit does not have
            "category": "Perf",
            "details": "改动集中在 MoE 的 permute 路径。它新增了 `invented_helper_fn` 来缓存偏移。吞吐提升了 87.5%。",
            "snippets": [
                {"path": path, "language": "cuda", "code": line, "note": "真实的一行"},
                {"path": path, "language": "cuda", "code": "fake_kernel<<<1, 1>>>();", "note": "编造的一行"},
            ],
            "impact": "使用 FP8 MoE 的部署受影响。延迟降低 4.25 ms。",
            "verdict": "risk",
            "verdict_reason": "接口变化。",
            "breaking": True,
            "breaking_surface": "`--totally-made-up-flag` 被删除",
            "topics": ["kernel"],
            "risk": "high",
        }

    sha = answer_moe_commit(fake_anthropic, fields)
    _, draft = analyze()
    lied = item(draft, "c4e744d")
    commit = Commit.objects.get(sha=sha)
    assert lied.title == "Optimize `moe_permute` for CUTLASS FP8"  # the commit's own title instead
    assert lied.details == "改动集中在 MoE 的 permute 路径。"
    assert lied.impact == "使用 FP8 MoE 的部署受影响。"
    assert [s.note for s in lied.snippets] == ["真实的一行"]
    assert not lied.breaking and lied.breaking_surface == ""
    assert draft.dropped == {"headline": 1, "identifier": 1, "number": 2}
    warnings = [w for w in draft.warnings if sha[:7] in w]
    assert (
        f"{VLLM} {sha[:7]}: the model called the commit breaking without naming a surface the commit changes; "
        "it is not marked breaking"
    ) in warnings
    assert f"{sha[:7]}: dropped a code snippet that is not verbatim in its diff" in warnings
    assert commit.title.startswith("[Perf]")


def test_a_breaking_claim_on_a_name_the_commit_has_is_left_to_the_model(collected, fake_anthropic):
    sha = full("c4e744d")
    pick(fake_anthropic, VLLM, "c4e744d")
    base = {
        "sha": sha, "headline": "MoE permute", "category": "Perf", "details": "细节。", "snippets": [],
        "impact": "影响。", "verdict": "risk", "verdict_reason": "理由。", "topics": [], "risk": "high",
    }  # fmt: skip
    fake_anthropic.enqueue(
        "commit_item", {**base, "breaking": True, "breaking_surface": "`moe_permute` 的参数变了"}, sha=sha
    )
    _, draft = analyze()
    claimed = item(draft, "c4e744d")
    assert claimed.breaking and claimed.breaking_surface == "`moe_permute` 的参数变了"


def test_an_unknown_sha_drops_the_item_and_falls_back(collected, fake_anthropic):
    sha = full("c4e744d")
    pick(fake_anthropic, VLLM, "c4e744d")
    fake_anthropic.plan(sha, "unknown_sha")
    report = build()
    row = ReportItem.objects.get(section__report=report, kind="highlight", commit__sha=sha)
    assert row.source == "fallback"
    assert any("c4e744d: the model named an unknown commit" in w for w in report.warnings)
    assert not CommitAnalysis.objects.filter(sha=sha).exists()


def test_invalid_json_is_retried_once(collected, fake_anthropic):
    sha = full("8b3f0a9")
    pick(fake_anthropic, VLLM, "8b3f0a9")
    fake_anthropic.enqueue("commit_item", '{"sha": "8b3f0a9", "headline": ', sha=sha)
    _, draft = analyze()
    assert len([r for r in fake_anthropic.of_kind("commit_item") if r.sha == sha]) == 2
    assert item(draft, "8b3f0a9").source == "anthropic"
    assert not any("8b3f0a9" in w for w in draft.warnings)


@pytest.mark.parametrize("answer", ["{not json", {"headline": "no such shape"}, {"highlights": []}])
def test_a_second_schema_violation_falls_back_to_the_heuristic(collected, fake_anthropic, answer):
    sha = full("8b3f0a9")
    pick(fake_anthropic, VLLM, "8b3f0a9")
    fake_anthropic.enqueue("commit_item", answer, answer, sha=sha)
    _, draft = analyze()
    assert len([r for r in fake_anthropic.of_kind("commit_item") if r.sha == sha]) == 2
    fallback = item(draft, "8b3f0a9")
    assert fallback.source == "fallback" and fallback.category == "Model"
    assert (
        f"{VLLM} 8b3f0a9: the model's answer broke the schema twice; the heuristic analysis is used" in draft.warnings
    )


def test_overloaded_then_success_is_retried_by_the_sdk(collected, fake_anthropic):
    sha = full("c4e744d")
    pick(fake_anthropic, VLLM, "c4e744d")
    fake_anthropic.enqueue("commit_item", Fault(529), sha=sha)
    _, draft = analyze()
    assert [r.status for r in fake_anthropic.of_kind("commit_item") if r.sha == sha] == [529, 200]
    assert item(draft, "c4e744d").source == "anthropic"
    assert all("c4e744d" not in w for w in draft.warnings)


def test_a_persistent_500_falls_back_and_no_provider_text_leaks(collected, fake_anthropic, settings):
    sha = full("c4e744d")
    pick(fake_anthropic, VLLM, "c4e744d")
    fake_anthropic.plan(sha, "server_error")
    fake_anthropic.plan("issue_synthesis", "server_error")
    report = build()
    statuses = [r.status for r in fake_anthropic.of_kind("commit_item") if r.sha == sha]
    assert statuses == [500] * (1 + settings.ANTHROPIC_MAX_RETRIES)
    assert ReportItem.objects.get(section__report=report, kind="highlight", commit__sha=sha).source == "fallback"
    assert any("c4e744d: the model service failed (HTTP 500) after retries" in w for w in report.warnings)
    assert any(w.startswith("summary: the model service failed (HTTP 500)") for w in report.warnings)
    fields = ReportItem.objects.filter(section__report=report).values_list("title", "details", "impact")
    everything = " ".join([render_markdown(report), *report.warnings, *(" ".join(f) for f in fields)])
    assert PROVIDER_SECRET not in everything and "api_error" not in everything


def test_default_answers_are_in_the_prompt_s_language(collected, fake_anthropic):
    _, zh = analyze("zh")
    fake_anthropic.reset()
    _, en = analyze("en")
    for draft, chinese in ((zh, True), (en, False)):
        items = [i for s in draft.sections for i in s.highlights]
        assert items and all(i.source == "anthropic" for i in items)
        assert all(bool(_CJK.search(i.details + i.impact)) == chinese for i in items)
        assert all(s.assessment and bool(_CJK.search(s.assessment)) == chinese for s in draft.sections)
        assert draft.summary and all(bool(_CJK.search(s.text)) == chinese for s in draft.summary)
        assert not draft.dropped  # the fake names only what the prompt has


# --- syntheses --------------------------------------------------------------------------------------
def test_fixed_by_comes_from_the_pull_request_links_never_from_the_model(collected, fake_anthropic):
    since, _ = day_window(DAY)
    vllm = Repository.objects.get(owner="vllm-project", name="vllm")
    for number, title in ((990001, "Crash with FP8 MoE"), (990002, "Slow start")):
        Issue.objects.create(
            repository=vllm,
            number=number,
            title=title,
            body="It crashes on start.",
            state="open",
            labels=["bug"],
            created_at=since + timedelta(hours=2),
            updated_at=since + timedelta(hours=2),
            html_url=f"https://github.com/{VLLM}/issues/{number}",
        )
    fixer = Commit.objects.get(sha__startswith="c4e744d")

    def link(data):
        repo = next(r for r in data.repos if r.repository.full_name == VLLM)
        repo.pull_requests[fixer.pr_number] = PullRequest(
            fixer.pr_number, fixer.title, "Fixes #990001", (), (990001,), f"https://github.com/{VLLM}/pull/1"
        )

    fake_anthropic.enqueue(
        "repository_synthesis",
        {
            "assessment": "这一天以 MoE 和调度为主。",
            "issue_highlights": [
                {"number": 990002, "why": "启动变慢影响所有部署。"},
                {"number": 990001, "why": "FP8 MoE 崩溃。"},
            ],
        },
        repository=VLLM,
    )
    _, draft = analyze(prepare=link)
    prompt = fake_anthropic.of_kind("repository_synthesis")
    vllm_prompt = next(r for r in prompt if r.repository == VLLM).user
    assert f"fixed by today's commit {fixer.sha[:12]}" in vllm_prompt
    picks = {p.number: p for p in section(draft, VLLM).issues}
    assert picks[990001].fixed_by == fixer.sha and picks[990002].fixed_by == ""
    assert [p.number for p in section(draft, VLLM).issues] == [990002, 990001]


def test_the_summary_is_told_by_theme_and_every_statement_cites(collected, fake_anthropic):
    pick(fake_anthropic, VLLM, "c4e744d", "8b3f0a9")
    pick(fake_anthropic, SGLANG, "3c9cc44")
    vllm_sha, sglang_sha, asr = full("c4e744d"), full("3c9cc44"), full("8b3f0a9")
    fake_anthropic.enqueue(
        "issue_synthesis",
        {
            "summary": [
                {"lead": "FP8 与 MoE", "text": "两个项目都在改 FP8 的 MoE 路径。", "cites": [vllm_sha, sglang_sha]},
                {"lead": "`made_up_theme`", "text": "新的语音模型。", "cites": [asr[:9]]},
                {"lead": "无引用", "text": "这一句没有引用。", "cites": []},
            ],
            "conclusions": [
                {
                    "lead": "",
                    "text": "升级前重跑 MoE 基准。",
                    "cites": [vllm_sha[:10], "flashinfer-ai/flashinfer#2440"],
                },
                {"lead": "FlashInfer", "text": "跟进量化的 NaN 问题。", "cites": ["flashinfer-ai/flashinfer#99"]},
            ],
        },
    )
    _, draft = analyze()
    assert [(s.lead, s.text, s.cites) for s in draft.summary] == [
        ("FP8 与 MoE", "两个项目都在改 FP8 的 MoE 路径。", [vllm_sha, sglang_sha]),
        ("", "新的语音模型。", [asr]),  # a lead naming what the sources lack is dropped, the sentence kept
    ]
    assert [(s.text, s.cites) for s in draft.conclusions] == [
        ("升级前重跑 MoE 基准。", [vllm_sha, "flashinfer-ai/flashinfer#2440"])
    ]
    assert draft.warnings.count("summary: dropped a sentence that cites no known commit or issue") == 1
    assert draft.warnings.count("conclusions: dropped a sentence that cites no known commit or issue") == 1
    whole = fake_anthropic.of_kind("issue_synthesis")[0].user
    assert "topics: kernel" in whole and "## vLLM (vllm-project/vllm)" in whole


def test_an_unknown_issue_number_is_dropped(collected, fake_anthropic):
    fake_anthropic.plan("repository_synthesis", "unknown_issue")
    _, draft = analyze()
    assert [i.number for i in section(draft, FLASHINFER).issues] == [2440]
    assert any("dropped a highlight of unknown issue #999999" in w for w in draft.warnings)


def test_the_build_deadline_falls_back_instead_of_waiting(collected, fake_anthropic, settings):
    settings.ANTHROPIC_DEADLINE = 0
    report = build()
    assert all(i.source == "fallback" for i in ReportItem.objects.filter(section__report=report, kind="highlight"))
    assert any("did not answer before the build deadline" in w for w in report.warnings)
    assert Report.objects.count() == 1


# --- caching ----------------------------------------------------------------------------------------
def test_no_marker_where_the_prefix_cannot_reach_the_minimum(collected, fake_anthropic, monkeypatch):
    monkeypatch.setattr("newsletter.analysis.anthropic.cache_minimum", lambda model: 10**6)
    analyze()
    assert fake_anthropic.requests
    assert not any("cache_control" in json.dumps(r.body["system"]) for r in fake_anthropic.requests)
    assert not any(
        r.usage["cache_read_input_tokens"] or r.usage["cache_creation_input_tokens"] for r in fake_anthropic.requests
    )


def test_the_fake_caches_nothing_below_its_minimum_whatever_the_markers(collected, fake_anthropic):
    fake_anthropic.cache_minimums = {"haiku": 10**6, "sonnet": 10**6, "opus": 10**6}
    analyze()
    marked = [r for r in fake_anthropic.requests if "cache_control" in json.dumps(r.body["system"])]
    assert len(marked) > 10
    assert not any(r.usage["cache_read_input_tokens"] or r.usage["cache_creation_input_tokens"] for r in marked)
