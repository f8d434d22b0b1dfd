"""Post-processing rules: CTA, length, banned terms, the screen, duplicates, novelty."""

import pytest

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules import postprocess
from adcraft.shared.copy_rules.cta import STYLES, find_all, find_cta, struck
from adcraft.shared.copy_rules.postprocess import CopyRules
from adcraft.shared.copy_rules.screen import CopyScreen
from adcraft.shared.runtime.settings import CopySettings

RULES = CopyRules.from_settings(CopySettings())
SCREEN = CopyScreen.from_settings(CopySettings())
BRIEF = CopyBrief("dress", "Dresses", ("flowy", "soft"), "adult", "warm", "direct")


@pytest.mark.parametrize(
    "raw",
    [
        "A soft knit top.",
        "Guaranteed the softest knit top you will ever own, a miracle of comfort for every day. "
        "Of the week and then some more words.",
        '\n\n  "Breezy linen dress for summer days. Shop now!"  \nsecond line',
        "So light. Order yours today! " * 10,
    ],
)
@pytest.mark.parametrize("placement", ["headline", "description"])
@pytest.mark.parametrize("style", sorted(STYLES))
def test_finished_copy_always_passes_the_rules_or_is_empty(raw, placement, style):
    text = postprocess.finish(raw, style, placement, RULES, key="k")
    assert len(text) <= RULES.limits[placement]
    if text:
        assert len(find_all(text)) == 1 and text.endswith(find_all(text)[0])
        assert "\n" not in text


@pytest.mark.parametrize(
    "raw", ["", "A soft knit top for", "Soft, light and made for", "Shop now. Buy it."]
)
def test_unfinished_or_bare_cta_copy_is_dropped_with_its_reason(raw):
    kept, dropped = postprocess.variants(BRIEF, [raw], RULES, set())
    assert kept == [] and sum(dropped.values()) == 1
    assert set(dropped) <= {"unfinished", "bare_cta"}


def test_copy_is_never_cut_mid_phrase():
    raw = "Soft and breezy and light as air with pockets and a flattering cut. Grab it now!"
    rules = CopyRules(limits={"description": 40})
    assert postprocess.finish(raw, "direct", "description", rules, "k") == ""
    kept, dropped = postprocess.variants(BRIEF, [raw], rules, set())
    assert kept == [] and dropped == {"too_long": 1}


def test_only_the_last_cta_is_kept_even_when_glued_to_the_sentence_before():
    raw = "Very cozy, the cuffs add detail.Order one here. Shop one online."
    assert (
        postprocess.finish(raw, "direct", "description", RULES, "k")
        == "Very cozy, the cuffs add detail. Shop one online."
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ("This dress is shit and so are you, idiot. Shop it now.", "offensive"),
        ("Fuck yeah, a soft dress. Shop it now.", "offensive"),
        ("The fabric isn't as soft as it was this weekend. Shop it now.", "negative"),
        ("A flowy dress that feels cheap. Shop it now.", "negative"),
        ("Sadly the zipper breaks. Shop it now.", "negative"),
        ("This jacket was the best. Shop it now.", "wrong_product"),
        ("Almost gone: a flowy dress for summer days. Shop it now.", "claim"),
        ("A flowy dress, guaranteed to please. Shop it now.", "banned"),
        ("A flowy dress for summer, before it sells out. Shop it now.", "claim"),
        ("The softest dress you will ever own. Shop it now.", "claim"),
        ("Say hello to your best dress! Shop it now.", "claim"),
    ],
)
def test_abusive_negative_wrong_and_claiming_variants_are_dropped_with_their_reason(text, reason):
    kept, dropped = postprocess.variants(BRIEF, [text], RULES, set(), SCREEN)
    assert kept == [] and dropped == {reason: 1}


def test_clean_variants_pass_the_screen_and_drops_are_counted_per_reason():
    generated = [
        "A flowy dress for summer days. Shop it now.",
        "Grab it before it sells out!",
        "A flowy dress for summer. Grab it before it sells out!",
        "Twirl all day in this soft dress. Buy yours today.",
    ]
    kept, dropped = postprocess.variants(BRIEF, generated, RULES, set(), SCREEN)
    # A CTA with a scarcity claim has no ending of its style: one of the style replaces it.
    assert [v.text for v in kept][::2] == [generated[0], generated[3]]
    assert kept[1].text.startswith("A flowy dress for summer. ") and "sells" not in kept[1].text
    assert dropped == {"bare_cta": 1}


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
    body = "Soft knit that drapes beautifully all day long."  # 47 of 70 characters
    rules = CopyRules(limits={"description": 70})
    text = postprocess.finish(body, style, "description", rules, key)
    assert text.startswith(f"{body} ")
    assert len(text) <= 70


def test_long_copy_is_cut_after_a_sentence_never_at_a_comma():
    rules = CopyRules(limits={"description": 60})
    raw = "Soft and breezy all summer. Light as air, with pockets and a flattering cut."
    text = postprocess.finish(f"{raw} Grab it now!", "urgent", "description", rules, "k")
    assert text == "Soft and breezy all summer. Grab it now!"
    raw = "A warm, flattering dress perfect for any outfit choice and every weekend."
    assert postprocess.finish(f"{raw} Grab it now!", "urgent", "description", rules, "k") == ""


def test_near_duplicates_and_novelty():
    recent = ["Soft knit top for every day. Shop now."]
    assert postprocess.is_near_duplicate("Soft knit top for every day! Shop now.", recent, RULES)
    assert not postprocess.is_near_duplicate(
        "A breezy linen dress. Discover it today.", recent, RULES
    )
    corpus = {g for t in recent for g in postprocess.word_ngrams(t, 3)}
    assert postprocess.novelty(recent[0], corpus) == 0.0
    assert postprocess.novelty("A breezy linen dress for summer.", corpus) == 1.0


@pytest.mark.parametrize(
    "raw", ["Cute dress. Explore it today.", "Cute dress. See it this season."]
)
def test_a_soft_headline_is_served_with_a_soft_cta_that_sets_no_time(raw):
    final = postprocess.finish(raw, "soft", "headline", RULES, key="k", product="dress")
    action = find_cta(final)
    assert final.startswith("Cute dress. ") and len(final) <= RULES.limits["headline"], final
    assert action is not None and action.split()[0] in STYLES["soft"][0]
    assert not struck(action, "soft"), final


def test_a_cta_with_another_styles_ending_gives_way_to_one_of_the_asked_style():
    raw = "A soft dress for easy days. Buy this look before the weekend."
    final = postprocess.finish(raw, "direct", "description", RULES, key="k", product="dress")
    action = find_cta(final)
    assert final.startswith("A soft dress for easy days. ") and action is not None, final
    assert not action.endswith("before the weekend.") and not struck(action, "direct"), final
