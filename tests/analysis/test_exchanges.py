"""Recorded exchanges: an operator records a day from the API (here the fake), nothing secret is
kept, and the file replays as a test."""

import gzip
import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from newsletter.analysis.exchanges import FORMAT, load, scrub
from newsletter.build import build_report
from newsletter.models import CommitAnalysis, ReportItem
from tests.make_exchange_fixture import FIXTURE, HIGHLIGHTS

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)
KEY = "sk-ant-api03-SECRET-KEY-never-on-disk"


def test_recording_keeps_every_exchange_of_the_day_and_no_secret(collected, fake_anthropic, settings, tmp_path):
    settings.ANTHROPIC_API_KEY = KEY
    build_report(day=DAY, language="zh", analyzer="anthropic")
    assert CommitAnalysis.objects.exists()  # a rebuild would ask about no commit: recording asks about all
    fake_anthropic.reset()
    out = StringIO()
    call_command("record_exchanges", "--date", "2026-01-29", "--out", str(tmp_path), "--force", stdout=out)
    path = tmp_path / "2026-01-29-zh.jsonl"
    text = path.read_text()
    exchanges = load(path)
    assert f"{len(exchanges)} exchanges recorded in {path}" in out.getvalue()
    assert [e.kind for e in exchanges].count("commit_item") == len(fake_anthropic.of_kind("commit_item")) > 8
    assert len(exchanges) == len(fake_anthropic.requests)
    assert KEY not in text and "SECRET" not in text and "authorization" not in text.lower()
    assert all(json.loads(line)["format"] == FORMAT for line in text.splitlines())
    for exchange in exchanges:
        assert set(exchange.request) == {"model", "max_tokens", "system", "messages", "output_config"}
        assert exchange.status == 200 and exchange.response["type"] == "message"
        if exchange.kind == "commit_item":
            assert set(exchange.key) == {"repository", "sha"}
            assert exchange.key["sha"] in exchange.request["messages"][0]["content"]
        elif exchange.kind != "issue_synthesis":
            assert set(exchange.key) == {"repository"}


def test_recording_needs_a_key(collected, settings, tmp_path):
    settings.ANTHROPIC_API_KEY = None
    with pytest.raises(Exception, match="recording needs ANTHROPIC_API_KEY"):
        call_command("record_exchanges", "--date", "2026-01-29", "--out", str(tmp_path))


def test_a_recorded_day_replays_as_a_test(collected, fake_anthropic, settings):
    """Every recorded answer is asked for and used. A call the recording lacks (the triage may have
    come to always highlight one more commit since) gets the fake's own answer."""
    # Room for every recorded pick, however many commits the triage's floor adds in front of them.
    settings.HIGHLIGHTS_PER_REPO = HIGHLIGHTS + 6
    fake_anthropic.replay(FIXTURE, fallback=True)
    report = build_report(day=DAY, language="zh", analyzer="anthropic")
    assert fake_anthropic.unconsumed() == [] and not report.warnings, report.warnings
    assert all(r.kind == "commit_item" for r in fake_anthropic.unreplayed)
    recorded = load(FIXTURE)
    assert len(fake_anthropic.requests) == len(recorded) + len(fake_anthropic.unreplayed)
    answers = {e.key["sha"]: json.loads(e.response["content"][0]["text"]) for e in recorded if e.kind == "commit_item"}
    rows = {row.commit.sha: row for row in ReportItem.objects.filter(report=report, kind="highlight")}
    for sha, answer in answers.items():
        assert rows[sha].source == "anthropic" and rows[sha].title == answer["headline"]


def test_a_request_that_was_not_recorded_is_refused_and_falls_back(collected, fake_anthropic, settings, tmp_path):
    settings.HIGHLIGHTS_PER_REPO = HIGHLIGHTS
    lines = gzip.decompress(Path(FIXTURE).read_bytes()).decode().splitlines()
    missing = next(json.loads(line) for line in lines if json.loads(line)["kind"] == "commit_item")
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(line for line in lines if json.loads(line) != missing) + "\n")
    fake_anthropic.replay(partial)
    report = build_report(day=DAY, language="zh", analyzer="anthropic")
    assert missing["key"]["sha"] in [r.sha for r in fake_anthropic.unmatched]
    row = ReportItem.objects.get(report=report, kind="highlight", commit__sha=missing["key"]["sha"])
    assert row.source == "fallback"
    assert any(
        w.endswith("the model service failed (HTTP 400) after retries; the heuristic analysis is used")
        for w in report.warnings
    )


def test_scrub_drops_credential_fields_and_text():
    value = {
        "headers": {"x-api-key": "k"},
        "api_key": "k",
        "messages": [{"content": "token Bearer abc.def and sk-ant-api03-xyz and the-configured-secret"}],
    }
    assert scrub(value, ("the-configured-secret",)) == {
        "messages": [{"content": "token [redacted] and [redacted] and [redacted]"}]
    }
