from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from replay.server import Faults, ReplayServer
from sources import github
from sources.github import GitHubConfig, GitHubSource
from tests.fake_anthropic import FakeAnthropic
from tests.smtp_server import SMTPServer

BUNDLED = Path(django_settings.BASE_DIR) / "data" / "github"


@pytest.fixture(scope="session")
def bundled_replay():
    with ReplayServer(BUNDLED) as server:
        yield server


@pytest.fixture
def replay(bundled_replay, settings):
    """The replay server on the bundled days, with a clean log and no faults, and settings pointing at it."""
    bundled_replay.state.reset(Faults())
    settings.GITHUB_API_URL = bundled_replay.url
    yield bundled_replay
    bundled_replay.state.reset(Faults())


@pytest.fixture
def source(replay) -> GitHubSource:
    return github.from_settings(django_settings)


def make_source(url: str, **overrides) -> GitHubSource:
    config = {"base_url": url, "retries": 3, "backoff": 0.01, "secondary_rate_wait": 0.1, **overrides}
    return GitHubSource(GitHubConfig(**config))


@pytest.fixture
def collected(replay, db):
    """Both bundled days collected into the database."""
    for day in ("2026-01-28", "2026-01-29"):
        call_command("collect", "--date", day, stdout=StringIO())


def running(server):
    """A local server for the whole session: started once, stopped at the end."""
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def fake_anthropic_server():
    yield from running(FakeAnthropic())


@pytest.fixture
def fake_anthropic(fake_anthropic_server, settings, monkeypatch):
    """The fake Messages API, reached by the SDK through ANTHROPIC_BASE_URL, with a key configured."""
    fake_anthropic_server.reset()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic_server.url)
    settings.ANTHROPIC_API_KEY = "sk-test"
    settings.ANTHROPIC_MAX_RETRIES = 2
    yield fake_anthropic_server
    fake_anthropic_server.reset()


@pytest.fixture(scope="session")
def smtp_server():
    yield from running(SMTPServer())


@pytest.fixture
def smtp(smtp_server, settings):
    """Mail goes over real SMTP to a local aiosmtpd server; the fixture is the server."""
    smtp_server.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield smtp_server
    smtp_server.reset()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits live in the cache, archive pages in it and in the process's memory: every test
    starts with none spent and nothing rendered."""
    from django.core.cache import cache

    from newsletter.views.archive_cache import memory

    cache.clear()
    memory.clear()
    yield
    cache.clear()
    memory.clear()


@pytest.fixture
def editor(db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("editor", "editor@example.com", "editor-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture(scope="session", autouse=True)
def _no_sessions_left_behind(django_db_setup, django_db_blocker):
    """The live server's request threads may keep a PostgreSQL session open past the last test,
    and the test database cannot be dropped while one is: end them once every test has run."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


# Tests that talk to a real local server (the GitHub replay server, the SMTP server, the fake
# Messages API, a browser, other processes) are integration tests; the rest exercise pure code or
# the database alone. `pytest -m "not integration"` runs the quick ones.
SERVER_FIXTURES = {"replay", "bundled_replay", "source", "collected", "smtp", "smtp_server", "fake_anthropic",
                   "fake_anthropic_server", "live_server"}  # fmt: skip


def pytest_collection_modifyitems(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        browser = item.path.name.startswith("test_browser_")
        if browser:
            item.add_marker(pytest.mark.browser)
        if browser or names & SERVER_FIXTURES or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.integration)
