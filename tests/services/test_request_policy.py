"""The request worker's pure decisions: Thompson fallback propensities, candidates from the
catalogue, arms, template copy."""

from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from adcraft.services.experiments.assignment import arm_of
from adcraft.services.request_worker.copy_choice import brief, pick, template
from adcraft.services.request_worker.policy import candidates, thompson, thompson_probabilities
from adcraft.shared.contract.copy_contract import CTA_STYLES, TONES
from adcraft.shared.contract.events import AdListed
from adcraft.shared.contract.posteriors import AdPosterior, ElementPosterior, PairPosterior
from adcraft.shared.copy_rules.postprocess import CopyRules, variants
from adcraft.shared.copy_rules.screen import CopyScreen
from adcraft.shared.runtime.settings import CopySettings

E = ElementPosterior
AD = AdPosterior(
    "ad1",
    "young",
    "v7",
    {
        "title": [E("t1", 0.5, 0.3, 40, 0), E("t2", 0.2, 0.6, 9, 0), E("t3", -0.4, 0.2, 80, 0)],
        "image": [E("i1", 0.0, 1.0, 0, 0), E("i2", 0.1, 0.9, 2, 0)],
    },
    [PairPosterior("title", "t1", "image", "i2", 0.3, 0.2)],
)


def _listing(**changes) -> AdListed:
    fields = {
        "event_id": "l1",
        "ts_ms": 1,
        "ad_id": "ad1",
        "product_id": "p1",
        "product": "dress",
        "department": "Dresses",
        "attributes": ["flowy"],
        "highlights": ["for summer"],
        "slots": {"title": ["t1", "t2", "t3"], "image": ["i1", "i2"], "copy": ["warm/soft"]},
    }
    return AdListed.model_validate(fields | changes)


def test_thompson_samples_exactly_the_distribution_it_logs():
    probabilities = thompson_probabilities(AD)
    draws = [thompson(AD, np.random.default_rng(seed)) for seed in range(4_000)]
    for slot, p in probabilities.items():
        ids = [e.element_id for e in AD.slots[slot]]
        seen = Counter(d.elements[slot] for d in draws)
        assert chisquare([seen[i] for i in ids], p * len(draws)).pvalue > 0.001
    for d in draws[:50]:
        expected = np.prod(
            [
                probabilities[s][[e.element_id for e in AD.slots[s]].index(d.elements[s])]
                for s in AD.slots
            ]
        )
        assert d.propensity == pytest.approx(expected)
        assert 0 < d.propensity <= 1


def test_thompson_prefers_what_the_posterior_prefers_and_keeps_exploring():
    p = thompson_probabilities(AD)["title"]
    assert p.argmax() == 0 and p.min() >= 0.02 / 3


def test_same_seed_same_choice():
    assert thompson(AD, np.random.default_rng(5)) == thompson(AD, np.random.default_rng(5))


def test_candidates_follow_the_catalogue_new_elements_at_the_prior():
    listing = _listing(slots={"title": ["t1", "t9"], "image": ["i2"]})
    ad = candidates(listing, AD, "young", prior_sd=1.4)
    assert [e.element_id for e in ad.slots["title"]] == ["t1", "t9"]
    assert ad.slots["title"][1] == E("t9", 0.0, 1.4, 0.0, 0.0)
    assert ad.pairs == AD.pairs  # t1-i2 still both listed
    assert candidates(_listing(slots={"title": ["t2"]}), AD, "young", 1.4).pairs == []
    fresh = candidates(listing, None, "young", 1.4)
    assert fresh.model_version == "prior" and all(e.sd == 1.4 for e in fresh.slots["title"])


def test_arms_are_sticky_per_user_and_split_by_share():
    arms = {"generator": 0.75, "thompson": 0.25}
    assert all(arm_of(f"u{i}", arms, "s") == arm_of(f"u{i}", arms, "s") for i in range(100))
    share = np.mean([arm_of(f"u{i}", arms, "s") == "thompson" for i in range(20_000)])
    assert 0.24 < share < 0.26
    moved = np.mean(
        [arm_of(f"u{i}", arms, "s") != arm_of(f"u{i}", arms, "t") for i in range(2_000)]
    )
    assert moved > 0.2  # a new salt reshuffles


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("cta", CTA_STYLES)
@pytest.mark.parametrize("highlights", [["for summer"], []])
def test_template_copy_passes_post_processing(tone, cta, highlights):
    settings = CopySettings()
    rules, screen = CopyRules.from_settings(settings), CopyScreen.from_settings(settings)
    copy_brief = brief(_listing(highlights=highlights), "young", f"{tone}/{cta}")
    text = template(copy_brief, rules, screen)
    kept, _ = variants(copy_brief, [text], rules, set(), screen)
    assert text and [v.text for v in kept] == [text]
    assert "dress" in text


def test_a_cached_variant_is_fixed_by_the_request():
    cached = [("v-a", "A."), ("v-b", "B."), ("v-c", "C.")]
    assert pick(cached, "r1") == pick(cached, "r1")
    assert len({pick(cached, f"r{i}") for i in range(100)}) == 3


def test_a_listing_with_an_inconsistent_default_or_style_is_rejected():
    with pytest.raises(ValueError, match="default"):
        _listing(default={"title": "t7"})
    with pytest.raises(ValueError, match="tone/cta_style"):
        _listing(slots={"copy": ["loud/now"]})
    assert _listing().default_creative() == {"title": "t1", "image": "i1", "copy": "warm/soft"}
