from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter.build import build_report
from newsletter.models import DailyRun, Heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_cluster_and_last_build(client, collected):
    body = client.get("/healthz").json()
    assert body["database"] == "ok" and body["status"] == "degraded"
    assert body["cluster"] == {"last_heartbeat": None, "seconds_ago": None, "alive": False}
    report = build_report(day=timezone.datetime(2026, 1, 29).date(), language="zh", analyzer="heuristic")
    DailyRun.objects.create(day=report.date, status=DailyRun.Status.BUILT)
    Heartbeat.beat()  # after the build, so the figure below does not depend on how long a build takes
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["cluster"]["alive"] and body["cluster"]["seconds_ago"] <= 1
    assert body["last_build"]["seconds_ago"] <= 60 and body["last_build"]["daily_run_status"] == "built"
    # A draft is unpublished work: its date appears nowhere in this public answer.
    assert "2026-01-29" not in client.get("/healthz").content.decode()
    assert body["last_published_issue"] is None
    report.status = "sent"
    report.save(update_fields=["status"])
    assert client.get("/healthz").json()["last_published_issue"] == "2026-01-29"


def test_a_stale_heartbeat_is_degraded(client):
    Heartbeat.objects.create(name="qcluster", at=timezone.now() - timedelta(minutes=10))
    body = client.get("/healthz").json()
    assert body["status"] == "degraded" and body["cluster"]["alive"] is False
    assert client.get("/healthz").status_code == 200


def test_healthz_is_get_only(client):
    assert client.post("/healthz").status_code == 405
