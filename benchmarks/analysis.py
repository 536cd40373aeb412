"""Tokens and cost of the Claude path, and wall time of the heuristic analyzer, on the bundled days.

    python benchmarks/analysis.py [--runs 5]

Tokens are measured at the fake Messages API in tests/fake_anthropic.py (a real HTTP server the
SDK talks to), which counts one token per 4 bytes of UTF-8 and serves system blocks marked
cache_control from its cache after their first use, as the real API does. Costs use the list
prices in newsletter/analysis/pricing.py for the default models.
"""

import argparse
import os
import statistics
import time
from collections import defaultdict
from datetime import date
from io import StringIO

from scratch import ROOT, django_in_scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="heuristic builds to take the median of")
    args = parser.parse_args()

    os.environ["GITHUB_CACHE_DIR"] = "off"
    django_in_scratch("bench-analysis-")
    from django.conf import settings
    from django.core.management import call_command

    from newsletter.analysis.pricing import cost
    from newsletter.build import build_report
    from newsletter.models import CommitAnalysis, Report
    from sources.recorder import recorded_days
    from sources.replay import ReplayServer
    from tests.fake_anthropic import FakeAnthropic

    data = ROOT / "data" / "github"
    days = [date.fromisoformat(d) for d in recorded_days(data)]
    fake = FakeAnthropic().start()
    os.environ["ANTHROPIC_BASE_URL"] = fake.url
    settings.ANTHROPIC_API_KEY = "sk-bench"
    with ReplayServer(data) as replay:
        settings.GITHUB_API_URL = replay.url
        for day in days:
            call_command("collect", "--date", day.isoformat(), stdout=StringIO())

    print(f"Claude path on {len(days)} bundled days (zh), measured at the fake Messages API\n")
    header = ("day", "build", "calls", "input", "cache write", "cache read", "output", "cached", "cost $")
    print("{:<11} {:<8} {:>5} {:>8} {:>11} {:>10} {:>7} {:>7} {:>9}".format(*header))
    per_issue_costs = []
    for day in days:
        for label, force in (("first", False), ("rebuild", True)):
            fake.reset() if label == "first" else fake.requests.clear()
            report = build_report(day=day, language="zh", analyzer="anthropic", force=force)
            totals = defaultdict(int)
            by_model = defaultdict(lambda: defaultdict(int))
            for request in fake.requests:
                for key, value in request.usage.items():
                    totals[key] += value
                    by_model[request.model][key] += value
            spent = sum(
                cost(
                    model,
                    input_tokens=u["input_tokens"],
                    output_tokens=u["output_tokens"],
                    cache_write=u["cache_creation_input_tokens"],
                    cache_read=u["cache_read_input_tokens"],
                )
                for model, u in by_model.items()
            )
            prompt = totals["input_tokens"] + totals["cache_creation_input_tokens"] + totals["cache_read_input_tokens"]
            cached = totals["cache_read_input_tokens"] / prompt if prompt else 0
            items = sum(1 for r in fake.requests if r.kind == "commit_item")
            print(
                f"{day.isoformat():<11} {label:<8} {len(fake.requests):>5} {totals['input_tokens']:>8} "
                f"{totals['cache_creation_input_tokens']:>11} {totals['cache_read_input_tokens']:>10} "
                f"{totals['output_tokens']:>7} {cached:>7.1%} {spent:>9.4f}"
                + (f"   ({items} per-commit calls)" if label == "rebuild" else "")
            )
            assert abs(float(report.cost_usd) - spent) < 1e-5, (report.cost_usd, spent)
            if label == "first":
                per_issue_costs.append(spent)
    models = Report.objects.first().model_ids
    print(f"\nmodels: per commit {models['item']}, synthesis {models['synthesis']}")
    print(f"estimated cost per issue at list prices: ${statistics.mean(per_issue_costs):.4f} (mean of {len(days)})")
    print(f"cached per-commit analyses in the database: {CommitAnalysis.objects.count()}")
    fake.stop()

    walls = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for day in days:
            for language in ("zh", "en"):
                build_report(day=day, language=language, analyzer="heuristic", force=True)
        walls.append(time.perf_counter() - started)
    builds = len(days) * 2
    print(
        f"\nheuristic analyzer: {builds} reports (2 days x zh/en) in {statistics.median(walls):.2f} s, "
        f"median of {args.runs} (min {min(walls):.2f}, max {max(walls):.2f}); "
        f"{statistics.median(walls) / builds * 1000:.0f} ms per report including the database writes"
    )


if __name__ == "__main__":
    main()
