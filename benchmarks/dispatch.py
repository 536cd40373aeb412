"""Dispatch throughput and memory on PostgreSQL: 10,000 subscribers over 14 variants, then 50,000.

    python benchmarks/dispatch.py [--quick] [--database-url postgres://postgres@127.0.0.1:5432/ai_infra_daily_bench]

Every figure comes from one run. The dispatch (claim, build each copy, send, record) runs with
SEND_CONNECTIONS connections against two sinks, each in a process of its own: the project's kind
of SMTP server (aiosmtpd), and a minimal asyncio server that answers SMTP and only counts bytes.
Next to each dispatch, the ceiling: plain smtplib sending the very bytes the dispatch sent
(recorded on the way out) over the same number of connections to the same sink, right after it:
on the aiosmtpd sink three such pairs, and the median of their ratios, since the machine's speed
drifts over minutes and a ratio holds only between figures measured side by side. Then a sink that
answers each command 20 ms after it came, as a relay across a network does, shows what
SEND_CONNECTIONS buys (1, 2, 4, 8), without and with PIPELINING. The preparing (deliveries
created, variants compiled) is timed apart from the sending, and the table gives the rate with
and without it. Peak RSS is the dispatch process's own; queries are counted per message sent;
MJML compiles are counted in the dispatch process by wrapping the compiler. `--quick` runs 2,000
subscribers, one pair and fewer messages per latency point. The database is dropped and created
per size.
"""

import argparse
import asyncio
import json
import os
import resource
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from scratch import ROOT, free_port

SIZES, QUICK_SIZES = (10_000, 50_000), (2_000,)
LATENCY = 0.020  # seconds before each reply of the slow sink
LATENCY_CONNECTIONS = (1, 2, 4, 8)
# Rounds on the aiosmtpd sink, each a dispatch and then its ceiling: the machine's speed drifts over
# minutes, and a ratio holds only between two figures measured side by side.
ROUNDS = 3
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ai_infra_daily_bench"


# --- sinks (each runs in its own process until its stdin closes, then prints what it got) -----------
def aiosmtpd_sink(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        messages = size = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            Counter.messages += 1
            Counter.size += len(envelope.original_content)
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()
        print(Counter.messages, Counter.size, flush=True)


def byte_sink(port: int, delay: float, pipelining: bool = False) -> None:
    """Answers every command with a success `delay` seconds after it arrived, as a relay across a
    network does (replies to commands sent together come back together), and counts messages
    and DATA bytes. Offers PIPELINING when asked."""
    counted = {"messages": 0, "bytes": 0}
    offers = b"250-PIPELINING\r\n" if pipelining else b""

    async def session(reader, writer):
        loop = asyncio.get_running_loop()

        def reply(text: bytes) -> None:
            if delay:
                loop.call_later(delay, writer.write, text)
            else:
                writer.write(text)

        reply(b"220 sink ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                reply(b"250-sink\r\n" + offers + b"250-8BITMIME\r\n250 SIZE 100000000\r\n")
            elif verb == b"QUIT":
                reply(b"221 bye\r\n")
                await asyncio.sleep(delay)
                break
            elif verb == b"DATA":
                reply(b"354 end with <CRLF>.<CRLF>\r\n")
                tail = b""
                while not tail.endswith(b"\r\n.\r\n"):  # dot-stuffing keeps it out of the content
                    chunk = await reader.read(1 << 16)
                    if not chunk:
                        return
                    counted["bytes"] += len(chunk)
                    tail = (tail + chunk)[-5:]
                counted["messages"] += 1
                reply(b"250 queued\r\n")
            else:
                reply(b"250 ok\r\n")
        writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(session, "127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(serve())
    print(counted["messages"], counted["bytes"], flush=True)


class Sink:
    """A sink process: `with Sink(kind) as sink:`, then `sink.received` after the block."""

    def __init__(self, kind: str):
        self.kind, self.port = kind, free_port()

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, __file__, "--sink", self.kind, str(self.port)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc):
        messages, size = self.process.communicate(input="")[0].split()
        self.received = int(messages), int(size)


# --- the database -------------------------------------------------------------------------------------
def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def django_for(url: str, port: int, connections: int | None = None) -> None:
    os.environ.update(
        DATABASE_URL=url,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        SEND_RATE_PER_SECOND="0",
        GITHUB_CACHE_DIR="off",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="ai_infra_daily.settings",
    )
    if connections:
        os.environ["SEND_CONNECTIONS"] = str(connections)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def setup(size: int, url: str) -> None:
    """A fresh database with the collected day, an approved report and `size` subscribers over 14 variants."""
    django_for(url, 25)  # sends nothing
    from io import StringIO

    from django.conf import settings
    from django.core.management import call_command

    from newsletter.build import build_report
    from newsletter.models import Report, Repository, Subscriber
    from replay.server import ReplayServer

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


def unsend(report, keep: int | None = None) -> None:
    """The report approved again with no delivery (variants too), or, with `keep`, sending with only
    its first `keep` deliveries pending (the others skipped)."""
    from django.db import connection

    from newsletter.dispatch import start_dispatch
    from newsletter.models import Delivery, Report, ReportVariant

    Delivery.objects.filter(report=report).delete()
    ReportVariant.objects.filter(report=report).delete()
    # Tens of thousands of rows deleted and made again every few seconds is the benchmark's doing,
    # not a deployment's: clean up after it, so a later measurement does not pay for an earlier one.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE newsletter_delivery")
    Report.objects.filter(pk=report.pk).update(status=Report.Status.APPROVED)
    report.refresh_from_db()
    if keep is not None:
        start_dispatch(report)
        pending = Delivery.objects.filter(report=report, status="pending").order_by("pk")
        first = list(pending.values_list("pk", flat=True)[:keep])
        Delivery.objects.filter(report=report).exclude(pk__in=first).update(status="skipped")


# --- measuring ----------------------------------------------------------------------------------------
def count_compiles() -> dict:
    """MJML compiles in this process: the render module's compiler, wrapped before dispatch runs."""
    from newsletter.render import email as email_render

    name = "compile_mjml" if hasattr(email_render, "compile_mjml") else "mjml2html"
    original, counter = getattr(email_render, name), {"compiles": 0}

    def counted(*args, **kwargs):
        counter["compiles"] += 1
        return original(*args, **kwargs)

    setattr(email_render, name, counted)
    return counter


def record_bytes(path: str) -> None:
    """Every message the dispatch hands over in this process is appended to `path` (length, then bytes)."""
    from newsletter.smtp_transport import Transport

    lock, out = threading.Lock(), open(path, "ab")  # noqa: SIM115 - open until the process ends
    original = Transport._commands

    def commands(smtp, envelope):
        with lock:
            out.write(len(envelope.content).to_bytes(4, "big") + envelope.content)
        return original(smtp, envelope)

    Transport._commands = staticmethod(commands)


def run(url: str, port: int, connections: int, record: str | None) -> dict:
    """One measured dispatch of the whole report, in a process of its own (its peak RSS is the dispatch's)."""
    django_for(url, port, connections)
    from django.db import connection

    from newsletter.dispatch import dispatch_report, start_dispatch
    from newsletter.models import Report, ReportVariant

    report = Report.objects.get()
    unsend(report)
    compiles = count_compiles()
    if record:
        record_bytes(record)
    queries = {"n": 0}

    def count(execute, sql, params, many, context):
        queries["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        start_dispatch(report)  # what dispatch_report does first; timed apart, as the ceiling has no such step
        prepared = time.perf_counter()
        summary = dispatch_report(report)
        finished = time.perf_counter()
    sent = summary.counts.get("sent", 0)
    return {
        "sent": sent,
        "skipped": summary.counts.get("skipped", 0),
        "variants": summary.variants,
        "html_variants": ReportVariant.objects.filter(report=report).exclude(html="").count(),
        "compiles": compiles["compiles"],
        "rate": sent / (finished - started),
        "prepare_s": prepared - started,
        "send_rate": sent / (finished - prepared),
        "queries_per_message": queries["n"] / sent,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def ceiling(port: int, connections: int, recorded: str) -> dict:
    """smtplib sending the recorded messages, as they are, over `connections` connections."""
    data = Path(recorded).read_bytes()
    messages, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        messages.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    shares = [messages[n::connections] for n in range(connections)]

    def send(share):
        smtp = smtplib.SMTP("127.0.0.1", port)
        for n, message in enumerate(share):
            smtp.sendmail("daily@localhost", [f"reader{n}@example.com"], message)
        smtp.quit()

    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"sent": len(messages), "rate": len(messages) / elapsed, "kb": len(data) / len(messages) / 1024}


def latency(url: str, port: int, per_connection: int) -> dict:
    """The dispatch against the slow sink with 1, 2, 4, 8 connections, `per_connection` messages each;
    and PostgreSQL's plan for the claim, with every delivery of the report created."""
    django_for(url, port)
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from newsletter.dispatch import dispatch_report, due_deliveries, start_dispatch
    from newsletter.models import Report

    report = Report.objects.get()
    unsend(report)
    start_dispatch(report)  # every delivery pending, as the first claim finds them
    with transaction.atomic():  # FOR UPDATE wants one
        plan = due_deliveries(report, timezone.now()).select_for_update(skip_locked=True)[:500].explain()
    rows = []
    for connections in LATENCY_CONNECTIONS:
        unsend(report, keep=per_connection * connections)
        settings.SEND_CONNECTIONS = connections
        started = time.perf_counter()
        sent = dispatch_report(report).counts.get("sent", 0)
        rows.append({"connections": connections, "sent": sent, "rate": sent / (time.perf_counter() - started)})
    return {"rows": rows, "plan": plan}


def child(*args) -> dict | list:
    done = subprocess.run([sys.executable, __file__, *map(str, args)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--quick", action="store_true", help="2,000 subscribers, fewer messages per latency point")
    parser.add_argument("--connections", type=int, default=4, help="SEND_CONNECTIONS of the throughput runs")
    parser.add_argument("--sink", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)  # port, connections, file to record into or -
    parser.add_argument("--ceiling", nargs=3, help=argparse.SUPPRESS)  # port, connections, recorded file
    parser.add_argument("--latency", nargs=2, type=int, help=argparse.SUPPRESS)  # port, messages per connection
    args = parser.parse_args()
    url = args.database_url
    if args.sink:
        kind, port = args.sink
        if kind == "aiosmtpd":
            return aiosmtpd_sink(int(port))
        return byte_sink(int(port), LATENCY * kind.startswith("slow"), pipelining=kind == "slow-pipelining")
    if args.setup:
        setup(args.setup, url)
        return print(json.dumps({"subscribers": args.setup}))
    if args.run:
        port, connections, record = args.run
        return print(json.dumps(run(url, int(port), int(connections), None if record == "-" else record)))
    if args.ceiling:
        port, connections, recorded = args.ceiling
        return print(json.dumps(ceiling(int(port), int(connections), recorded)))
    if args.latency:
        return print(json.dumps(latency(url, *args.latency)))

    sizes = QUICK_SIZES if args.quick else SIZES
    n = args.connections
    rows, slow = [], {}
    for size in sizes:
        recreate_database(url)
        child("--database-url", url, "--setup", size)
        measure_ceiling = size == sizes[0]  # the ratios at 10,000; the 50,000 run measures rate and memory
        measured = [("aiosmtpd", n) for n in range(1, (1 if args.quick else ROUNDS) + 1)] + [("bytes", 1)]
        for kind, round_ in measured if measure_ceiling else [("bytes", 1)]:
            with tempfile.NamedTemporaryFile(prefix="dispatch-", suffix=".bytes") as recorded:
                with Sink(kind) as sink:
                    row = child("--database-url", url, "--run", sink.port, n, recorded.name if measure_ceiling else "-")
                    if measure_ceiling:
                        row["ceiling"] = child("--ceiling", sink.port, n, recorded.name)
                row.update(size=size, sink=kind, round=round_, received=sink.received)
            rows.append(row)
        if size == sizes[0]:
            for kind in ("slow", "slow-pipelining"):
                with Sink(kind) as sink:
                    slow[kind] = child("--database-url", url, "--latency", sink.port, 15 if args.quick else 60)

    print(f"Dispatch on PostgreSQL, SEND_CONNECTIONS={n}, rate limit off; ceiling = smtplib sending the same bytes")
    print(f"over {n} connections to the same sink\n")
    header = ("subscribers", "sink", "sent", "prepare s", "msg/s", "sending", "ceiling", "ratio", "KB/msg",
              "queries/msg", "peak RSS MB", "MJML/HTML variants/variants")  # fmt: skip
    print("{:>11} {:>11} {:>6} {:>9} {:>6} {:>7} {:>7} {:>11} {:>6} {:>11} {:>11} {:>27}".format(*header))
    for row in rows:
        top, sink = row.get("ceiling"), row["sink"] + (f" #{row['round']}" if row["round"] > 1 else "")
        limit = top["rate"] if top else float("nan")
        kb = top["kb"] if top else row["received"][1] / row["received"][0] / 1024
        print(
            f"{row['size']:>11} {sink:>11} {row['sent']:>6} {row['prepare_s']:>9.1f} {row['rate']:>6.0f} "
            f"{row['send_rate']:>7.0f} {limit:>7.0f} {row['rate'] / limit:>4.2f}/{row['send_rate'] / limit:>4.2f} "
            f"{kb:>6.1f} {row['queries_per_message']:>11.2f} {row['peak_rss_mb']:>11.0f} "
            f"{row['compiles']:>14}/{row['html_variants']}/{row['variants']}"
        )
    paired = [row for row in rows if row["sink"] == "aiosmtpd"]
    if len(paired) > 1:
        low = statistics.median(row["rate"] / row["ceiling"]["rate"] for row in paired)
        high = statistics.median(row["send_rate"] / row["ceiling"]["rate"] for row in paired)
        print(f"\nOn the aiosmtpd sink, median of {len(paired)} rounds (each a dispatch, then its ceiling): "
              f"ratio {low:.2f}/{high:.2f}")  # fmt: skip
    print("\nmsg/s counts the preparing (deliveries created, variants compiled) in; sending is the rest of the")
    print("dispatch, the part the ceiling does too. ratio = msg/s / ceiling, then sending / ceiling.")
    print("\nMJML compiles: never more than the HTML variants (Markdown variants need none).")
    print(f"\nA sink {LATENCY * 1000:.0f} ms away (each reply leaves that long after its command came), "
          f"{sizes[0]} subscribers;\nmsg/s with MAIL, RCPT, DATA one by one, then pipelined (the sink offers "
          "PIPELINING):")  # fmt: skip
    print("connections  sent  one by one  pipelining")
    for plain, pipelined in zip(slow["slow"]["rows"], slow["slow-pipelining"]["rows"], strict=True):
        print(f"{plain['connections']:>11} {plain['sent']:>5} {plain['rate']:>11.1f} {pipelined['rate']:>11.1f}")
    print(f"\nThe claim's plan on PostgreSQL with {sizes[0]} deliveries pending:\n{slow['slow']['plan']}")
    for row in rows:  # checked once every figure is printed
        sent_twice = 2 if row.get("ceiling") else 1  # the dispatch's copies, and the ceiling's
        assert row["received"][0] == sent_twice * row["sent"], row
        assert 0 < row["compiles"] <= row["html_variants"], row


if __name__ == "__main__":
    main()
