from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from newsletter.models import CollectRun, Commit, Issue, Report

pytestmark = pytest.mark.django_db


def test_demo_collects_and_builds_the_bundled_days_offline(tmp_path):
    out = StringIO()
    call_command("demo", "--out", str(tmp_path), stdout=out)
    text = out.getvalue()
    assert "collected 2026-01-28 vllm-project/vllm" in text and "collected 2026-01-29 sgl-project/sglang" in text
    assert "Stored:" in text
    assert Commit.objects.count() == 31 + 45 + 23 + 26 + 3
    assert Issue.objects.filter(repository__name="flashinfer").count() == 4
    assert CollectRun.objects.filter(status="succeeded").count() == 6
    assert Report.objects.filter(status="draft").count() == 4
    assert (tmp_path / "2026-01-29.zh.md").read_text().startswith("# AI Infra Daily · 2026-01-29")
    assert "<h2>Analysis</h2>" in (tmp_path / "2026-01-28.en.html").read_text()
    Report.objects.filter(date="2026-01-28", language="zh").update(status="approved", summary="- kept")
    call_command("demo", "--out", str(tmp_path), stdout=StringIO())  # twice is fine
    assert Commit.objects.count() == 128 and Report.objects.count() == 4
    assert Report.objects.get(date="2026-01-28", language="zh").summary == "- kept"


def test_demo_needs_a_recorded_folder(tmp_path):
    with pytest.raises(CommandError, match=r"has no recordings\.json"):
        call_command("demo", "--data", str(tmp_path))
