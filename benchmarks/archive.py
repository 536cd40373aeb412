"""Latency of the archive pages with 1,000 sent issues, next to a trivial Django view in the same run.

    python benchmarks/archive.py [--requests 300]

Requests go through Django's whole stack (middleware, URL routing, views, templates) in-process,
with the test client: no network, no web server. The database is a fresh SQLite file unless
DATABASE_URL is set; the cache is the project's (files). The first request of an issue page renders
it (cold); later ones reuse the cached rendering, as a sent issue never changes.
"""

import argparse
import statistics
import time
from datetime import date, timedelta
from io import StringIO

from scratch import ROOT, django_in_scratch


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per URL")
    parser.add_argument("--reports", type=int, default=1000)
    args = parser.parse_args()

    import os

    os.environ["GITHUB_CACHE_DIR"] = "off"
    scratch = django_in_scratch("bench-archive-")
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.http import HttpResponse
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    from newsletter.build import build_report
    from newsletter.models import ItemSnippet, Report, ReportItem, ReportStatement
    from sources.replay import ReplayServer

    settings.CACHES["default"]["LOCATION"] = str(scratch / "cache")
    settings.ALLOWED_HOSTS = ["*"]
    with ReplayServer(ROOT / "data" / "github") as replay:
        settings.GITHUB_API_URL = replay.url
        call_command("collect", "--date", "2026-01-29", stdout=StringIO())
    base = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    Report.objects.filter(pk=base.pk).update(status="sent")
    sections = list(base.sections.prefetch_related("items__snippets"))
    statements = list(base.statements.prefetch_related("commits", "issues"))
    first_day = date(2026, 1, 29) - timedelta(days=args.reports - 1)
    for n in range(args.reports - 1):
        copy = Report.objects.create(
            date=first_day + timedelta(days=n), language="zh", status="sent", analyzer="heuristic"
        )
        items, snippets = [], []
        for section in sections:
            new_section = type(section).objects.create(report=copy, repository_id=section.repository_id,
                                                       order=section.order, assessment=section.assessment,
                                                       stats=section.stats)  # fmt: skip
            for item in section.items.all():
                item_snippets = list(item.snippets.all())
                item.pk, item.report, item.section = None, copy, new_section
                items.append(item)
                snippets += [(item, snippet) for snippet in item_snippets]
        ReportItem.objects.bulk_create(items, batch_size=500)
        for item, snippet in snippets:
            snippet.pk, snippet.item = None, item
        ItemSnippet.objects.bulk_create([snippet for _, snippet in snippets], batch_size=500)
        copies = ReportStatement.objects.bulk_create(
            ReportStatement(report=copy, kind=s.kind, order=s.order, lead=s.lead, text=s.text) for s in statements
        )
        ReportStatement.commits.through.objects.bulk_create(
            ReportStatement.commits.through(reportstatement_id=new.pk, commit_id=commit.pk)
            for new, old in zip(copies, statements, strict=True)
            for commit in old.commits.all()
        )
        ReportStatement.issues.through.objects.bulk_create(
            ReportStatement.issues.through(reportstatement_id=new.pk, issue_id=issue.pk)
            for new, old in zip(copies, statements, strict=True)
            for issue in old.issues.all()
        )

    def trivial(request):
        return HttpResponse("ok")

    urls = type("urls", (), {"urlpatterns": [path("trivial/", trivial), path("", include("newsletter.urls"))]})
    middle = (first_day + timedelta(days=args.reports // 2)).isoformat()
    targets = {
        "trivial view": "/trivial/",
        "/reports/": "/reports/",
        "/reports/?page=25": "/reports/?page=25",
        f"/reports/{middle}/": f"/reports/{middle}/",
    }
    client = Client()
    rows = []
    with override_settings(ROOT_URLCONF=urls):
        cache.clear()
        started = time.perf_counter()
        assert client.get(f"/reports/{middle}/").status_code == 200
        cold = (time.perf_counter() - started) * 1000
        for label, url in targets.items():
            queries = []

            def count(execute, sql, params, many, context, seen=queries):
                seen.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                assert client.get(url).status_code == 200, url
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
            rows.append((label, statistics.median(samples), percentile(samples, 0.95), len(queries)))

    print(f"{Report.objects.filter(status='sent').count()} sent issues in "
          f"{connection.vendor}; {args.requests} requests per URL through the whole Django stack\n")  # fmt: skip
    print(f"{'page':<26} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, p50, p95, queries in rows:
        print(f"{label:<26} {p50:>8.2f} {p95:>8.2f} {queries:>8}")
    print(f"\nfirst (uncached) render of an issue page: {cold:.1f} ms")


if __name__ == "__main__":
    main()
