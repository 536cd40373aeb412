"""Every variable is read in one place; a bad value stops start-up with a message naming it."""

import os
import subprocess
import sys

import pytest
from django.conf import settings


def load_settings(**env: str) -> subprocess.CompletedProcess:
    program = (
        "import newsletter.settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.Q_CLUSTER.get('orm'), s.Q_CLUSTER.get('redis'),"
        " s.EMAIL_BACKEND, s.DAILY_BUILD_AT, s.REPORT_LANGUAGE, s.GITHUB_CACHE_DIR, sep='|')"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL")}
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env={**clean, **env}, cwd=settings.BASE_DIR
    )


def test_the_defaults_run_offline():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    engine, orm, redis, backend, _build_at, language, cache = result.stdout.strip().split("|")
    assert engine == "django.db.backends.sqlite3" and orm == "default" and redis == "None"
    assert backend == "newsletter.mail_backends.OutboxBackend"
    assert language == "zh" and "var/github-cache" in cache


def test_production_values_are_read():
    result = load_settings(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        REDIS_URL="redis://127.0.0.1:6379/0",
        EMAIL_URL="smtp://user:secret@mail.example.com:587/?tls=True",
        DAILY_BUILD_AT="6:30",
        REPORT_LANGUAGE="en",
        GITHUB_CACHE_DIR="off",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "django.db.backends.postgresql", "None", "redis://127.0.0.1:6379/0",
        "django.core.mail.backends.smtp.EmailBackend", "(6, 30)", "en", "None",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REPORT_TIME_ZONE", "Mars/Olympus", "REPORT_TIME_ZONE is not a known time zone: 'Mars/Olympus'"),
        ("DAILY_SEND_AT", "8am", "DAILY_SEND_AT must be a time like 07:00, got '8am'"),
        ("REPORT_LANGUAGE", "fr", "REPORT_LANGUAGE must be one of zh, en, got 'fr'"),
        ("HIGHLIGHTS_PER_REPO", "0", "HIGHLIGHTS_PER_REPO must be at least 1, got 0"),
        ("GITHUB_TIMEOUT", "soon", "GITHUB_TIMEOUT must be an integer, got 'soon'"),
        ("AUTO_APPROVE", "maybe", "AUTO_APPROVE must be true or false, got 'maybe'"),
        ("SITE_URL", "example.com", "SITE_URL must be an absolute http(s) URL"),
        ("Q_BROKER", "redis", "Q_BROKER=redis needs REDIS_URL"),
        ("DATABASE_URL", "nonsense://x", "DATABASE_URL is not a database URL"),
    ],
)
def test_a_bad_value_names_the_variable(name, value, message):
    result = load_settings(**{name: value})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr
