"""Calls, tokens, cache reads and cost of the Claude path, and wall time of the heuristic analyzer,
on the bundled days.

    python benchmarks/analysis.py [--runs 5] [--language zh]

Tokens are measured at the fake Messages API in tests/fake_anthropic.py (a real HTTP server the
SDK talks to), which counts one token per 4 bytes of UTF-8, bills the output schema as input, and
serves a prefix marked cache_control from its cache after the first answer that wrote it, only if
the prefix reaches the model's minimum (1024 tokens for Sonnet, 2048 for Haiku): the benchmark
cannot show caching the API would not do. The answers are the fake's, sized like real ones.
Costs use the list prices in newsletter/analysis/pricing.py: the synthesis model (Sonnet class)
selects and synthesizes, the item model (Haiku class) analyzes each commit.
"""

import argparse
import os
import statistics
import time
from collections import defaultdict

from scratch import collect_bundled_days, django_in_scratch

KINDS = ("selection", "commit_item", "repository_synthesis", "issue_synthesis")
BUDGET = 0.10  # dollars per issue


def bundled_days_with_fake_claude(prefix: str) -> tuple[list, object]:
    """A scratch database holding every bundled day, collected offline, and the Claude client pointed
    at a started fake Messages API: returns the days and the fake (the caller stops it)."""
    os.environ["GITHUB_CACHE_DIR"] = "off"
    django_in_scratch(prefix)
    from django.conf import settings

    from tests.fake_anthropic import FakeAnthropic

    days = collect_bundled_days()
    fake = FakeAnthropic().start()
    os.environ["ANTHROPIC_BASE_URL"] = fake.url
    settings.ANTHROPIC_API_KEY = "sk-bench"
    return days, fake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="heuristic builds to take the median of")
    parser.add_argument("--language", default="zh", choices=("zh", "en"))
    args = parser.parse_args()

    days, fake = bundled_days_with_fake_claude("bench-analysis-")
    from newsletter.analysis import prompts
    from newsletter.analysis.pricing import cache_minimum, cost, estimated_tokens
    from newsletter.build import build_report
    from newsletter.models import CommitAnalysis, Report

    print(f"Claude path on {len(days)} bundled days ({args.language}), measured at the fake Messages API\n")
    header = ("day", "build", "kind", "model", "calls", "input", "cache write", "cache read", "output", "cost $")
    row = "{:<11} {:<8} {:<21} {:<18} {:>5} {:>8} {:>11} {:>10} {:>7} {:>8}"
    print(row.format(*header))
    per_issue = []
    for day in days:
        for label, force in (("first", False), ("rebuild", True)):
            # A day's first build starts cold (the cache lives 5 minutes, builds are a day apart);
            # a rebuild right after it finds the cache warm.
            fake.reset() if label == "first" else fake.requests.clear()
            report = build_report(day=day, language=args.language, analyzer="anthropic", force=force)
            totals = defaultdict(lambda: defaultdict(int))
            models = {}
            for request in fake.requests:
                models[request.kind] = request.model
                totals[request.kind]["calls"] += 1
                for key, value in request.usage.items():
                    totals[request.kind][key] += value
            spent_total = 0.0
            for kind in KINDS:
                t = totals.get(kind)
                if not t:
                    continue
                spent = cost(
                    models[kind],
                    input_tokens=t["input_tokens"],
                    output_tokens=t["output_tokens"],
                    cache_write=t["cache_creation_input_tokens"],
                    cache_read=t["cache_read_input_tokens"],
                )
                spent_total += spent
                print(
                    row.format(
                        day.isoformat(), label, kind, models[kind], t["calls"], t["input_tokens"],
                        t["cache_creation_input_tokens"], t["cache_read_input_tokens"], t["output_tokens"],
                        f"{spent:.4f}",
                    )
                )  # fmt: skip
            calls = sum(t["calls"] for t in totals.values())
            prompt_tokens = sum(
                t["input_tokens"] + t["cache_creation_input_tokens"] + t["cache_read_input_tokens"]
                for t in totals.values()
            )
            read = sum(t["cache_read_input_tokens"] for t in totals.values())
            print(
                f"{day.isoformat():<11} {label:<8} {'= the issue':<21} {'':<18} {calls:>5} "
                f"{'':>8} {'':>11} {read:>10} {'':>7} {spent_total:>8.4f}   "
                f"({read / prompt_tokens if prompt_tokens else 0:.0%} of prompt tokens read from cache)"
            )
            assert abs(float(report.cost_usd) - spent_total) < 1e-5, (report.cost_usd, spent_total)
            if label == "first":
                per_issue.append(spent_total)
    fake.stop()

    models = Report.objects.first().model_ids
    print(f"\nmodels: selection and synthesis {models['synthesis']}, per commit {models['item']}")
    print(
        "cost per issue at list prices: " + ", ".join(f"${c:.4f}" for c in per_issue)
        + f" (mean ${statistics.mean(per_issue):.4f}; budget ${BUDGET:.2f}: "
        + ("within" if max(per_issue) < BUDGET else "OVER") + ")"
    )  # fmt: skip
    print(f"cached per-commit analyses in the database: {CommitAnalysis.objects.count()}")
    print("\nstable prefix (guide + task) by kind, estimated tokens vs the minimum its model caches:")
    for language in ("zh", "en"):
        guide = prompts.guide(language)
        for kind, model in (
            ("select", models["synthesis"]), ("item", models["item"]),
            ("repository", models["synthesis"]), ("issue", models["synthesis"]),
        ):  # fmt: skip
            task = prompts.task(language, kind)
            tokens = estimated_tokens(guide + "\n\n" + task)
            print(f"  {language} {kind:<11} {tokens:>5} tokens, {model} caches from {cache_minimum(model)}")

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
