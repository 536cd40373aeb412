"""What the triage picks on the bundled days: highlights, breaking share, stories, peer overlap.

    python benchmarks/triage.py [--peer-picks FILE] [--verbose]

Collects the bundled days into a scratch database, runs `day_input` (the triage as the analyzers
see it) and prints, per day and repository: commits, highlights, how many are flagged breaking
(and why), the stories found (with members from earlier days), and, with --peer-picks (a Markdown
table | repository | day | SHA | title |), how many of another report's top-rated vLLM/SGLang
commits the highlights include. The peer's picks are calibration, not a target.
"""

import argparse
import os
import re
from pathlib import Path

from scratch import collect_bundled_days, django_in_scratch


def peer_picks(path: Path) -> dict[tuple[str, str], set[str]]:
    """{(display name, day): {short SHA}} from the rows of a Markdown table."""
    picks: dict[tuple[str, str], set[str]] = {}
    for line in path.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[1]) and re.fullmatch(r"[0-9a-f]{7,}", cells[2]):
            picks.setdefault((cells[0].lower(), cells[1]), set()).add(cells[2][:7])
    return picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-picks", type=Path, help="a Markdown table of another report's top picks")
    parser.add_argument("--verbose", action="store_true", help="list every highlight with its score and signals")
    args = parser.parse_args()

    os.environ["GITHUB_CACHE_DIR"] = "off"
    django_in_scratch("bench-triage-")

    from newsletter.gather import day_input

    days = collect_bundled_days()
    picks = peer_picks(args.peer_picks) if args.peer_picks else {}

    from newsletter.analysis.heuristic import HeuristicAnalyzer

    total_highlights = total_breaking = drafted_breaking = 0
    overlap_hit = overlap_all = 0
    for day in days:
        print(f"== {day}")
        data = day_input(day, "en")
        draft = HeuristicAnalyzer().analyze(data)
        drafted_breaking += sum(item.breaking for section in draft.sections for item in section.highlights)
        for repo in data.repos:
            triage = repo.triage
            titles = {c.sha: c.title for c in repo.commits}
            breaking = [sha for sha in triage.highlighted if triage.verdicts[sha].breaking]
            total_highlights += len(triage.highlighted)
            total_breaking += len(breaking)
            print(
                f"{repo.repository.full_name}: {len(repo.commits)} commits, {len(triage.highlighted)} highlighted, "
                f"{len(breaking)} breaking"
            )
            for sha in triage.highlighted:
                verdict = triage.verdicts[sha]
                if args.verbose or verdict.breaking:
                    mark = "B" if verdict.breaking else " "
                    print(f"  {mark} {sha[:7]} {verdict.score:>3} {verdict.category:<11} {titles[sha][:70]}")
                    if args.verbose and verdict.signals:
                        print(f"      signals: {', '.join(verdict.signals)}")
                    if verdict.surface:
                        print(f"      surface: {verdict.surface}")
            for lead, story in triage.stories.items():
                members = [f"{role} {sha[:7]}" for sha, role in story.members]
                members += [f"{m.role} {m.sha[:7]} ({m.day}, earlier)" for m in story.earlier]
                print(f"  story under {lead[:7]}: {', '.join(members)}")
            wanted = picks.get((repo.repository.display_name.lower(), day.isoformat()), set())
            if wanted:
                told = {
                    sha for lead in triage.highlighted for sha, _ in getattr(triage.stories.get(lead), "members", [])
                }
                got = wanted & {sha[:7] for sha in [*triage.highlighted, *told]}
                overlap_hit += len(got)
                overlap_all += len(wanted)
                missed = ", ".join(sorted(wanted - got)) or "-"
                print(f"  peer picks highlighted: {len(got)}/{len(wanted)} (missed: {missed})")
    share = total_breaking / total_highlights if total_highlights else 0
    print(f"\nhighlights: {total_highlights}, flagged breaking by the triage: {total_breaking} ({share:.0%})")
    print(f"flagged breaking in the heuristic draft: {drafted_breaking}")
    if overlap_all:
        print(f"peer picks highlighted: {overlap_hit}/{overlap_all}")


if __name__ == "__main__":
    main()
