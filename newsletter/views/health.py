"""/healthz: the database, the django-q2 cluster's last heartbeat, and the last successful build."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from newsletter.models import DailyRun, Heartbeat, Report

HEARTBEAT_STALE_SECONDS = 180  # the heartbeat task runs every minute


@require_safe
@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    beat = Heartbeat.objects.filter(name="qcluster").first()
    age = (timezone.now() - beat.at).total_seconds() if beat else None
    build = Report.objects.order_by("-built_at").values("date", "built_at").first()
    run = DailyRun.objects.exclude(status__in=[DailyRun.Status.FAILED, DailyRun.Status.RETRYING]).first()
    cluster_ok = age is not None and age < HEARTBEAT_STALE_SECONDS
    body = {
        "status": "ok" if cluster_ok else "degraded",
        "database": "ok",
        "cluster": {
            "last_heartbeat": beat.at.isoformat() if beat else None,
            "seconds_ago": round(age) if age is not None else None,
            "alive": cluster_ok,
        },
        "last_build": {
            "report_date": build["date"].isoformat() if build else None,
            "built_at": build["built_at"].isoformat() if build else None,
            "daily_run": {"day": run.day.isoformat(), "status": run.status} if run else None,
        },
    }
    # Only a dead database makes the service unhealthy for a load balancer; a stopped cluster
    # shows as "degraded" for the operator's monitoring.
    return JsonResponse(body)
