"""Dispatch throughput and memory: 10,000 subscribers over 14 variants on PostgreSQL, then 50,000.

    python benchmarks/dispatch.py [--database-url postgres://postgres@127.0.0.1:5432/ai_infra_daily_bench]

Each size runs in its own process (so peak RSS is that run's), against an SMTP sink in another
process. Next to the whole dispatch (claim, render per subscriber, send, record), the same
messages are sent pre-rendered with plain smtplib over one connection: the ceiling on this
machine, measured in the same run. The database is dropped and created again for each size.
"""

import argparse
import json
import os
import resource
import smtplib
import subprocess
import sys
import time
from datetime import date

from scratch import ROOT, free_port

SIZES = (10_000, 50_000)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ai_infra_daily_bench"


def sink(port: int) -> None:
    """An SMTP server that accepts everything and counts it; prints the count when stopped."""
    from aiosmtpd.controller import Controller

    class Counter:
        messages = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            Counter.messages += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the parent closes our stdin
    finally:
        controller.stop()
        print(Counter.messages, flush=True)


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def django_for(url: str, port: int) -> None:
    os.environ.update(
        DATABASE_URL=url,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        SEND_RATE_PER_SECOND="0",
        GITHUB_CACHE_DIR="off",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="newsletter.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def setup(size: int, url: str, port: int) -> None:
    """A fresh database with the collected day, an approved report and `size` subscribers."""
    django_for(url, port)
    from io import StringIO

    from django.conf import settings
    from django.core.management import call_command

    from newsletter.build import build_report
    from newsletter.models import Report, Repository, Subscriber
    from sources.replay import ReplayServer

    call_command("migrate", verbosity=0)
    with ReplayServer(ROOT / "data" / "github") as replay:
        settings.GITHUB_API_URL = replay.url
        call_command("collect", "--date", "2026-01-29", stdout=StringIO())
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    Report.objects.filter(pk=report.pk).update(status=Report.Status.APPROVED)

    repositories = list(Repository.objects.order_by("pk"))
    subsets = [[r for bit, r in enumerate(repositories) if mask >> bit & 1] for mask in range(1, 8)]
    people = [
        Subscriber(email=f"reader{n}@example.com", status="active", language="zh", format=("markdown", "html")[n % 2])
        for n in range(size)
    ]
    Subscriber.objects.bulk_create(people, batch_size=5000)
    through = Subscriber.repositories.through
    links = [
        through(subscriber_id=person.pk, repository_id=repository.pk)
        for n, person in enumerate(Subscriber.objects.order_by("pk").only("pk"))
        for repository in subsets[(n // 2) % len(subsets)]
    ]
    through.objects.bulk_create(links, batch_size=10000)


def run(url: str, port: int) -> dict:
    """One measured dispatch, in a process of its own: its peak RSS is the dispatch's."""
    django_for(url, port)
    from newsletter.dispatch import dispatch_report
    from newsletter.mail import report_email
    from newsletter.models import Delivery, Report, ReportVariant, Subscriber
    from newsletter.render import email as email_render

    report = Report.objects.get()
    size = Subscriber.objects.count()
    compiles_before = email_render.compiles
    started = time.perf_counter()
    summary = dispatch_report(report, batch_size=500)
    elapsed = time.perf_counter() - started
    compiles = email_render.compiles - compiles_before
    dispatch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The ceiling: the same messages, rendered beforehand (outside the clock), sent with smtplib.
    raw_seconds, raw_sent, raw_bytes = 0.0, 0, 0
    smtp = smtplib.SMTP("127.0.0.1", port)
    variants = {v.key: v for v in ReportVariant.objects.filter(report=report)}
    deliveries = Delivery.objects.filter(report=report, status="sent").select_related("subscriber", "report")
    chunk = []
    for delivery in deliveries.iterator(chunk_size=1000):
        variant = variants[delivery.variant_key]
        message = report_email(delivery=delivery, variant=variant, subscriber=delivery.subscriber)
        chunk.append((delivery.subscriber.email, message.message().as_bytes(linesep="\r\n")))
        if len(chunk) == 1000:
            raw_seconds, raw_sent, raw_bytes = _send_raw(smtp, chunk, raw_seconds, raw_sent, raw_bytes)
            chunk = []
    if chunk:
        raw_seconds, raw_sent, raw_bytes = _send_raw(smtp, chunk, raw_seconds, raw_sent, raw_bytes)
    smtp.quit()
    return {
        "size": size,
        "sent": summary.counts.get("sent", 0),
        "skipped": summary.counts.get("skipped", 0),
        "variants": summary.variants,
        "html_variants": ReportVariant.objects.filter(report=report).exclude(html="").count(),
        "mjml_compiles": compiles,
        "seconds": elapsed,
        "rate": summary.counts.get("sent", 0) / elapsed,
        "raw_rate": raw_sent / raw_seconds if raw_seconds else 0,
        "mean_kb": raw_bytes / raw_sent / 1024 if raw_sent else 0,
        "dispatch_peak_rss_mb": dispatch_rss,
    }


def _send_raw(smtp, chunk, seconds, sent, size):
    started = time.perf_counter()
    for address, data in chunk:
        smtp.sendmail("daily@localhost", [address], data)
    return seconds + time.perf_counter() - started, sent + len(chunk), size + sum(len(d) for _, d in chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        return sink(args.sink)
    if args.setup:
        return setup(args.setup, args.database_url, args.port)
    if args.run:
        print(json.dumps(run(args.database_url, args.port)), flush=True)
        return None

    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        recreate_database(args.database_url)
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--sink", str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert server.stdout.readline().strip() == "ready"
        common = ["--port", str(port), "--database-url", args.database_url]
        subprocess.run([sys.executable, __file__, "--setup", str(size), *common], check=True)
        child = subprocess.run([sys.executable, __file__, "--run", *common], capture_output=True, text=True)
        received = int(server.communicate(input="")[0].strip() or 0)
        if child.returncode:
            raise SystemExit(child.stderr)
        row = json.loads(child.stdout.strip().splitlines()[-1])
        row["received"] = received
        rows.append(row)

    print("Dispatch on PostgreSQL to a local SMTP sink (another process); rate limit off\n")
    header = ("subscribers", "sent", "skipped", "variants", "MJML", "seconds", "msg/s", "smtplib msg/s", "KB/msg",
              "peak RSS MB")  # fmt: skip
    print("{:>11} {:>7} {:>7} {:>8} {:>5} {:>8} {:>7} {:>13} {:>6} {:>11}".format(*header))
    for row in rows:
        print(
            f"{row['size']:>11} {row['sent']:>7} {row['skipped']:>7} {row['variants']:>8} {row['mjml_compiles']:>5} "
            f"{row['seconds']:>8.1f} {row['rate']:>7.0f} {row['raw_rate']:>13.0f} {row['mean_kb']:>6.1f} "
            f"{row['dispatch_peak_rss_mb']:>11.0f}"
        )
        assert row["mjml_compiles"] == row["html_variants"], row
        assert row["received"] == 2 * row["sent"], row  # the dispatch's copies and the ceiling's
    print("\nMJML compiles = HTML variants; Markdown variants need no compile. The sink received every message.")


if __name__ == "__main__":
    main()
