"""Sources behind one interface: the repository's host chooses the source, collection goes through it."""

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from newsletter.collect import collect_day
from newsletter.models import Commit, Issue, Repository
from sources.base import DEFAULT_HOST, SOURCES, RequestStats, source_for
from sources.github import GitHubSource
from sources.records import CommitRecord, FileChange, IssueRecord, RepositoryInfo, RepositorySnapshot

HOST = "git.example.org"
NOON = datetime(2026, 1, 29, 4, tzinfo=UTC)  # 12:00 on 2026-01-29 in Asia/Shanghai


class FakeSource:
    """A second source, for repositories on git.example.org: one commit and one issue a day."""

    built: list[dict] = []  # the options of every instance the registry built
    fetched: list[str] = []

    def __init__(self, settings, **options):
        self.stats = RequestStats()
        FakeSource.built.append(options)

    def repository(self, full_name: str) -> RepositoryInfo:
        self.stats.requests += 1
        return RepositoryInfo(full_name=full_name, default_branch="trunk")

    def fetch(self, full_name, since, until, progress=None) -> RepositorySnapshot:
        self.stats.requests += 2
        FakeSource.fetched.append(full_name)
        commit = CommitRecord(
            sha="f" * 40,
            message="Add a scheduler knob (#7)\n\nWhy it helps.",
            author_name="Ada",
            author_login="ada",
            authored_at=NOON,
            committed_at=NOON,
            html_url=f"https://{HOST}/{full_name}/commit/{'f' * 40}",
            additions=3,
            deletions=1,
            files=(FileChange(path="sched.py", status="modified", additions=3, deletions=1, patch="@@ -1 +1,3 @@"),),
        )
        issue = IssueRecord(
            number=8,
            title="Scheduler stalls",
            body="",
            state="open",
            labels=("bug",),
            author_login="bob",
            comments=0,
            created_at=NOON,
            updated_at=NOON,
            closed_at=None,
            html_url=f"https://{HOST}/{full_name}/issues/8",
            is_pull_request=False,
        )
        return RepositorySnapshot(full_name, "trunk", since, until, (commit,), (issue,), requests=2)


@pytest.fixture
def fake_host(monkeypatch):
    monkeypatch.setitem(SOURCES, HOST, f"{__name__}:FakeSource")
    FakeSource.built.clear()
    FakeSource.fetched.clear()
    yield HOST


def test_the_github_source_reads_the_default_host():
    assert DEFAULT_HOST == "github.com"
    assert isinstance(source_for(DEFAULT_HOST, django_settings), GitHubSource)
    with pytest.raises(KeyError, match=re.escape("no source reads 'gitlab.example.com'; known hosts: github.com")):
        source_for("gitlab.example.com", django_settings)


@pytest.mark.django_db
def test_collection_reads_a_repository_with_the_source_of_its_host(fake_host, replay):
    repository = Repository.objects.create(host=fake_host, owner="team", name="tool", display_name="Tool")
    run = collect_day(repository=repository, day=date(2026, 1, 29))
    assert FakeSource.fetched == ["team/tool"] and replay.state.log == []
    assert (run.status, run.commits, run.issues, run.requests) == (run.Status.SUCCEEDED, 1, 1, 2)
    commit = Commit.objects.get(repository=repository)
    assert (commit.title, commit.pr_number, commit.html_url) == (
        "Add a scheduler knob (#7)",
        7,
        f"https://{HOST}/team/tool/commit/{'f' * 40}",
    )
    assert Issue.objects.get(repository=repository).title == "Scheduler stalls"
    repository.refresh_from_db()
    assert repository.default_branch == "trunk"


@pytest.mark.django_db
def test_the_collect_command_gives_each_repository_its_own_host_source(fake_host, replay):
    Repository.objects.create(host=fake_host, owner="team", name="tool", display_name="Tool")
    out = StringIO()
    call_command("collect", "--date", "2026-01-29", "--repo", "team/tool", "--repo", "vllm-project/vllm", stdout=out)
    assert FakeSource.fetched == ["team/tool"]
    assert all("/repos/vllm-project/vllm" in entry.path for entry in replay.state.log) and replay.state.log
    assert Commit.objects.filter(repository__owner="team").count() == 1
    assert Commit.objects.filter(repository__owner="vllm-project").count() == 45


@pytest.mark.django_db
def test_only_github_repositories_are_recorded_in_the_replay_format(fake_host, replay, tmp_path):
    Repository.objects.create(host=fake_host, owner="team", name="tool", display_name="Tool")
    with pytest.raises(CommandError, match=re.escape("records github.com repositories only: team/tool")):
        call_command("record_github", "--date", "2026-01-29", "--out", str(tmp_path), "--repo", "team/tool")
    call_command("record_github", "--date", "2026-01-29", "--out", str(tmp_path), stdout=StringIO())
    assert FakeSource.built == [] and not (tmp_path / "team").exists()
    assert (tmp_path / "vllm-project" / "vllm" / "commits.json").is_file()


@pytest.mark.django_db
def test_the_admin_checks_a_new_repository_with_the_source_of_its_host(fake_host, replay, admin_client):
    url = reverse("admin:newsletter_repository_add")
    form = admin_client.get(url).context["adminform"].form
    assert (fake_host, fake_host) in form.fields["host"].choices
    data = {"host": fake_host, "owner": "team", "name": "tool", "display_name": "", "enabled": "on", "order": 5}
    assert admin_client.post(url, data).status_code == 302
    repository = Repository.objects.get(owner="team")
    assert (repository.host, repository.default_branch, repository.display_name) == (fake_host, "trunk", "tool")
    assert replay.state.log == []


@pytest.mark.django_db
def test_a_repository_s_web_address_is_on_its_host():
    assert Repository(owner="vllm-project", name="vllm").html_url == "https://github.com/vllm-project/vllm"
    assert Repository(host=HOST, owner="team", name="tool").html_url == f"https://{HOST}/team/tool"


def test_runtime_code_does_not_import_the_replay_package():
    # In a fresh interpreter: this one has the replay package loaded by the test fixtures.
    script = """
import sys
import django
django.setup()
import ai_infra_daily.urls, newsletter.collect, newsletter.daily, newsletter.dispatch, newsletter.urls, newsletter.tasks
import newsletter.management.commands.demo, newsletter.management.commands.record_github
import sources.github, sources.replay
loaded = sorted(name for name in sys.modules if name == "replay" or name.startswith("replay."))
import replay.server
print(loaded, "replay.server" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        cwd=django_settings.BASE_DIR,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The last check shows the first can see the package when it is there.
    assert result.stdout.strip() == "[] True"
