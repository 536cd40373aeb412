"""Test settings: the real settings, with what a test run must not depend on turned off."""

import os

from ai_infra_daily.settings import *  # noqa: F403
from ai_infra_daily.settings import BASE_DIR, DATABASES, LOGGING, Q_CLUSTER

# django-q2 reads Q_CLUSTER once, at import: tasks run inline in tests.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests point GitHub at a replay server per test; a shared cache would leak between them.
GITHUB_CACHE_DIR = None
GITHUB_API_URL = "http://127.0.0.1:9"  # nothing listens here: a test that forgets the replay fails loudly
GITHUB_BACKOFF = 0.01
GITHUB_RETRIES = 3
GITHUB_SECONDARY_RATE_WAIT = 0.1
SEND_RATE_PER_SECOND = 0  # tests measure correctness, not pacing
DELIVERY_RETRY_SECONDS = 0.1
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A file, not memory, so worker processes started by the tests see the same test database.
(BASE_DIR / "var" / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one
# TEST_DB_SUFFIX lets two test runs share a machine without sharing a test database.
_suffix = os.environ.get("TEST_DB_SUFFIX", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test{_suffix}.sqlite3")}
elif _suffix:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}{_suffix}"}
LOGGING["loggers"]["mail.log"] = {"level": "WARNING"}  # aiosmtpd, the test SMTP server
# The live server answers in its own thread: close its connection after each request, so the test
# database can be dropped at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0
