"""build_report and export_report as an operator runs them."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from newsletter.models import Report

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_build_then_export(collected):
    out, err = run("build_report", "--date", "2026-01-29", "--analyzer", "heuristic")
    assert out.startswith("zh draft of 2026-01-29 built with heuristic: 3 repositories, 16 highlighted commits")
    assert err == ""
    markdown, _ = run("export_report", "--date", "2026-01-29", "--format", "md")
    assert markdown.startswith("# AI Infra Daily · 2026-01-29") and "## 具体内容分析" in markdown
    html, _ = run("export_report", "--date", "2026-01-29", "--format", "html", "--repo", "vllm-project/vllm")
    assert html.startswith("<!doctype html>") and "sgl-project" not in html


def test_build_with_the_model_reports_its_cost(collected, fake_anthropic):
    out, _ = run("build_report", "--date", "2026-01-29", "--language", "en")  # auto: a key is set
    assert "built with anthropic" in out and "~$" in out
    assert re.search(r"model calls 2\d: \d+ input tokens \([1-9]\d* from cache\)", out)  # select, map, reduce
    assert Report.objects.get().language == "en"


def test_warnings_go_to_stderr(collected, fake_anthropic):
    fake_anthropic.plan("issue_synthesis", "wrong_shape")
    _, err = run("build_report", "--date", "2026-01-29")
    assert "warning: summary: the model's answer broke the schema twice" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build_report", "--date", "2026-01-32"], "--date: expected a date as YYYY-MM-DD"),
        (["build_report", "--date", "2026-01-29", "--language", "fr"], "--language: expected one of zh, en, got 'fr'"),
        (["build_report", "--date", "2026-01-29", "--analyzer", "gpt"], "--analyzer: expected one of auto"),
        (["build_report", "--date", "2026-01-20"], "nothing collected for 2026-01-20"),
        (["export_report", "--date", "2026-01-29", "--format", "pdf"], "--format: expected one of md, html"),
        (["export_report", "--date", "2026-01-29", "--format", "md"], "no zh report of 2026-01-29"),
        (["export_report", "--date", "2026-01-29", "--format", "md", "--repo", "a/b"], "--repo: unknown repository"),
    ],
)
def test_bad_input_is_one_clear_line(collected, args, message):
    with pytest.raises(CommandError) as failure:
        run(*args)
    assert str(failure.value).startswith(message) and "\n" not in str(failure.value)


def test_rebuilding_needs_force_and_never_touches_an_approved_report(collected):
    run("build_report", "--date", "2026-01-29", "--analyzer", "heuristic")
    with pytest.raises(CommandError, match="pass --force"):
        run("build_report", "--date", "2026-01-29", "--analyzer", "heuristic")
    run("build_report", "--date", "2026-01-29", "--analyzer", "heuristic", "--force")
    Report.objects.update(status=Report.Status.APPROVED)
    with pytest.raises(CommandError, match="is approved; it is never rebuilt"):
        run("build_report", "--date", "2026-01-29", "--analyzer", "heuristic", "--force")


def test_send_report_no_wait_says_what_it_left(collected, smtp, settings):
    from tests.mailing import approved_report, subscriber

    settings.DELIVERY_RETRY_SECONDS = 60
    approved_report()
    subscriber("busy@example.com")
    subscriber("ok@example.com")
    smtp.refuse("busy@example.com", "451 4.7.1 later")
    out, _ = run("send_report", "--date", "2026-01-29", "--no-wait")
    assert "1 sent, 1 pending" in out and "report is sending" in out
    assert "1 deliveries wait for a retry after a temporary failure (the next is due at " in out
    assert "run `manage.py send_report --date 2026-01-29` again to send them (--no-wait left them)" in out


def test_send_report_claims_send_batch_size_unless_told_otherwise(collected, smtp, settings, monkeypatch):
    from newsletter import dispatch
    from tests.mailing import approved_report, subscriber

    approved_report()
    subscriber("reader@example.com")
    claimed = []
    claim = dispatch.claim_batch

    def counting(report, me, size):
        claimed.append(size)
        return claim(report, me, size)

    monkeypatch.setattr(dispatch, "claim_batch", counting)
    settings.SEND_BATCH_SIZE = 321
    run("send_report", "--date", "2026-01-29")
    assert claimed and set(claimed) == {321}
    with pytest.raises(CommandError, match="at least 1"):
        run("send_report", "--date", "2026-01-29", "--batch-size", "0")
