"""Names and figures an analyzer writes must be in the sources; a sentence that invents one is dropped."""

from datetime import date

import pytest

from newsletter.analysis.draft import Statement
from newsletter.analysis.grounding import Sources, keep_grounded, sentences, ungrounded
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.build import check_draft
from newsletter.gather import day_input

SOURCES = Sources.of(
    ["Add `fused_moe_kernel` for SM100", "+    if capability == 100:", "speeds up decode by 1.8x (12 ms)"]
)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("新增 `fused_moe_kernel`，在 SM100 上启用。", ""),
        ("Decode is 1.8x faster and takes 12 ms per step.", ""),
        ("解码快了 1.8 倍。", ""),
        ("Adds `fused_moe_kernel()` and `capability == 100`.", ""),
        ("Calls `made_up_helper` on every step.", "identifier"),
        ("Throughput grows by 37%.", "number"),
        ("延迟降低 20 ms。", "number"),
        ("每步耗时 12 毫秒。", ""),  # the same unit in the reader's language
        ("Each step takes 12 s.", "number"),  # the number is there, but as milliseconds
        ("Decode is 12% faster.", "number"),
        ("Uses 1.8 GB less memory.", "number"),
        ("It touches 3 files and 2 kernels.", ""),  # counts, not measurements: code computes those
    ],
)
def test_a_sentence_is_grounded_only_by_what_the_sources_say(sentence, reason):
    assert ungrounded(sentence, SOURCES) == reason


def test_only_the_failing_sentences_are_dropped():
    text = "新增 `fused_moe_kernel`。吞吐提升 37%。仅在 SM100 上生效。"
    assert sentences(text) == ["新增 `fused_moe_kernel`。", "吞吐提升 37%。", "仅在 SM100 上生效。"]
    assert keep_grounded(text, SOURCES) == ("新增 `fused_moe_kernel`。仅在 SM100 上生效。", ["number"])
    english = "It adds `fused_moe_kernel`. It calls `nothing_real` too. Decode is 1.8x faster."
    assert keep_grounded(english, SOURCES) == ("It adds `fused_moe_kernel`. Decode is 1.8x faster.", ["identifier"])
    assert sentences("See e.g. the 1.5 release. Then more.") == ["See e.g. the 1.5 release.", "Then more."]


@pytest.mark.django_db
def test_check_draft_drops_invented_names_and_figures_and_tells_the_editor(collected):
    data = day_input(date(2026, 1, 29), "en")
    draft = HeuristicAnalyzer().analyze(data)
    item = next(section for section in draft.sections if section.highlights).highlights[0]
    item.details = "It rewires the loader. It adds `invented_symbol_xyz` to the engine."
    item.impact = "Decode gets 37.5% faster on every GPU."
    item.title = "Adds `another_invented_name`"
    draft.summary.append(Statement("A 9.9x speed-up nobody measured.", [item.sha]))
    check_draft(draft, data)
    assert item.details == "It rewires the loader." and item.impact == ""
    assert "another_invented_name" not in item.title
    assert "A 9.9x speed-up nobody measured." not in [s.text for s in draft.summary]
    assert draft.dropped == {"identifier": 1, "number": 2, "headline": 1}
    assert any("not in the sources" in warning for warning in draft.warnings)


@pytest.mark.django_db
def test_the_heuristic_analyzer_drops_nothing_on_the_bundled_days(collected):
    for day in (date(2026, 1, 28), date(2026, 1, 29)):
        for language in ("zh", "en"):
            data = day_input(day, language)
            draft = HeuristicAnalyzer().analyze(data)
            check_draft(draft, data)
            assert draft.dropped == {} and draft.warnings == [], (day, language, draft.warnings)
