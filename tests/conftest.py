from pathlib import Path

import pytest
from django.conf import settings as django_settings

from newsletter.collect import github_source
from sources.github import GitHubConfig, GitHubSource
from sources.replay import Faults, ReplayServer

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
    return github_source()


def make_source(url: str, **overrides) -> GitHubSource:
    config = {"base_url": url, "retries": 3, "backoff": 0.01, "secondary_rate_wait": 0.1, **overrides}
    return GitHubSource(GitHubConfig(**config))
