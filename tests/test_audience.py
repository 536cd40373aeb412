"""Who gets which variant: keys, variants of a subscriber's repositories. Pure: no database."""

import pytest

from newsletter.audience import Variant, variant_for

ACTIVE = ["flashinfer-ai/flashinfer", "sgl-project/sglang", "vllm-project/vllm"]


def test_a_variant_converts_to_its_key_and_back():
    variant = Variant(("sgl-project/sglang", "vllm-project/vllm"), "zh", "html")
    assert variant.key == "zh|html|sgl-project/sglang,vllm-project/vllm"
    assert Variant.from_key(variant.key) == variant


@pytest.mark.parametrize(
    ("repositories", "output"),
    [((), "html"), (("vllm-project/vllm", "sgl-project/sglang"), "html"), (("vllm-project/vllm",), "pdf")],
)
def test_a_variant_is_never_empty_unsorted_or_of_an_unknown_format(repositories, output):
    with pytest.raises(ValueError):
        Variant(repositories, "en", output)


def test_a_subscriber_gets_what_they_follow_that_moved():
    assert variant_for(ACTIVE, ["VLLM-project/vllm", "other/repo"], "en", "markdown") == Variant(
        ("vllm-project/vllm",), "en", "markdown"
    )
    assert variant_for(ACTIVE, ["other/repo"], "en", "html") is None
    assert variant_for(ACTIVE, ACTIVE, "zh", "html").repositories == tuple(ACTIVE)
