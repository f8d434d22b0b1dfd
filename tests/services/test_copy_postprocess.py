"""Post-processing rules: CTA, length, banned terms, duplicates, novelty."""

import pytest

from services.copywriter import postprocess
from services.copywriter.cta import STYLES, find_cta
from services.copywriter.postprocess import CopyRules
from shared.settings import CopySettings

RULES = CopyRules.from_settings(CopySettings())


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "A soft knit top",
        "Guaranteed the softest knit top you will ever own, a miracle of comfort for every day "
        "of the week and then some more words",
        '\n\n  "Breezy linen dress for summer days. Shop now!"  \nsecond line',
        "Order yours today! " * 10,
    ],
)
@pytest.mark.parametrize("placement", ["headline", "description"])
@pytest.mark.parametrize("style", sorted(STYLES))
def test_finished_copy_always_passes_the_rules(raw, placement, style):
    text = postprocess.finish(raw, style, placement, RULES, key="k")
    assert 0 < len(text) <= RULES.limits[placement]
    assert find_cta(text) is not None
    assert "\n" not in text
    lowered = text.lower()
    assert not any(term in lowered for term in RULES.banned)


def test_copy_that_complies_is_left_alone():
    text = "Breezy linen dress for summer days. Shop now!"
    assert postprocess.finish(f'  "{text}"\nmore', "urgent", "description", RULES, "k") == text


def test_missing_cta_is_inserted_in_the_requested_style():
    text = postprocess.finish(
        "Breezy linen dress for summer days.", "soft", "description", RULES, "k"
    )
    assert text.startswith("Breezy linen dress for summer days. ")
    action = text.removeprefix("Breezy linen dress for summer days. ")
    assert find_cta(action) == action
    assert action.split()[0] in STYLES["soft"][0]  # a verb of the soft style


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("key", ["a", "b", "c", "d", "e", "f"])
def test_inserted_cta_fits_the_room_the_body_leaves(style, key):
    body = "Soft knit that drapes beautifully all day long"  # 46 of 70 characters
    rules = CopyRules(limits={"description": 70})
    text = postprocess.finish(body, style, "description", rules, key)
    assert text.startswith(f"{body}. ")
    assert len(text) <= 70


def test_long_copy_is_cut_at_a_word_and_keeps_its_own_cta():
    raw = "Soft and breezy and light as air with pockets and a flattering cut. Grab it now!"
    text = postprocess.finish(
        raw, "direct", "description", CopyRules(limits={"description": 60}), "k"
    )
    assert text.endswith("Grab it now!")
    assert len(text) <= 60
    assert raw.startswith(text.removesuffix(" Grab it now!").rstrip("."))


def test_long_copy_is_cut_after_a_clause_when_one_keeps_enough():
    raw = "Soft and breezy all summer, light as air with pockets and a flattering cut"
    text = postprocess.finish(
        f"{raw}. Grab it now!", "urgent", "description", CopyRules(limits={"description": 60}), "k"
    )
    assert text == "Soft and breezy all summer. Grab it now!"


def test_banned_terms_are_removed_whole_word_any_case():
    rules = CopyRules(banned=("guaranteed", "cure"))
    assert (
        postprocess.remove_banned("GUARANTEED fit, secure pockets", rules) == "Fit, secure pockets"
    )


def test_near_duplicates_and_novelty():
    recent = ["Soft knit top for every day. Shop now."]
    assert postprocess.is_near_duplicate("Soft knit top for every day! Shop now.", recent, RULES)
    assert not postprocess.is_near_duplicate(
        "A breezy linen dress. Discover it today.", recent, RULES
    )
    corpus = {g for t in recent for g in postprocess.word_ngrams(t, 3)}
    assert postprocess.novelty(recent[0], corpus) == 0.0
    assert postprocess.novelty("A breezy linen dress for summer.", corpus) == 1.0
