"""Citations as data: statements cite Commit and Issue rows, links are built when rendering, variants
filter by what is cited; items carry several noted snippets, a verdict, a breaking surface, topics;
issues say which commit fixes them; the migration moves the old text fields into rows."""

import re
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from newsletter.analysis.diffs import Snippet
from newsletter.analysis.draft import TOPICS, VERDICTS
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.build import build_report
from newsletter.gather import day_input
from newsletter.models import Commit, Issue, ItemSnippet, Report, ReportItem, ReportStatement
from newsletter.render.markdown import render_markdown
from newsletter.store import store_draft

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)


def commit(prefix: str) -> Commit:
    return Commit.objects.get(sha__startswith=prefix)


def part(markdown: str, start: str, end: str | None = None) -> str:
    return markdown[markdown.index(start) : markdown.index(end) if end else None]


def empty_report(language: str) -> Report:
    """The day's report with no statements of its own: each test writes the ones it needs."""
    report = build_report(day=DAY, language=language, analyzer="heuristic")
    report.statements.all().delete()
    return report


def state(report: Report, kind: str, text: str, *cited, lead: str = "", order: int = 0) -> ReportStatement:
    statement = ReportStatement.objects.create(report=report, kind=kind, text=text, lead=lead, order=order)
    statement.commits.set([c for c in cited if isinstance(c, Commit)])
    statement.issues.set([i for i in cited if isinstance(i, Issue)])
    return statement


def highlight(report: Report, prefix: str) -> ReportItem:
    return ReportItem.objects.get(report=report, kind=ReportItem.Kind.HIGHLIGHT, commit__sha__startswith=prefix)


def test_the_vocabularies_are_the_analyzers():
    assert tuple(ReportItem.Verdict.values) == VERDICTS
    assert tuple(ReportItem.Topic.values) == TOPICS


def test_statements_are_stored_as_rows_with_the_rows_they_cite(collected):
    report = build_report(day=DAY, language="zh", analyzer="heuristic")
    statements = list(report.statements.prefetch_related("commits", "issues"))
    assert {s.kind for s in statements} == {"summary", "conclusion"}
    # The summary is told by theme (one lead per theme), the conclusions by what to do.
    leads = [s.lead for s in statements]
    assert leads and all(leads) and len(set(leads)) == len(leads)
    markdown = render_markdown(report)
    for statement in statements:
        assert statement.commits.all() or statement.issues.all()
        assert "](" not in statement.text and "**" not in statement.text + statement.lead and not statement.legacy
        line = next(line for line in markdown.splitlines() if f"**{statement.lead}**" in line)
        links = re.findall(r"\]\((https://[^)]+)\)", line)
        assert sorted(links) == sorted([c.html_url for c in statement.commits.all()] + [
            i.html_url for i in statement.issues.all()
        ])  # fmt: skip
    # The first version of each is history too, with what it cited.
    for statement in statements:
        first = statement.history.earliest()
        assert first.history_type == "+" and statement.history.count() == 1
        assert {r.commit_id for r in first.commits.all()} == {c.pk for c in statement.commits.all()}
        assert {r.issue_id for r in first.issues.all()} == {i.pk for i in statement.issues.all()}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh", "- **Blackwell 支持**：两项改动补全了 SM120（[`{c}`]({cu})、[#2440]({iu})）。"),
        ("en", "- **Blackwell support**: two changes complete SM120 ([`{c}`]({cu}), [#2440]({iu}))."),
    ],
)
def test_a_statement_with_a_lead_and_citations(collected, language, expected):
    report = empty_report(language)
    lead, text = ("Blackwell 支持", "两项改动补全了 SM120。") if language == "zh" else (
        "Blackwell support", "two changes complete SM120."
    )  # fmt: skip
    cited_commit, cited_issue = commit("c4e744d"), Issue.objects.get(number=2440)
    state(report, "summary", text, cited_commit, cited_issue, lead=lead)
    summary = part(render_markdown(report), "## ", "---\n\n## " + ("具体内容分析" if language == "zh" else "Analysis"))
    assert expected.format(c=cited_commit.short_sha, cu=cited_commit.html_url, iu=cited_issue.html_url) in summary


def test_a_variant_keeps_a_statement_only_when_all_it_cites_is_its_own(collected):
    report = empty_report("en")
    vllm, sglang = commit("c4e744d"), commit("3c34d2c")
    flashinfer_issue = Issue.objects.get(number=2440)
    state(report, "summary", "Only vLLM", vllm, order=0)
    state(report, "summary", "vLLM and SGLang", vllm, sglang, order=1)
    state(report, "summary", "A FlashInfer issue", flashinfer_issue, order=2)
    state(report, "summary", "An editor's note that cites nothing", order=3)
    state(report, "conclusion", "SGLang alone", sglang)
    state(report, "conclusion", "vLLM again", vllm, order=1)

    def sentences(repositories):
        markdown = render_markdown(report, repositories)
        summary = re.findall(r"^- (.+?)(?: \(|\.$)", part(markdown, "## Summary", "## Analysis"), re.M)
        conclusions = re.findall(r"^(\d+)\. (.+?)(?: \(|\.$)", part(markdown, "## Conclusions"), re.M)
        return summary, conclusions

    assert sentences(None) == (
        ["Only vLLM", "vLLM and SGLang", "A FlashInfer issue", "An editor's note that cites nothing"],
        [("1", "SGLang alone"), ("2", "vLLM again")],
    )
    assert sentences(["vllm-project/vllm"]) == (
        ["Only vLLM", "An editor's note that cites nothing"],
        [("1", "vLLM again")],  # numbered again from one
    )
    assert sentences(["vllm-project/vllm", "sgl-project/sglang"])[0] == [
        "Only vLLM", "vLLM and SGLang", "An editor's note that cites nothing"
    ]  # fmt: skip
    assert sentences(["flashinfer-ai/flashinfer"]) == (
        ["A FlashInfer issue", "An editor's note that cites nothing"],
        [],
    )


def test_links_come_from_the_rows_and_never_from_the_text(collected):
    report = empty_report("en")
    vllm = commit("c4e744d")
    elsewhere = "https://github.com/sgl-project/sglang/commit/" + "a" * 40
    state(report, "summary", f"See [this]({elsewhere}) and **that**", vllm)
    Commit.objects.filter(pk=vllm.pk).update(html_url="https://github.com/vllm-project/vllm/commit/moved")
    markdown = render_markdown(report, ["vllm-project/vllm"])
    summary = part(markdown, "## Summary", "## Analysis")
    # A link written in the text is text: it neither links nor takes the statement out of the variant.
    assert "See [this]\\(https\\://github.com/sgl-project/sglang/commit/" in summary
    assert "\\*\\*that\\*\\*" in summary
    assert f"([`{vllm.short_sha}`](https://github.com/vllm-project/vllm/commit/moved))." in summary


def test_rendering_costs_the_same_queries_however_many_statements(collected):
    report = empty_report("zh")
    vllm, sglang = commit("c4e744d"), commit("3c34d2c")
    state(report, "summary", "一", vllm)
    with CaptureQueriesContext(connection) as few:
        render_markdown(report, ["vllm-project/vllm"])
    for n in range(12):
        state(report, "conclusion", f"第 {n} 条", vllm, sglang, Issue.objects.get(number=2440), order=n)
    with CaptureQueriesContext(connection) as many:
        render_markdown(report, ["vllm-project/vllm"])
    assert len(many) == len(few)


def test_the_store_keeps_every_field_of_the_draft(collected):
    data = day_input(DAY, "en")
    draft = HeuristicAnalyzer().analyze(data)
    vllm = next(s for s in draft.sections if s.repository.name == "vllm")
    item = vllm.highlights[0]
    code = item.snippets[0]
    item.snippets = [
        Snippet(code.path, code.language, code.code, " the new entry point "),
        Snippet(code.path, code.language, code.code.splitlines()[0], ""),
        Snippet(code.path, code.language, code.code.splitlines()[-1], "the guard"),
    ]
    item.verdict, item.verdict_reason = "watch", "it changes a default"
    item.breaking, item.breaking_surface = True, "CLI flag `--foo` removed"
    item.topics = ["api", "bogus", "hardware", "api"]
    item.selection_reason = "a public flag went away"
    other = vllm.highlights[1]
    other.verdict, other.breaking, other.breaking_surface = "excellent", False, "ignored when not breaking"
    report = store_draft(draft, data)

    row = highlight(report, item.sha[:7])
    assert (row.verdict, row.verdict_reason) == ("watch", "it changes a default")
    assert (row.breaking, row.breaking_surface) == (True, "CLI flag `--foo` removed")
    assert row.topics == ["hardware", "api"]  # the vocabulary's order, nothing else
    assert row.selection_reason == "a public flag went away"
    assert [(s.order, s.note, s.path) for s in row.snippets.all()] == [
        (0, "the new entry point", code.path), (1, "", code.path), (2, "the guard", code.path)
    ]  # fmt: skip
    assert ItemSnippet.history.filter(item_id=row.pk).count() == 3
    other_row = highlight(report, other.sha[:7])
    assert (other_row.verdict, other_row.breaking_surface) == ("", "")  # not of the vocabulary; not breaking
    summary = report.statements.filter(kind="summary")
    assert [(s.lead, s.text) for s in summary] == [(s.lead, s.text) for s in draft.summary]


def test_an_issue_fixed_by_a_commit_of_the_day(collected):
    data = day_input(DAY, "zh")
    draft = HeuristicAnalyzer().analyze(data)
    flashinfer = next(s for s in draft.sections if s.repository.name == "flashinfer")
    flashinfer.issues[0].fixed_by = commit("c4e744d").sha  # a vLLM commit: not of the issue's repository
    report = store_draft(draft, data)
    issue_item = ReportItem.objects.get(report=report, kind="issue")
    assert issue_item.fixed_by is None

    fix = Commit.objects.filter(repository=issue_item.issue.repository).first()
    ReportItem.objects.filter(pk=issue_item.pk).update(fixed_by=fix, details="复现条件很简单")
    link = f"[`{fix.short_sha}`]({fix.html_url})"
    assert f"：复现条件很简单。已由 {link} 修复。\n" in render_markdown(report)
    ReportItem.objects.filter(pk=issue_item.pk).update(details="复现条件很简单！")
    assert f"：复现条件很简单！已由 {link} 修复。\n" in render_markdown(report)

    Report.objects.filter(pk=report.pk).update(language="en")
    ReportItem.objects.filter(pk=issue_item.pk).update(details="Crashes on small inputs")
    assert f": Crashes on small inputs. Fixed by {link}.\n" in render_markdown(Report.objects.get(pk=report.pk))
    ReportItem.objects.filter(pk=issue_item.pk).update(details="")
    assert f"): Fixed by {link}.\n" in render_markdown(Report.objects.get(pk=report.pk))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_snippets_verdicts_and_breaking_surfaces(collected, language):
    report = build_report(day=DAY, language=language, analyzer="heuristic")
    item = highlight(report, "c4e744d")
    item.snippets.all().delete()
    ItemSnippet.objects.bulk_create([
        ItemSnippet(item=item, order=0, path="vllm/a.py", language="python", code="a = 1", note="one"),
        ItemSnippet(item=item, order=1, path="vllm/b.py", language="python", code="b = 2"),
        ItemSnippet(item=item, order=2, path="csrc/x.cu", language="cpp", code="int x = 1;", note="1. three"),
    ])  # fmt: skip
    ReportItem.objects.filter(pk=item.pk).update(
        verdict="watch", verdict_reason="needs a benchmark", breaking=True, breaking_surface="CLI flag `--foo` removed"
    )
    other = ReportItem.objects.filter(report=report, kind="highlight").exclude(pk=item.pk).first()
    ReportItem.objects.filter(pk=other.pk).update(verdict="", verdict_reason="a reason without a verdict")
    markdown = render_markdown(report)
    block = markdown[markdown.index(f"** ([`{item.commit.short_sha}`]({item.commit.html_url}))") :]
    block = block[: block.index("\n\n")]
    code, colon, verdict, breaking = {
        "zh": ("代码细节", "：", "**评估**：需关注 — needs a benchmark", "⚠️ 破坏性变更（CLI flag `--foo` removed）"),
        "en": ("Code", ": ", "**Verdict**: Watch — needs a benchmark", "⚠️ breaking (CLI flag `--foo` removed)"),
    }[language]
    assert block.splitlines()[0].endswith(f") {breaking}")
    notes = re.findall(rf"^  - \*\*{code}\*\*(.*)$", block, re.M)
    assert notes == [f"{colon}one", colon.rstrip(), f"{colon}1\\. three"]
    fences = re.findall(r"^    ```(\w*)\n    (.+)\n    (.+)\n    ```$", block, re.M)
    assert fences == [
        ("python", "# vllm/a.py", "a = 1"),
        ("python", "# vllm/b.py", "b = 2"),
        ("cpp", "// csrc/x.cu", "int x = 1;"),
    ]
    impact = block.index("**影响**" if language == "zh" else "**Impact**")
    assert block.index(code) < impact < block.index(verdict)
    assert "a reason without a verdict" not in markdown
    ReportItem.objects.filter(pk=item.pk).update(verdict="positive", verdict_reason="", breaking_surface="")
    markdown = render_markdown(report)
    assert ("  - **评估**：正面\n" if language == "zh" else "  - **Verdict**: Positive\n") in markdown
    assert f"{item.commit.html_url})) {'⚠️ 破坏性变更' if language == 'zh' else '⚠️ breaking'}\n" in markdown


def test_topics_are_labels_on_the_web_page_only(client, collected):
    report = build_report(day=DAY, language="zh", analyzer="heuristic")
    item = highlight(report, "c4e744d")
    ReportItem.objects.filter(pk=item.pk).update(topics=["kernel", "quantization", "<b>unknown</b>"])
    Report.objects.filter(pk=report.pk).update(status="sent", sent_at=datetime(2026, 1, 29, 1, tzinfo=UTC))
    page = client.get("/reports/2026-01-29/").content.decode()
    labels = re.findall(r'<ul class="topics" aria-label="主题">(.*?)</ul>', page, re.S)
    assert "<li>内核/注意力</li><li>量化</li>" in labels  # the other highlights carry the triage's topics
    after = page[page.index('aria-label="主题"><li>内核/注意力</li><li>量化</li></ul>') :]
    assert after.index(item.commit.short_sha) < after.index("</div>")  # the labels open the item's block
    assert "unknown" not in page and "内核/注意力" not in render_markdown(report)
    english = build_report(day=DAY, language="en", analyzer="heuristic")
    ReportItem.objects.filter(pk=highlight(english, "c4e744d").pk).update(topics=["kernel", "quantization"])
    Report.objects.filter(pk=english.pk).update(status="sent", sent_at=datetime(2026, 1, 29, 1, tzinfo=UTC))
    english = client.get("/reports/2026-01-29/?lang=en").content.decode()
    assert '<ul class="topics" aria-label="Topics"><li>Kernel/attention</li><li>Quantization</li></ul>' in english


# --- the migration ----------------------------------------------------------------------------------
MIGRATION = ("newsletter", "0012_statements_snippets_verdicts")
BEFORE = ("newsletter", "0011_hardening")


# Migrating needs a database outside a test transaction; what the migrations wrote (the default
# repositories, the Editors group) comes back afterwards for the tests that follow.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_moves_text_and_code_into_rows():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    repository = old.get_model("newsletter", "Repository").objects.get(owner="vllm-project")
    sha = "ab" * 20
    url = f"https://github.com/vllm-project/vllm/commit/{sha}"
    when = datetime(2026, 1, 29, 2, tzinfo=UTC)
    old_commit = old.get_model("newsletter", "Commit").objects.create(
        repository=repository, sha=sha, title="t", message="t", authored_at=when, committed_at=when, html_url=url
    )
    report = old.get_model("newsletter", "Report").objects.create(
        date=DAY, language="zh", analyzer="heuristic",
        summary=f"- **vLLM**：一个提交（[`abababa`]({url})）。\n\n- [x](javascript:alert(1)) 编辑的话",
        conclusions=f"1. 第一条（[`abababa`]({url})）。\n2. 第二条",
    )  # fmt: skip
    section = old.get_model("newsletter", "ReportSection").objects.create(report=report, repository=repository)
    items = old.get_model("newsletter", "ReportItem").objects
    with_code = items.create(
        report=report, section=section, kind="highlight", commit=old_commit, title="t",
        code_snippet="x = 1", code_path="vllm/x.py", code_language="python",
    )  # fmt: skip
    without = items.create(report=report, section=section, kind="listed", commit=old_commit, title="t")

    executor.loader.build_graph()
    executor.migrate([MIGRATION])
    new = executor.loader.project_state([MIGRATION]).apps
    statements = new.get_model("newsletter", "ReportStatement").objects.filter(report_id=report.pk)
    rows = [(s.kind, s.order, s.text, s.legacy) for s in statements.order_by("kind", "order")]
    assert rows == [
        ("conclusion", 0, f"第一条（[`abababa`]({url})）。", True),
        ("conclusion", 1, "第二条", True),
        ("summary", 0, f"**vLLM**：一个提交（[`abababa`]({url})）。", True),
        ("summary", 1, "[x](javascript:alert(1)) 编辑的话", True),
    ]
    snippets = new.get_model("newsletter", "ItemSnippet").objects
    assert [(s.item_id, s.path, s.language, s.code) for s in snippets.all()] == [
        (with_code.pk, "vllm/x.py", "python", "x = 1")
    ]
    assert not snippets.filter(item_id=without.pk).exists()
    assert new.get_model("newsletter", "HistoricalReportStatement").objects.filter(history_type="+").count() == 4
    from django.contrib.auth.models import Group

    codenames = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    wanted = {"change_reportstatement", "add_reportstatement", "delete_reportstatement", "change_itemsnippet"}
    assert wanted <= codenames

    # Back again: the text as it was, one snippet per item.
    executor.loader.build_graph()
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    back = old.get_model("newsletter", "Report").objects.get(pk=report.pk)
    assert back.summary == f"- **vLLM**：一个提交（[`abababa`]({url})）。\n- [x](javascript:alert(1)) 编辑的话"
    assert back.conclusions == f"1. 第一条（[`abababa`]({url})）。\n2. 第二条"
    assert old.get_model("newsletter", "ReportItem").objects.get(pk=with_code.pk).code_snippet == "x = 1"

    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    # Legacy text is rendered as written: its links kept, anything else disarmed, in every variant.
    markdown = render_markdown(Report.objects.get(pk=report.pk), ["sgl-project/sglang"])
    assert f"- **vLLM**：一个提交（[`abababa`]({url})）。" in markdown
    assert "](javascript:" not in markdown and "1. 第一条" in markdown and "2. 第二条" in markdown
