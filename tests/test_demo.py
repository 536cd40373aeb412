from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from newsletter.models import CollectRun, Commit, Issue

pytestmark = pytest.mark.django_db


def test_demo_collects_the_bundled_days_offline():
    out = StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "collected 2026-01-28 vllm-project/vllm" in text and "collected 2026-01-29 sgl-project/sglang" in text
    assert "Stored:" in text
    assert Commit.objects.count() == 31 + 45 + 23 + 26 + 3
    assert Issue.objects.filter(repository__name="flashinfer").count() == 4
    assert CollectRun.objects.filter(status="succeeded").count() == 6
    call_command("demo", stdout=StringIO())  # twice is fine
    assert Commit.objects.count() == 128


def test_demo_needs_a_recorded_folder(tmp_path):
    with pytest.raises(CommandError, match=r"has no recordings\.json"):
        call_command("demo", "--data", str(tmp_path))
