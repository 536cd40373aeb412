"""Schedules: setup is idempotent, and real qcluster processes (ORM broker, Redis broker) run the build."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import Failure, Schedule

from newsletter.days import report_zone
from newsletter.models import DailyRun, Heartbeat, Report
from newsletter.schedule import next_at, setup_schedules
from tests.test_dispatch_processes import database_url

pytestmark = pytest.mark.django_db


def test_setup_schedules_is_idempotent(settings):
    settings.DAILY_BUILD_AT = (7, 0)
    settings.DAILY_SEND_AT = (8, 30)
    first = setup_schedules()
    second = setup_schedules()
    assert [line.split()[0] for line in first] == ["created"] * 3
    assert [line.split()[0] for line in second] == ["updated"] * 3
    build = Schedule.objects.get(name="ai-infra-daily: build")
    send = Schedule.objects.get(name="ai-infra-daily: send")
    assert Schedule.objects.count() == 3
    assert build.schedule_type == Schedule.DAILY and build.func == "newsletter.tasks.daily_build_task"
    assert build.next_run.astimezone(report_zone()).time() == clock(7, 0)
    assert send.next_run.astimezone(report_zone()).time() == clock(8, 30)
    assert timezone.now() < build.next_run <= timezone.now() + timedelta(days=1)


def test_next_at_is_in_the_report_time_zone():
    now = datetime(2026, 1, 29, 23, 30, tzinfo=UTC)  # 07:30 on the 30th in Shanghai
    assert next_at((7, 0), now).isoformat() == "2026-01-31T07:00:00+08:00"
    assert next_at((8, 0), now).isoformat() == "2026-01-30T08:00:00+08:00"


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_a_real_qcluster_runs_the_scheduled_build(replay, smtp, editor, broker):
    if broker == "redis" and not redis_answers():
        pytest.skip("no Redis answers on 127.0.0.1:6379")
    Schedule.objects.create(
        name="test: build the bundled day",
        func="newsletter.tasks.daily_build_task",
        kwargs=repr({"day": "2026-01-29"}),
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() - timedelta(minutes=1),
    )
    Schedule.objects.create(
        name="test: heartbeat",
        func="newsletter.tasks.heartbeat_task",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() - timedelta(minutes=1),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_", "DATABASE_", "REDIS_", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="ai_infra_daily.settings",
        DATABASE_URL=database_url(),
        GITHUB_API_URL=replay.url,
        GITHUB_CACHE_DIR="off",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        Q_WORKERS="1",
        LOG_LEVEL="WARNING",
    )
    if broker == "redis":
        env.update(Q_BROKER="redis", REDIS_URL="redis://127.0.0.1:6379/15")
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=settings.BASE_DIR, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 75  # the cluster's scheduler looks at schedules every 30 seconds
        while not DailyRun.objects.filter(day="2026-01-29", status=DailyRun.Status.BUILT).exists():
            assert cluster.poll() is None, cluster.stderr.read()
            failures = list(Failure.objects.values_list("func", "result"))
            assert time.monotonic() < deadline and not failures, f"the cluster did not run the build: {failures}"
            time.sleep(0.5)
    finally:
        cluster.send_signal(signal.SIGTERM)  # to the cluster's own process: it stops its workers itself
        cluster.wait(timeout=30)
    assert Report.objects.filter(date="2026-01-29", status="draft").exists()
    assert Heartbeat.objects.filter(name="qcluster").exists()
    assert any("the draft is waiting for review" in str(m["Subject"]) for m in smtp.messages)
