"""How well the report reads, measured on the bundled days with both analyzers and both languages.

    python benchmarks/quality.py

Per day, analyzer and language: the CJK share of the Chinese prose (outside code, tables and
links), the sentence frame repeated most often (a sentence with its names, numbers and Latin words
blanked out), the share of highlights flagged breaking, the share of items whose 变更详情 state a
fact beyond file counts, the sentences the checks dropped (by check), the cost of the issue, and
the fidelity checks (every commit of the day exactly once, every snippet verbatim). The Chinese
examples in shared/report-examples/ are measured the same way, for comparison, and highlights are
compared with the peer picks of the same days.

The Claude path runs against the fake Messages API of tests/fake_anthropic.py: its prose is the
fake's, so for that analyzer the figures measure the pipeline and its checks, not Claude's writing.
"""

import re
from collections import Counter

from analysis import bundled_days_with_fake_claude
from scratch import ROOT
from triage import peer_picks

EXAMPLES = ROOT.parent / "shared" / "report-examples"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")  # letters: digits are neither Chinese nor English
_FENCE = re.compile(r"^( *)(`{3,}).*?^\1\2 *$", re.M | re.S)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_CODE = re.compile(r"`+[^`]*`+")
_SENTENCE = re.compile(r"(?<=[。！？])|(?<=[.!?])\s+")
_COUNTS = re.compile(r"\d+\s*(个文件|files?)\b|[+＋]\d+/[−-]\d+", re.I)


def prose(markdown: str) -> str:
    """The Markdown's running text: no code blocks, tables, headings' markup, links' targets or code spans."""
    text = _FENCE.sub("", markdown)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("|")]
    text = _LINK.sub(r"\1", "\n".join(lines))
    return _CODE.sub("", text)


def cjk_share(markdown: str) -> float:
    text = prose(markdown)
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def frame(sentence: str, language: str = "zh") -> str:
    """The sentence's shape: links, code, numbers and names blanked out. In Chinese every run of Latin
    words is a name or a quoted title; in English only what looks like an identifier is."""
    sentence = _LINK.sub("L", sentence)
    sentence = _CODE.sub("C", sentence)
    if language == "zh":
        sentence = re.sub(r"[A-Za-z][\w.+/-]*(?:\s+[A-Za-z][\w.+/-]*)*", "W", sentence)
    else:
        sentence = re.sub(r"\b\w*(?:[A-Z0-9_./-]\w*){1,}\b|\b[A-Z]\w*", "W", sentence)
    return re.sub(r"\d[\d.,]*", "N", re.sub(r"[*#>\-\s]+", " ", sentence)).strip()


def most_repeated_frame(markdown: str, language: str = "zh") -> tuple[int, str]:
    text = _FENCE.sub("", markdown)
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("|", "#"))]
    frames = Counter(
        frame(part, language)
        for line in lines
        for part in _SENTENCE.split(line)
        if len(_CJK.findall(part)) + len(part) > 12
    )
    frames.pop("", None)
    return (frames.most_common(1)[0][1], frames.most_common(1)[0][0]) if frames else (0, "")


def states_a_fact(details: str) -> bool:
    """More than file counts: a sentence that is not only about how many files and lines changed."""
    return any(not _COUNTS.search(part) and len(part.strip()) >= 8 for part in _SENTENCE.split(details or ""))


def main() -> None:
    days, fake = bundled_days_with_fake_claude("bench-quality-")
    from newsletter.build import check_draft, make_analyzer
    from newsletter.gather import day_input
    from newsletter.models import Report, ReportItem
    from newsletter.render.markdown import render_markdown
    from newsletter.store import store_draft

    print("The examples in shared/report-examples/ (what readers expect):")
    for path in sorted(EXAMPLES.glob("2026-*.md")):
        count, shape = most_repeated_frame(path.read_text())
        print(f"  {path.name:<28} CJK share {cjk_share(path.read_text()):.2f}, most repeated frame x{count}")

    picks = peer_picks(EXAMPLES / "peer-picks.md")
    header = ("day", "analyzer", "lang", "CJK", "frame", "breaking", "facts", "dropped", "cost $", "once", "peer")
    print("\n{:<11} {:<10} {:<4} {:>5} {:>6} {:>9} {:>6} {:>8} {:>7} {:>5} {:>6}".format(*header))
    worst_frames = []
    for analyzer in ("heuristic", "anthropic"):
        for day in days:
            for language in ("zh", "en"):
                fake.reset()
                Report.objects.filter(date=day, language=language).delete()
                data = day_input(day, language)
                draft = make_analyzer(analyzer).analyze(data)
                check_draft(draft, data)
                report = store_draft(draft, data)
                markdown = render_markdown(report)
                items = ReportItem.objects.filter(report=report)
                highlights = [i for i in items if i.kind == ReportItem.Kind.HIGHLIGHT]
                covered = Counter(i.commit.sha for i in items if i.commit_id)
                covered.update(r["sha"] for i in highlights for r in i.related)
                day_shas = {c.sha for repo in data.repos for c in repo.commits}
                once = set(covered) == day_shas and set(covered.values()) == {1}
                count, shape = most_repeated_frame(markdown, language)
                worst_frames.append((count, shape, day, analyzer, language))
                breaking = sum(i.breaking for i in highlights) / len(highlights) if highlights else 0.0
                facts = sum(states_a_fact(i.details) for i in highlights) / len(highlights) if highlights else 0.0
                dropped = ",".join(f"{k}:{v}" for k, v in sorted(draft.dropped.items())) or "0"
                chosen = {i.commit.sha[:7] for i in highlights} | {r["sha"][:7] for i in highlights for r in i.related}
                peer = [(name, picks.get((name, day.isoformat()), set())) for name in ("vllm", "sglang")]
                overlap = "/".join(f"{len(p & chosen)}:{len(p)}" for _, p in peer)
                print(
                    f"{day.isoformat():<11} {analyzer:<10} {language:<4} "
                    f"{cjk_share(markdown) if language == 'zh' else float('nan'):>5.2f} {count:>6} {breaking:>9.2f} "
                    f"{facts:>6.0%} {dropped:>8} {float(report.cost_usd):>7.4f} {'yes' if once else 'NO':>5} "
                    f"{overlap:>6}"
                )
    fake.stop()
    count, shape, day, analyzer, language = max(worst_frames, key=lambda row: row[0])
    print(f"\nmost repeated frame: x{count} ({analyzer}, {language}, {day}): {shape[:100]}")
    print("peer column: highlighted commits (or story members) among the peer's picks, vLLM:SGLang as found:listed")
    print("goals: CJK >= 0.55, frame <= 4, breaking <= 0.25, facts >= 80 %, once = yes")


if __name__ == "__main__":
    main()
