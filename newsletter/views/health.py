"""/healthz: the database, the django-q2 cluster's last heartbeat, and how long ago the last build ran.

It is public (load balancers call it), so it tells nothing of unpublished work: no draft's date,
only the age of the last build, the last daily run's status and the last issue already published.
"""

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
    built_at = Report.objects.order_by("-built_at").values_list("built_at", flat=True).first()
    run = DailyRun.objects.exclude(status__in=[DailyRun.Status.FAILED, DailyRun.Status.RETRYING]).first()
    published = Report.objects.filter(status=Report.Status.SENT).order_by("-date").values_list("date", flat=True)
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
            "seconds_ago": round((timezone.now() - built_at).total_seconds()) if built_at else None,
            "daily_run_status": run.status if run else None,
        },
        "last_published_issue": published[0].isoformat() if published else None,
    }
    # Only a dead database makes the service unhealthy for a load balancer; a stopped cluster
    # shows as "degraded" for the operator's monitoring.
    return JsonResponse(body)
