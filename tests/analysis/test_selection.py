"""What code guarantees around the model's selection: the floor, the cap, story leads, known SHAs."""

from newsletter.analysis import selection
from newsletter.analysis.diffs import SymbolChanges
from newsletter.analysis.triage import Story, Triage, Verdict


def sha(n: int) -> str:
    return f"{n:02d}" * 20


def verdict(n: int, category: str = "Feature", score: int = 40, noise: bool = False) -> Verdict:
    return Verdict(
        sha(n),
        category,
        score,
        False,
        noise,
        (f"category {category}",),
        ("source",),
        SymbolChanges((), ()),
        reason=f"category {category}",
    )


def day(floor=(), stories=None) -> Triage:
    """Ten commits, oldest first and best first; the rules pick 1-4."""
    verdicts = {sha(n): verdict(n, score=90 - n) for n in range(1, 11)}
    triage = Triage(
        verdicts=verdicts,
        highlighted=[sha(n) for n in (1, 2, 3, 4)],
        listed=[sha(n) for n in range(5, 11)],
        stories=stories or {},
    )
    triage.floor = [sha(n) for n in floor]
    members = {m for story in triage.stories.values() for m, _ in story.members if m != story.lead}
    triage.ranked = [s for s in verdicts if s not in members]
    return triage


def test_the_floor_is_kept_and_the_cap_holds():
    triage = day(floor=(9,))
    choice = selection.model_choice(triage, [(sha(5)[:12], "a"), (sha(6)[:12], "b"), (sha(7)[:12], "c")], 3, "en")
    assert choice.highlighted == [sha(9), sha(5), sha(6)]  # the floor first, then the model's order
    assert choice.reasons[sha(5)] == "a" and choice.reasons[sha(9)].startswith("always highlighted: ")


def test_a_floor_larger_than_the_cap_is_never_cut():
    triage = day(floor=(8, 9, 10))
    choice = selection.model_choice(triage, [(sha(1)[:12], "a")], 2, "zh")
    assert choice.highlighted == [sha(8), sha(9), sha(10)]
    assert choice.reasons[sha(8)].startswith("保底入选：")


def test_unknown_and_ambiguous_shas_are_ignored_and_nothing_known_means_no_choice():
    triage = day()
    choice = selection.model_choice(triage, [("f" * 12, "x"), ("0101", "too short"), (sha(3), "full")], 8, "en")
    assert choice.highlighted == [sha(3)] and choice.ignored == ["f" * 12, "0101"]
    assert selection.model_choice(triage, [("f" * 12, "x")], 8, "en") is None


def test_a_story_member_maps_to_its_lead_once():
    story = Story(lead=sha(4), members=[(sha(2), "change"), (sha(4), "revert")])
    triage = day(stories={sha(4): story})
    choice = selection.model_choice(triage, [(sha(2)[:12], "the change"), (sha(4)[:12], "the revert")], 8, "en")
    assert choice.highlighted == [sha(4)] and choice.reasons[sha(4)] == "the change"
    applied = selection.apply(triage, choice.highlighted)
    assert applied.highlighted == [sha(4)] and sha(2) not in applied.listed
    assert applied.listed == [sha(n) for n in (1, 3, 5, 6, 7, 8, 9, 10)]  # commit order, each once
    assert applied.story_of(sha(4)) is story


def test_the_rules_pick_and_few_commits():
    triage = day(floor=(1,))
    rules = selection.rule_choice(triage, "en")
    assert rules.highlighted == triage.highlighted
    assert rules.reasons[sha(1)] == "always highlighted: category Feature"
    assert rules.reasons[sha(2)] == "picked by the rules: category Feature"
    small = Triage({sha(n): verdict(n) for n in (1, 2)}, [sha(1)], [sha(2)], ranked=[sha(1), sha(2)])
    everything = selection.analyze_all(small, "zh")
    assert sorted(everything.highlighted) == [sha(1), sha(2)]
    assert everything.reasons[sha(2)] == "当天仅 2 个提交，全部分析"
