"""Markdown from the rows: the readers' structure, every commit once, verbatim code, no hostile markup."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from markdown_it import MarkdownIt

from newsletter.analysis.diffs import is_verbatim, language_for, patch_for
from newsletter.build import build_report
from newsletter.models import Commit, Issue, ItemSnippet, Report, ReportItem, Repository
from newsletter.render.html import export_html
from newsletter.render.markdown import render_markdown

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)
ZH_HEADINGS = ["往期回顾", "摘要", "具体内容分析", "Issues 看点", "总结"]
EN_HEADINGS = ["Past issues", "Summary", "Analysis", "Issue highlights", "Conclusions"]
HOSTILE_TITLE = "[Bugfix] <script>alert(1)</script> [click](javascript:alert(1)) | cell | <img src=x onerror=alert(2)>"
HOSTILE_BODY = "Crash <script>steal()</script> see [here](javascript:alert(3)) ![x](javascript:alert(4))"


def level2(markdown: str) -> list[str]:
    return re.findall(r"^## (.+)$", markdown, re.M)


def analysis_part(markdown: str, language: str = "zh") -> str:
    start, end = ("## 具体内容分析", "## Issues 看点") if language == "zh" else ("## Analysis", "## Issue highlights")
    return markdown[markdown.index(start) : markdown.index(end)]


@pytest.mark.parametrize(("language", "headings"), [("zh", ZH_HEADINGS), ("en", EN_HEADINGS)])
def test_headings_in_order(collected, language, headings):
    markdown = render_markdown(build_report(day=DAY, language=language, analyzer="heuristic"))
    assert level2(markdown) == headings
    assert markdown.startswith("# AI Infra Daily · 2026-01-29\n")
    assert re.findall(r"^### \d+\. (\w+)", markdown, re.M) == ["FlashInfer", "SGLang", "vLLM"]


def test_every_commit_of_the_day_appears_exactly_once(collected):
    markdown = render_markdown(build_report(day=DAY, language="zh", analyzer="heuristic"))
    part = analysis_part(markdown)
    for commit in Commit.objects.on_day(DAY):
        assert part.count(commit.html_url) == 1, commit.title
        assert f"[`{commit.short_sha}`]({commit.html_url})" in part
    other_days = Commit.objects.exclude(pk__in=Commit.objects.on_day(DAY))
    assert not any(commit.html_url in markdown for commit in other_days)


def test_every_snippet_is_verbatim_in_its_patch_with_the_right_language(collected):
    report = build_report(day=DAY, language="en", analyzer="heuristic")
    markdown = render_markdown(report)
    fences = [t for t in MarkdownIt("commonmark").parse(markdown) if t.type == "fence"]
    snippets = ItemSnippet.objects.filter(item__report=report).select_related("item__commit")
    by_fence = {f"{snippet.path}\n{snippet.code}\n": snippet.item for snippet in snippets}
    assert len(fences) == len(by_fence) >= 10
    for token in fences:
        first, _, code = token.content.partition("\n")
        path = first.split(" ", 1)[1]  # the first line is the path, as a comment of the language
        item = by_fence[f"{path}\n{code}"]
        assert token.info == language_for(path)
        assert is_verbatim(code, patch_for(item.commit.files, path)), path


def test_hostile_text_is_neutralized_everywhere(collected):
    commit = Commit.objects.on_day(DAY).get(sha__startswith="8bdd397")  # a CI commit: it lands in the table
    commit.title = HOSTILE_TITLE
    commit.save()
    Issue.objects.filter(number=2440).update(title="mxfp8 <b>nan</b> | x", body=HOSTILE_BODY)
    report = build_report(day=DAY, language="en", analyzer="heuristic")
    markdown = render_markdown(report)
    for bad in ("<script", "<img", "<b>", "](javascript:"):
        assert bad not in markdown, bad
    row = next(line for line in markdown.splitlines() if commit.short_sha in line and line.startswith("|"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five cells, still
    html = export_html(report)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert 'href="javascript' not in html.lower() and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_a_variant_holds_only_its_repositories(collected):
    report = build_report(day=DAY, language="zh", analyzer="heuristic")
    markdown = render_markdown(report, ["vllm-project/vllm"])
    assert "github.com/sgl-project" not in markdown and "github.com/flashinfer-ai" not in markdown
    assert "SGLang" not in markdown and "FlashInfer" not in markdown
    assert re.findall(r"^### \d+\. (\w+)", markdown, re.M) == ["vLLM"]
    summary = markdown[markdown.index("## 摘要") : markdown.index("## 具体内容分析")]
    # The summary is told by theme: the variant keeps the statements that cite only vLLM commits.
    assert summary.count("\n- ") >= 1 and "github.com/vllm-project/vllm/commit/" in summary
    conclusions = markdown[markdown.index("## 总结") :]
    numbers = re.findall(r"^(\d+)\. ", conclusions, re.M)
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]


def test_a_hidden_highlight_moves_its_commit_to_the_table(collected):
    report = build_report(day=DAY, language="en", analyzer="heuristic")
    item = ReportItem.objects.filter(section__report=report, kind=ReportItem.Kind.HIGHLIGHT).first()
    item.hidden = True
    item.save()
    part = analysis_part(render_markdown(report), "en")
    assert part.count(item.commit.html_url) == 1
    assert f"| [`{item.commit.short_sha}`]({item.commit.html_url}) |" in part


def test_past_issues_link_the_sent_ones(collected, settings):
    settings.SITE_URL = "https://daily.example.com"
    older = build_report(day=date(2026, 1, 28), language="zh", analyzer="heuristic")
    report = build_report(day=DAY, language="zh", analyzer="heuristic")
    assert "暂无往期记录" in render_markdown(report)
    Report.objects.filter(pk=older.pk).update(status=Report.Status.SENT)
    assert "- [2026-01-28](https://daily.example.com/reports/2026-01-28/)" in render_markdown(report)


def test_html_export_is_a_sanitized_document(collected):
    html = export_html(build_report(day=DAY, language="zh", analyzer="heuristic"), ["sgl-project/sglang"])
    assert html.startswith("<!doctype html>") and '<html lang="zh-CN">' in html
    assert "<h2>具体内容分析</h2>" in html and "<table>" in html and '<code class="language-python">' in html
    assert 'rel="noopener noreferrer"' in html


def test_a_change_its_revert_and_its_redo_are_told_once(collected):
    vllm = Repository.objects.get(name="vllm")
    base = datetime(2026, 1, 29, 2, tzinfo=UTC)
    patch = "@@ -1,1 +1,2 @@\n x = 1\n+enable_cross_layer_blocks = True"
    titles = [
        "[Core] Enable cross-layer KV blocks (#500)",
        'Revert "[Core] Enable cross-layer KV blocks (#500)" (#501)',
        "Reland [Core] Enable cross-layer KV blocks (#500) with a guard (#502)",
    ]
    story = []
    for offset, title in enumerate(titles):
        sha = f"{offset + 1:x}" * 40
        story.append(
            Commit.objects.create(
                repository=vllm,
                sha=sha,
                title=title,
                message=title,
                authored_at=base,
                pr_number=500 + offset,
                committed_at=base + timedelta(hours=offset),
                html_url=f"https://github.com/vllm-project/vllm/commit/{sha}",
                additions=1,
                files=[
                    {"path": "vllm/v1/core/kv.py", "status": "modified", "additions": 1, "deletions": 0, "patch": patch}
                ],
            )
        )
    markdown = render_markdown(build_report(day=DAY, language="en", analyzer="heuristic"))
    part = analysis_part(markdown, "en")
    for commit in story:
        assert part.count(commit.html_url) == 1
    # Told once, under the newest commit of the day: the reland, which brings the change back.
    assert "- **Same story**: original change [`1111111`]" in part and "revert [`2222222`]" in part
    assert "**[Core] Reland [Core] Enable cross-layer KV blocks" in part


def test_an_inbox_preview_or_meta_description_is_what_a_reader_sees():
    from newsletter.render.html import markdown_to_text

    markdown = "- **vLLM**: fix \\_x\\_ in &lt;b> ([`abc1234`](https://github.com/o/n/commit/abc))\n- next"
    assert markdown_to_text(markdown) == "vLLM: fix _x_ in <b> (abc1234) next"


def test_a_story_member_of_an_earlier_day_links_to_that_days_issue(collected):
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    item = ReportItem.objects.filter(report=report, kind="highlight", section__repository__name="vllm").first()
    earlier = Commit.objects.on_day(date(2026, 1, 28)).filter(repository__name="vllm").first()
    item.related = [{"sha": earlier.sha, "role": "change", "day": "2026-01-28", "earlier": True}]
    item.save()
    text = render_markdown(report)
    assert f"原始变更 [`{earlier.sha[:7]}`]({earlier.html_url})（见 [2026-01-28](http" in text
    assert "/reports/2026-01-28/) 期）" in text
    item.hidden = True
    item.save()
    # Hidden, the item's own commit moves to the day's table; the earlier day's commit does not.
    assert f"[`{earlier.sha[:7]}`]" not in render_markdown(report)


def test_a_day_without_commits_is_said_once(collected):
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    quiet = report.sections.get(repository__name="flashinfer")
    assert quiet.stats["commits"] == 0 and quiet.assessment
    body = analysis_part(render_markdown(report)).split("### 1. FlashInfer")[1].split("### 2.")[0]
    assert "没有" in quiet.assessment and "今日没有提交。" not in body
    quiet.assessment = ""
    quiet.save()
    body = analysis_part(render_markdown(report)).split("### 1. FlashInfer")[1].split("### 2.")[0]
    assert "今日没有提交。" in body
