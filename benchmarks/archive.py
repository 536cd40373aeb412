"""Latency of the archive pages with 1,000 sent issues, next to a trivial Django view in the same run.

    python benchmarks/archive.py [--requests 300]

Requests go through Django's whole stack (middleware, URL routing, views, templates) in-process,
with the test client: no network, no web server. The database is a fresh SQLite file unless
DATABASE_URL is set; the caches are the project's (the shared one in files, the process's memory
in front of it). The first request of a page renders it (cold); later ones are the cached
response, their validators made from the archive's state as read under the archive version (one
read of the shared cache; a query only after a change). The home page is cached whole too, with
the visitor's CSRF token put in. KB is the body's size. The 304 rows ask again with
the validators the first answer carried (If-None-Match, or If-Modified-Since alone), as a browser
or feed reader does; without validators they are plain 200s.
"""

import argparse
import statistics
import time
from datetime import date, timedelta

from scratch import collect_bundled_days, django_in_scratch


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
    from django.db import connection
    from django.http import HttpResponse
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    from newsletter.build import build_report
    from newsletter.models import ItemSnippet, Report, ReportItem, ReportStatement

    settings.CACHES["default"]["LOCATION"] = str(scratch / "cache")
    settings.ALLOWED_HOSTS = ["*"]
    collect_bundled_days()
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
    issue_url = f"/reports/{middle}/"
    targets = {
        "trivial view": ("/trivial/", None),
        "/ (home)": ("/", None),
        "/reports/": ("/reports/", None),
        "/reports/?page=25": ("/reports/?page=25", None),
        "issue page": (issue_url, None),
        "issue Markdown": (f"/reports/{middle}.md", None),
        "/feed/": ("/feed/", None),
        "issue, If-None-Match": (issue_url, "ETag"),
        "/feed/, If-None-Match": ("/feed/", "ETag"),
        "issue, If-Modified-Since": (issue_url, "Last-Modified"),
    }
    asks = {"ETag": "HTTP_IF_NONE_MATCH", "Last-Modified": "HTTP_IF_MODIFIED_SINCE"}
    client = Client()
    rows = []
    with override_settings(ROOT_URLCONF=urls):
        cache.clear()
        cold = {}
        for url in (issue_url, "/feed/"):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            cold[url] = (time.perf_counter() - started) * 1000
        for label, (url, validator) in targets.items():
            first = client.get(url)
            assert first.status_code == 200, url
            headers = {asks[validator]: first[validator]} if validator and first.has_header(validator) else {}
            queries = []

            def count(execute, sql, params, many, context, seen=queries):
                seen.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                answer = client.get(url, **headers)
            status, size = answer.status_code, len(answer.content)
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(url, **headers)
                samples.append((time.perf_counter() - started) * 1000)
            rows.append((label, status, statistics.median(samples), percentile(samples, 0.95), len(queries), size))

    print(f"{Report.objects.filter(status='sent').count()} sent issues in "
          f"{connection.vendor}; {args.requests} requests per URL through the whole Django stack\n")  # fmt: skip
    trivial_p50 = rows[0][2]
    print(f"{'page':<28} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'x trivial':>9} {'queries':>8} {'KB':>7}")
    for label, status, p50, p95, queries, size in rows:
        ratio, kb = p50 / trivial_p50, size / 1024
        print(f"{label:<28} {status:>6} {p50:>8.2f} {p95:>8.2f} {ratio:>9.1f} {queries:>8} {kb:>7.1f}")
    print(f"\nfirst (uncached) answer: issue page {cold[issue_url]:.1f} ms, /feed/ {cold['/feed/']:.1f} ms")


if __name__ == "__main__":
    main()
