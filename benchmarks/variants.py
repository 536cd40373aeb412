"""Email variants: MJML compiles and time for every variant of 1 to 10 repositories, and email sizes.

    python benchmarks/variants.py [--max-repositories 10]

On a scratch SQLite database (or DATABASE_URL): the bundled days are collected, then copied into
10 repositories with activity on 2026-01-29 (tests/busy_days.py) and built with the offline
analyzer. For R = 1..10, every HTML variant a reader can pick among the first R repositories
(2^R - 1) is rendered from a cold cache; compiles are counted by wrapping
`newsletter.render.email.compile_mjml`. Then the HTML size of the biggest bundled day and of a
synthetic day with 80 vLLM commits, with the size budget and without it.
"""

import argparse
import itertools
import logging
import time
from datetime import date

from scratch import collect_bundled_days, django_in_scratch


def count_compiles(email_render):
    """Wrap compile_mjml so every compile is counted; returns the counter (a one-item list)."""
    counter = [0]
    compile_mjml = email_render.compile_mjml

    def counted(source: str) -> str:
        counter[0] += 1
        return compile_mjml(source)

    email_render.compile_mjml = counted
    return counter


def all_variants(names: list[str], language: str):
    from newsletter.audience import Variant

    for size in range(1, len(names) + 1):
        for chosen in itertools.combinations(names, size):
            yield Variant(tuple(sorted(chosen)), language, "html")


def html_bytes(report, settings, budget) -> int:
    from newsletter.audience import Variant, active_repositories
    from newsletter.render.email import render_email

    settings.EMAIL_MAX_BYTES = budget
    variant = Variant(tuple(sorted(active_repositories(report))), report.language, "html")
    return len(render_email(report, variant).html.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-repositories", type=int, default=10)
    args = parser.parse_args()
    django_in_scratch("variants-")
    days = collect_bundled_days()

    from django.conf import settings

    from newsletter.build import build_report
    from newsletter.models import Repository
    from newsletter.render import email as email_render
    from tests.busy_days import busy_day, many_repositories

    budget = settings.EMAIL_MAX_BYTES
    sizes = {}  # day -> (without the budget, with it)
    for day in days:
        report = build_report(day=day, language="zh", analyzer="heuristic", force=True)
        sizes[day] = (html_bytes(report, settings, 0), html_bytes(report, settings, budget))
    biggest = max(sizes, key=sizes.get)

    repositories = many_repositories(args.max_repositories)
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic", force=True)
    counter = count_compiles(email_render)
    settings.EMAIL_MAX_BYTES = 0  # whole tables: the same work the whole-template compile did
    print(f"Variants of the 2026-01-29 report (zh, HTML), cold cache per R, EMAIL_MAX_BYTES = 0; "
          f"{report.items.count()} items\n")  # fmt: skip
    print(f"{'R':>2} {'variants':>8} {'compiles':>8} {'seconds':>8} {'ms/variant':>10}")
    for size in range(1, args.max_repositories + 1):
        email_render.forget_compiled()
        names = [r.full_name for r in repositories[:size]]
        counter[0] = 0
        started = time.perf_counter()
        count = 0
        for variant in all_variants(names, "zh"):
            email_render.render_email(report, variant)
            count += 1
        seconds = time.perf_counter() - started
        print(f"{size:>2} {count:>8} {counter[0]:>8} {seconds:>8.2f} {1000 * seconds / count:>10.1f}", flush=True)

    # With the budget, a shortened section is compiled once more: at most 2R + 1 compiles. Many of
    # these variants are over the budget even with every table shortened (a warning each): quiet.
    settings.EMAIL_MAX_BYTES = budget
    logging.getLogger("newsletter.render.email").setLevel(logging.ERROR)
    email_render.forget_compiled()
    counter[0] = 0
    names = [r.full_name for r in repositories]
    sample = list(all_variants(names, "zh"))[::17]  # by size, so every size from 1 to R
    for variant in sample:
        email_render.render_email(report, variant)
    print(f"\nWith EMAIL_MAX_BYTES = {budget}: {counter[0]} compiles for {len(sample)} variants of all sizes "
          f"over {len(names)} repositories (at most 2R + 1 = {2 * len(names) + 1})")  # fmt: skip

    # The busy day: the three bundled repositories again, vLLM with 80 commits.
    Repository.objects.update(enabled=False)
    Repository.objects.filter(owner__in=["vllm-project", "sgl-project", "flashinfer-ai"]).update(enabled=True)
    busy_day(80)
    busy = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic", force=True)
    print(f"\nEmail HTML size (bytes; budget EMAIL_MAX_BYTES = {budget})\n")
    print(f"{'day':<34} {'no budget':>10} {'budget':>10}")
    print(f"{'biggest bundled day ' + biggest.isoformat():<34} {sizes[biggest][0]:>10} {sizes[biggest][1]:>10}")
    print(f"{'2026-01-29 with 80 vLLM commits':<34} {html_bytes(busy, settings, 0):>10} "
          f"{html_bytes(busy, settings, budget):>10}")  # fmt: skip


if __name__ == "__main__":
    main()
