"""Settings: every environment variable the service reads is read here, and only here.

The defaults run offline on one machine: SQLite, the ORM broker, the heuristic analyzer and mail
written into `outbox/`. See README.md for the table of variables.
"""

import os
import re
import secrets
import stat
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_number(name: str, default, parse, what: str, minimum=0):
    """The variable read with `parse` (int, float), or `default` when unset; a clear error when it
    is not `what` ("an integer") or is below `minimum`."""
    raw = env(name)
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {raw}")
    return value


def env_int(name: str, default: int, minimum: int = 0) -> int:
    return env_number(name, default, int, "an integer", minimum)


def env_float(name: str, default: float) -> float:
    return env_number(name, default, float, "a number")


def env_bool(name: str, default: bool) -> bool:
    raw = env(name).lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_clock(name: str, default: str) -> tuple[int, int]:
    raw = env(name) or default
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw)
    if not match:
        raise ImproperlyConfigured(f"{name} must be a time like 07:00, got {raw!r}")
    return int(match.group(1)), int(match.group(2))


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def read_secret_key(path: Path) -> str:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ImproperlyConfigured(f"SECRET_KEY: {path} must be readable by its owner only (chmod 600 {path})")
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"SECRET_KEY: {path} holds no usable key (fewer than 50 characters)")
    return key


def installation_secret_key(path: Path) -> str:
    """The key in `path`, created once (random, owner-only) on first start.

    Every subscriber link is signed with this key, so it must never be one written in the source:
    without SECRET_KEY, each installation makes its own and keeps it in its data folder. Processes
    starting at once agree on one key: the file appears whole, through a hard link, or not at all.
    """
    try:
        return read_secret_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(50) + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process created it first: use theirs
    finally:
        draft.unlink()
    return read_secret_key(path)


# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY_FILE = Path(env("SECRET_KEY_FILE") or BASE_DIR / "var" / "secret-key")
SECRET_KEY = env("SECRET_KEY") or installation_secret_key(SECRET_KEY_FILE)

SITE_URL = (env("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in ("http", "https") or not urlsplit(SITE_URL).hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an absolute http(s) URL, got {SITE_URL!r}")
HTTPS = urlsplit(SITE_URL).scheme == "https"
# A site served over https is a deployment: it answers only to the names it was given. Over http
# (development, the demo) the local names work too.
ALLOWED_HOSTS = [urlsplit(SITE_URL).hostname] + [
    name.strip() for name in env("ALLOWED_HOSTS").split(",") if name.strip()
]
if not HTTPS:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "testserver"]
CSRF_TRUSTED_ORIGINS = [SITE_URL] if HTTPS else []
if HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "simple_history",
    "newsletter",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files, without a separate server
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # records which editor made a change
]

ROOT_URLCONF = "ai_infra_daily.urls"
WSGI_APPLICATION = "ai_infra_daily.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "newsletter.context.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, qcluster, commands) share the file. Transactions take the write lock
    # when they begin (a read-then-write transaction would otherwise fail with "database is locked"
    # instead of waiting), WAL lets readers go on while one writes, and a lock is waited for.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Time and language ------------------------------------------------------------------------
REPORT_TIME_ZONE = env("REPORT_TIME_ZONE") or "Asia/Shanghai"
try:
    ZoneInfo(REPORT_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"REPORT_TIME_ZONE is not a known time zone: {REPORT_TIME_ZONE!r}") from None
TIME_ZONE = REPORT_TIME_ZONE
USE_TZ = True
USE_I18N = True
REPORT_LANGUAGE = env_choice("REPORT_LANGUAGE", "zh", ("zh", "en"))
LANGUAGE_CODE = "zh-hans" if REPORT_LANGUAGE == "zh" else "en"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# The project's one catalogue: also where `makemessages` writes the messages of templates/, which
# belong to no app.
LOCALE_PATHS = [BASE_DIR / "newsletter" / "locale"]

DAILY_BUILD_AT = env_clock("DAILY_BUILD_AT", "07:00")
DAILY_SEND_AT = env_clock("DAILY_SEND_AT", "08:00")
AUTO_APPROVE = env_bool("AUTO_APPROVE", False)
DAILY_MAX_ATTEMPTS = env_int("DAILY_MAX_ATTEMPTS", 3, minimum=1)  # tries of the daily build before the editors hear
# Set in minutes, kept in seconds like every other retry delay (newsletter.retry).
DAILY_RETRY_SECONDS = env_float("DAILY_RETRY_MINUTES", 15.0) * 60
HIGHLIGHTS_PER_REPO = env_int("HIGHLIGHTS_PER_REPO", 8, minimum=1)

# --- GitHub -----------------------------------------------------------------------------------
GITHUB_TOKEN = env("GITHUB_TOKEN") or None
GITHUB_API_URL = (env("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
GITHUB_TIMEOUT = env_int("GITHUB_TIMEOUT", 30, minimum=1)
GITHUB_RETRIES = env_int("GITHUB_RETRIES", 5)
GITHUB_BACKOFF = env_float("GITHUB_BACKOFF", 1.0)
GITHUB_SECONDARY_RATE_WAIT = env_float("GITHUB_SECONDARY_RATE_WAIT", 60.0)
GITHUB_MAX_RATE_LIMIT_WAIT = env_float("GITHUB_MAX_RATE_LIMIT_WAIT", 300.0)
# Conditional requests (ETag) are answered by 304s that cost no rate limit; "off" disables.
_cache_dir = env("GITHUB_CACHE_DIR")
GITHUB_CACHE_DIR = None if _cache_dir == "off" else Path(_cache_dir or BASE_DIR / "var" / "github-cache")

# --- Anthropic --------------------------------------------------------------------------------
# ANTHROPIC_BASE_URL is read by the SDK itself.
ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY") or None
ANTHROPIC_MODEL = env("ANTHROPIC_MODEL") or None  # None: the newest Sonnet the SDK lists
ANTHROPIC_ITEM_MODEL = env("ANTHROPIC_ITEM_MODEL") or None  # None: the newest Haiku the SDK lists
ANTHROPIC_TIMEOUT = env_float("ANTHROPIC_TIMEOUT", 120.0)  # seconds per request
ANTHROPIC_MAX_RETRIES = env_int("ANTHROPIC_MAX_RETRIES", 3)  # the SDK's retries of 429/5xx/529
ANTHROPIC_CONCURRENCY = env_int("ANTHROPIC_CONCURRENCY", 4, minimum=1)
ANTHROPIC_DEADLINE = env_float("ANTHROPIC_DEADLINE", 900.0)  # a build's model calls end by then

# --- Mail -------------------------------------------------------------------------------------
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH") or str(BASE_DIR / "outbox")
if env("EMAIL_URL"):
    try:
        _email = dj_email_url.parse(env("EMAIL_URL"))
    except (KeyError, ValueError):
        raise ImproperlyConfigured("EMAIL_URL must look like smtp://user:password@host:587/?tls=True") from None
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or EMAIL_FILE_PATH
elif env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
else:
    EMAIL_BACKEND = "newsletter.mail_backends.OutboxBackend"  # .eml (and .html) files in outbox/
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
# Largest HTML of a report email in bytes, as the mail client gets it (Gmail clips past about 102 KB):
# over it, the tables of other commits are shortened to a count and a link to the web. 0: no limit.
EMAIL_MAX_BYTES = env_int("EMAIL_MAX_BYTES", 100_000)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL") or "AI Infra Daily <daily@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SEND_RATE_PER_SECOND = env_float("SEND_RATE_PER_SECOND", 10.0)  # 0: no limit
# SMTP connections per worker, each with one message in flight: a relay answers every command after
# a network round trip, so one connection waits most of the time. 4 suits a relay tens of
# milliseconds away that accepts a few connections per client (SES, Postmark, Mailgun, Postfix).
SEND_CONNECTIONS = env_int("SEND_CONNECTIONS", 4, minimum=1)
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 500, minimum=1)  # deliveries a worker claims at a time
# A mailbox that someone (or something) acts on: List-Unsubscribe offers mailto: only when it is set.
UNSUBSCRIBE_MAILTO = env("UNSUBSCRIBE_MAILTO") or None
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 5, minimum=1)  # for temporary (4xx) failures
DELIVERY_RETRY_SECONDS = env_float("DELIVERY_RETRY_SECONDS", 60.0)  # first backoff; doubles each time
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 300, minimum=1)  # a silent worker's claims expire
SUBSCRIBE_LIMIT_PER_HOUR = env_int("SUBSCRIBE_LIMIT_PER_HOUR", 10, minimum=1)  # per client IP
# How many reverse proxies (load balancer, nginx...) stand in front of the app. 0: the client is
# REMOTE_ADDR. N: the client is the N-th address from the right of X-Forwarded-For, the one the
# outermost proxy saw; anything a client puts in that header itself is further left and ignored.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT:
    # TLS ends at the proxy; it says so in X-Forwarded-Proto (and overwrites what a client sent).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Cache (rate limits, the archive's state and pages) -------------------------------------------
# Shared by every process: Redis when configured, else files on this machine. Each web process
# also keeps archive pages in its own memory, in front of it (newsletter/views/archive_cache.py).
if env("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("REDIS_URL")}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": BASE_DIR / "var" / "cache",
        }
    }
# Archive pages are cached whole under a key that changes with the issues they show; this only
# bounds how long an entry nobody asks for is kept (and a repository's new display name waits).
ARCHIVE_CACHE_SECONDS = env_int("ARCHIVE_CACHE_SECONDS", 24 * 3600)
# The bodies of archive pages each web process keeps in memory (an issue page is about 100 KB,
# a feed of 20 issues about 2 MB); the least recently used go first.
ARCHIVE_MEMORY_BYTES = env_int("ARCHIVE_MEMORY_BYTES", 64 * 1024 * 1024, minimum=1)

# --- Background work (django-q2) --------------------------------------------------------------
# django-q2 reads Q_CLUSTER once, at import. Without "orm" it silently picks Redis, so the
# broker is always named explicitly.
REDIS_URL = env("REDIS_URL") or None
Q_BROKER = env_choice("Q_BROKER", "redis" if REDIS_URL else "orm", ("orm", "redis"))
if Q_BROKER == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("Q_BROKER=redis needs REDIS_URL")
Q_CLUSTER = {
    "name": "ai-infra-daily",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # retry > timeout > the longest task (a day's build); a killed worker's task comes back.
    "timeout": 1800,
    "retry": 2100,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "label": "Background tasks",
}
if Q_BROKER == "redis":
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Static files and logging -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL") or "INFO"},
    "loggers": {
        # PyGithub logs every retried request at INFO; the collect summary already counts them.
        "github": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        # The anthropic SDK's HTTP client logs every request at INFO.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}
