"""The collected data is browsable (search, filters) and read-only in the admin."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from newsletter.models import Commit, Issue, Repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def collected(replay):
    call_command("collect", "--date", "2026-01-28", stdout=StringIO())


@pytest.mark.parametrize("model", ["commit", "issue", "repository", "collectrun"])
def test_lists_render(admin_client, collected, model):
    response = admin_client.get(reverse(f"admin:newsletter_{model}_changelist"))
    assert response.status_code == 200


def test_commit_search_and_filter(admin_client, collected):
    url = reverse("admin:newsletter_commit_changelist")
    found = admin_client.get(url, {"q": "simplify fp4 rmsnorm"})
    assert "67fc0a1" in found.content.decode()
    vllm = Repository.objects.get(name="vllm")
    filtered = admin_client.get(url, {"repository__id__exact": vllm.id})
    assert filtered.context["cl"].result_count == 31


def test_collected_rows_are_read_only(admin_client, collected):
    commit = Commit.objects.get(sha__startswith="67fc0a15")
    page = admin_client.get(reverse("admin:newsletter_commit_change", args=[commit.id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "flashinfer/cute_dsl/add_rmsnorm_fp4quant.py" in html and 'name="title"' not in html
    assert admin_client.get(reverse("admin:newsletter_commit_add")).status_code == 403
    issue = Issue.objects.first()
    assert (
        admin_client.post(reverse("admin:newsletter_issue_change", args=[issue.id]), {"title": "x"}).status_code == 403
    )


def test_file_paths_are_escaped(admin_client, collected):
    commit = Commit.objects.first()
    commit.files = [{"path": "<script>alert(1)</script>.py", "status": "added", "additions": 1, "deletions": 0}]
    commit.save()
    html = admin_client.get(reverse("admin:newsletter_commit_change", args=[commit.id])).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
