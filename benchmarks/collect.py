"""HTTP requests and wall time to collect the bundled days of the three repositories.

    python benchmarks/collect.py [--runs 3]

The replay server runs as its own process (as GitHub would be), the database is a fresh SQLite
file unless DATABASE_URL is set. Each run collects every bundled day cold (no cache), then once
more with the ETag cache filled, where GitHub would answer 304s that cost no rate limit.
"""

import argparse
import socket
import statistics
import subprocess
import sys
import time
from datetime import date

from scratch import ROOT, django_in_scratch, free_port


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("the replay server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs to take the median of")
    args = parser.parse_args()

    scratch = django_in_scratch("bench-collect-")
    from django.conf import settings

    from newsletter.collect import collect_day
    from newsletter.models import Commit, Issue, Repository
    from replay.recorder import recorded_days
    from sources import github

    data = ROOT / "data" / "github"
    days = recorded_days(data)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sources.replay", str(data), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(port)
        url = f"http://127.0.0.1:{port}"
        repositories = list(Repository.objects.enabled())

        def collect_all(source) -> list[tuple]:
            rows = []
            for day in days:
                for repository in repositories:
                    started = time.perf_counter()
                    run = collect_day(repository=repository, day=date.fromisoformat(day), source=source)
                    rows.append((day, repository.full_name, run.commits, run.issues, run.requests,
                                 run.not_modified, time.perf_counter() - started))  # fmt: skip
                    assert not run.error, run.error
            return rows

        cold_walls, cold = [], None
        for _ in range(args.runs):
            settings.GITHUB_CACHE_DIR = None
            Commit.objects.all().delete()
            Issue.objects.all().delete()
            started = time.perf_counter()
            cold = collect_all(github.from_settings(settings, base_url=url))
            cold_walls.append(time.perf_counter() - started)

        settings.GITHUB_CACHE_DIR = scratch / "cache"
        collect_all(github.from_settings(settings, base_url=url))  # fills the cache
        started = time.perf_counter()
        warm = collect_all(github.from_settings(settings, base_url=url))
        warm_wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()

    print(f"Collecting {len(days)} bundled days ({', '.join(days)}) of {len(repositories)} repositories")
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, replay server in its own process\n")
    header = ("day", "repository", "commits", "issues", "requests", "req/commit", "wall s")
    print("{:<11} {:<26} {:>7} {:>6} {:>8} {:>10} {:>7}".format(*header))
    for day, name, commits, issues, requests, _, wall in cold:
        per = f"{requests / commits:.2f}" if commits else "-"
        print(f"{day:<11} {name:<26} {commits:>7} {issues:>6} {requests:>8} {per:>10} {wall:>7.2f}")
    commits = sum(r[2] for r in cold)
    requests = sum(r[4] for r in cold)
    print(f"{'total':<38} {commits:>7} {sum(r[3] for r in cold):>6} {requests:>8} {requests / commits:>10.3f}")
    print(f"\ncold wall time, median of {args.runs}: {statistics.median(cold_walls):.2f} s "
          f"(min {min(cold_walls):.2f}, max {max(cold_walls):.2f}); "
          f"{statistics.median(cold_walls) / requests * 1000:.1f} ms per request")  # fmt: skip
    warm_requests = sum(r[4] for r in warm)
    print(f"re-run with the ETag cache: {warm_requests} requests, {sum(r[5] for r in warm)} answered 304, "
          f"{warm_wall:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
