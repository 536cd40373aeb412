from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from newsletter.models import CollectRun, Commit, Delivery, Issue, Report

pytestmark = pytest.mark.django_db


def test_demo_runs_the_whole_pipeline_offline(tmp_path, settings):
    settings.EMAIL_BACKEND = "newsletter.mail_backends.OutboxBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    out = StringIO()
    call_command("demo", "--out", str(tmp_path), stdout=out)
    text = out.getvalue()
    assert "collected 2026-01-28 vllm-project/vllm" in text and "collected 2026-01-29 sgl-project/sglang" in text
    assert "http://127.0.0.1:8000/reports/2026-01-29/" in text and "'demo-password'" in text
    emails = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(emails) == 6  # three readers, two days, each in their language
    assert len(list((tmp_path / "outbox").glob("*.html"))) == 4  # the Markdown reader's two are text only
    assert sum("vllm-only@demo.example.com" in e.name for e in emails) == 2
    assert Commit.objects.count() == 31 + 45 + 23 + 26 + 3
    assert Issue.objects.filter(repository__name="flashinfer").count() == 4
    assert CollectRun.objects.filter(status="succeeded").count() == 6
    assert Report.objects.filter(status="sent").count() == 4
    assert (tmp_path / "2026-01-29.zh.md").read_text().startswith("# AI Infra Daily · 2026-01-29")
    assert "<h2>Analysis</h2>" in (tmp_path / "2026-01-28.en.html").read_text()
    sent_before = Delivery.objects.filter(status="sent").count()
    call_command("demo", "--out", str(tmp_path), stdout=StringIO())  # twice is fine: nothing is sent twice
    assert Commit.objects.count() == 128 and Report.objects.count() == 4
    assert Delivery.objects.filter(status="sent").count() == sent_before
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 6


def test_demo_needs_a_recorded_folder(tmp_path):
    with pytest.raises(CommandError, match=r"has no recordings\.json"):
        call_command("demo", "--data", str(tmp_path))
