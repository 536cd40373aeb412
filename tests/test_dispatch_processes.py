"""Real worker processes: one killed with SIGKILL mid-send and restarted; two running at once."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from newsletter.models import Delivery, Report
from tests.mailing import approved_report, subscriber

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def database_url() -> str:
    """The test database, as a URL a worker process can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_env(smtp):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="ai_infra_daily.settings",
        DATABASE_URL=database_url(),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        SEND_RATE_PER_SECOND="120",
        DELIVERY_RETRY_SECONDS="0.1",
        GITHUB_CACHE_DIR="off",
        LOG_LEVEL="WARNING",
    )
    return env


def start_worker(env, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "send_report", "--date", "2026-01-29", "--batch-size", "20", *args],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def readers(count: int) -> list[str]:
    choices = [("vllm",), ("sglang",), ("vllm", "sglang"), ()]
    for n in range(count):
        subscriber(f"reader{n}@example.com", *choices[n % 4], output="markdown" if n % 5 == 0 else "html")
    return [f"reader{n}@example.com" for n in range(count)]


@pytest.mark.parametrize("connections", [1, 4])
def test_a_killed_worker_never_causes_a_second_copy(collected, smtp, worker_env, connections):
    worker_env["SEND_CONNECTIONS"] = str(connections)
    report = approved_report()
    addresses = readers(300)
    smtp.handler.data_delay = 0.002
    worker = start_worker(worker_env)
    deadline = time.monotonic() + 90
    while smtp.count() < 60:
        assert worker.poll() is None, worker.communicate()
        assert time.monotonic() < deadline, "the worker sent too little"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    received_at_kill = smtp.count()
    left = Counter(Delivery.objects.filter(report=report).values_list("status", flat=True))
    assert received_at_kill < 300 and left["pending"] + left["claimed"] > 0  # really killed mid-send

    restarted = start_worker(worker_env)
    out, err = restarted.communicate(timeout=180)
    assert restarted.returncode == 0, err

    received = Counter(smtp.recipients())
    assert max(received.values()) == 1, [a for a, n in received.items() if n > 1]  # nobody got two copies
    final = dict(Delivery.objects.filter(report=report).values_list("subscriber__email", "status"))
    assert set(final) == set(addresses)
    unknown = [a for a, status in final.items() if status == Delivery.Status.UNKNOWN]
    assert len(unknown) <= connections  # at most the message each connection was handing over
    for address, status in final.items():
        if status == Delivery.Status.SENT:
            assert received[address] == 1, address  # everyone not in flight got exactly one
        else:
            assert status == Delivery.Status.UNKNOWN
    assert sum(received.values()) == len(final) - len(unknown) + sum(received[a] for a in unknown)
    assert Report.objects.get(pk=report.pk).status == Report.Status.SENT
    assert ("unknown" in err) == bool(unknown)
    assert "sent" in out


def test_two_workers_at_once_send_no_duplicates(collected, smtp, worker_env):
    report = approved_report()
    addresses = readers(200)
    smtp.handler.data_delay = 0.002
    workers = [start_worker(worker_env), start_worker(worker_env)]
    for worker in workers:
        _, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
    received = Counter(smtp.recipients())
    assert sorted(received) == sorted(addresses) and set(received.values()) == {1}
    deliveries = Delivery.objects.filter(report=report)
    assert set(deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}
    senders = set(deliveries.values_list("claimed_by", flat=True))
    if connection.vendor == "postgresql":
        assert len(senders) == 2  # SKIP LOCKED let both work side by side
