"""build_report: checked drafts become rows; an approved or sent report is never rebuilt."""

from datetime import date

import pytest

from newsletter.analysis.diffs import Snippet
from newsletter.analysis.draft import Statement
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.build import BuildError, build_report, check_draft, make_analyzer
from newsletter.gather import day_input
from newsletter.models import Commit, Report, ReportItem

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)


def test_rows_cover_every_commit_exactly_once(collected):
    report = build_report(day=DAY, language="zh", analyzer="heuristic")
    assert report.status == Report.Status.DRAFT and report.analyzer == "heuristic" and report.warnings == []
    covered = []
    for item in ReportItem.objects.filter(section__report=report).exclude(kind=ReportItem.Kind.ISSUE):
        covered.append(item.commit.sha)
        covered += [r["sha"] for r in item.related]
    assert sorted(covered) == sorted(Commit.objects.on_day(DAY).values_list("sha", flat=True))
    assert [s.repository.name for s in report.sections.all()] == ["flashinfer", "sglang", "vllm"]
    assert report.sections.get(repository__name="vllm").stats["commits"] == 45


def test_an_existing_draft_needs_force_and_a_locked_report_is_never_rebuilt(collected):
    first = build_report(day=DAY, language="zh", analyzer="heuristic")
    with pytest.raises(BuildError, match="pass --force"):
        build_report(day=DAY, language="zh", analyzer="heuristic")
    rebuilt = build_report(day=DAY, language="zh", analyzer="heuristic", force=True)
    assert rebuilt.pk != first.pk and Report.objects.count() == 1
    for status in (Report.Status.APPROVED, Report.Status.SENDING, Report.Status.SENT):
        Report.objects.filter(pk=rebuilt.pk).update(status=status)
        rebuilt.statements.filter(order=0, kind="summary").update(text="edited by the editor")
        with pytest.raises(BuildError, match=f"is {status}; it is never rebuilt"):
            build_report(day=DAY, language="zh", analyzer="heuristic", force=True)
        assert Report.objects.get(pk=rebuilt.pk).statements.filter(text="edited by the editor").exists()


def test_languages_are_separate_reports(collected):
    build_report(day=DAY, language="zh", analyzer="heuristic")
    build_report(day=DAY, language="en", analyzer="heuristic")
    assert sorted(Report.objects.values_list("language", flat=True)) == ["en", "zh"]


def test_auto_picks_the_analyzer_from_the_key(settings):
    settings.ANTHROPIC_API_KEY = None
    assert make_analyzer("auto").name == "heuristic"
    with pytest.raises(BuildError, match="needs ANTHROPIC_API_KEY"):
        make_analyzer("anthropic")
    settings.ANTHROPIC_API_KEY = "sk-test"
    assert make_analyzer("auto").name == "anthropic"
    with pytest.raises(BuildError, match="unknown analyzer"):
        make_analyzer("gpt")


def test_check_draft_drops_what_cannot_be_true(collected):
    data = day_input(DAY, "en")
    draft = HeuristicAnalyzer().analyze(data)
    vllm = draft.sections[2]
    first = vllm.highlights[0]
    real = list(first.snippets)
    first.snippets = [*real, Snippet(real[0].path if real else "vllm/x.py", "python", "made_up_call()")]
    ghost = HeuristicAnalyzer().item(data.repos[2], vllm.highlights[1].sha, "en")
    ghost.sha = "0" * 40
    vllm.highlights.append(ghost)
    draft.summary.append(Statement("Cites nothing real.", ["f" * 40]))
    check_draft(draft, data)
    assert first.snippets == real  # the made-up one is gone, the verbatim ones stay
    assert all(item.sha != "0" * 40 for item in vllm.highlights)
    assert "Cites nothing real." not in [s.text for s in draft.summary]
    assert any("not verbatim" in w for w in draft.warnings)
    assert any("unknown commit 000000000000" in w for w in draft.warnings)
    assert any("cites no known commit" in w for w in draft.warnings)


def test_a_day_without_activity_builds_an_empty_report(replay, db):
    report = build_report(day=date(2026, 1, 20), language="en", analyzer="heuristic")
    assert not report.statements.exists() and all(s.stats["commits"] == 0 for s in report.sections.all())
