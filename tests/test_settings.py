"""Every variable is read in one place; a bad value stops start-up with a message naming it."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

SETTINGS_PROGRAM = (
    "import ai_infra_daily.settings as s;"
    "print(s.DATABASES['default']['ENGINE'], s.Q_CLUSTER.get('orm'), s.Q_CLUSTER.get('redis'),"
    " s.EMAIL_BACKEND, s.DAILY_BUILD_AT, s.REPORT_LANGUAGE, s.GITHUB_CACHE_DIR, sep='|')"
)
IGNORED = ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SECRET_KEY", "SECRET_KEY_FILE")


def load_settings(program: str = SETTINGS_PROGRAM, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in IGNORED}
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env={**clean, **env}, cwd=settings.BASE_DIR
    )


def secret_key(**env: str) -> str:
    result = load_settings("import ai_infra_daily.settings as s; print(s.SECRET_KEY)", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_secret_key_an_installation_makes_its_own_and_keeps_it_private(tmp_path):
    first, second = tmp_path / "one" / "secret-key", tmp_path / "two" / "secret-key"
    key = secret_key(SECRET_KEY_FILE=str(first))
    assert len(key) >= 50 and first.read_text().strip() == key
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert secret_key(SECRET_KEY_FILE=str(first)) == key  # kept: links signed yesterday still work
    assert secret_key(SECRET_KEY_FILE=str(second)) != key  # never a key shared through the source
    for path in Path(settings.BASE_DIR, "newsletter").rglob("*.py"):
        assert key not in path.read_text()


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in IGNORED} | {"SECRET_KEY_FILE": str(tmp_path / "key")}
    program = "import ai_infra_daily.settings as s; print(s.SECRET_KEY)"
    workers = [
        subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True, env=env,
                         cwd=settings.BASE_DIR)
        for _ in range(4)
    ]  # fmt: skip
    keys = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert len(keys) == 1 and len(keys.pop()) >= 50
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no drafts left behind


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "secret-key"
    path.write_text("k" * 60)
    path.chmod(0o644)
    result = load_settings(SECRET_KEY_FILE=str(path))
    assert result.returncode != 0
    assert f"ImproperlyConfigured: SECRET_KEY: {path} must be readable by its owner only" in result.stderr


def test_secret_key_from_the_environment_writes_no_file(tmp_path):
    assert secret_key(SECRET_KEY="s" * 64, SECRET_KEY_FILE=str(tmp_path / "key")) == "s" * 64
    assert not (tmp_path / "key").exists()


def test_the_defaults_run_offline():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    engine, orm, redis, backend, _build_at, language, cache = result.stdout.strip().split("|")
    assert engine == "django.db.backends.sqlite3" and orm == "default" and redis == "None"
    assert backend == "newsletter.mail_backends.OutboxBackend"
    assert language == "zh" and "var/github-cache" in cache


def test_production_values_are_read():
    result = load_settings(
        SETTINGS_PROGRAM,
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


def test_an_https_site_is_deployed_safely(tmp_path):
    program = (
        "import ai_infra_daily.settings as s;"
        "print(s.ALLOWED_HOSTS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0,"
        " s.SECURE_SSL_REDIRECT, sep='|')"
    )
    https = {"SITE_URL": "https://daily.example.com", "SECRET_KEY_FILE": str(tmp_path / "key")}
    result = load_settings(program, **https, ALLOWED_HOSTS="www.daily.example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "['daily.example.com', 'www.daily.example.com']", "True", "True", "True", "True"
    ]  # fmt: skip
    local = load_settings(
        "import ai_infra_daily.settings as s; print(s.ALLOWED_HOSTS)", SECRET_KEY_FILE=https["SECRET_KEY_FILE"]
    )
    assert "localhost" in local.stdout and "127.0.0.1" in local.stdout  # the demo and development


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in IGNORED and not k.startswith("DJANGO_")}
    env.update(
        SITE_URL="https://daily.example.com",
        SECRET_KEY_FILE=str(tmp_path / "key"),
        DJANGO_SETTINGS_MODULE="ai_infra_daily.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True, text=True, env=env, cwd=settings.BASE_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
