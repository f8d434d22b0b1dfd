"""The copy contract: the wording tables word exactly the names it defines, and a brief is
checked field by field."""

import pytest

from adcraft.services.copywriter import prompts
from adcraft.shared.contract.copy_contract import (
    CTA_STYLES,
    PLACEMENTS,
    SEGMENTS,
    TONES,
    CopyBrief,
    check,
    placement_limits,
)
from adcraft.shared.copy_rules import cta
from adcraft.shared.copy_rules.postprocess import CopyRules
from adcraft.shared.runtime.settings import CopySettings

BRIEF = CopyBrief("dress", "Dresses", ("flowy", "soft"), "adult", "warm", "soft", "headline")


def test_wording_tables_cover_exactly_the_contract_names():
    assert set(prompts.PERSONAS) == set(SEGMENTS)
    assert set(prompts.TONE_WORDING) == set(TONES)
    assert set(prompts.CTA_WORDING) == set(cta.STYLES) == set(CTA_STYLES)
    assert set(placement_limits(CopySettings())) == set(PLACEMENTS)
    assert CopyRules().limits == placement_limits(CopySettings())


def test_a_brief_survives_its_trip_as_text_inputs():
    assert CopyBrief.from_fields(BRIEF.fields()) == BRIEF
    spaced = BRIEF._replace(attributes=(" flowy", "", "soft ")).fields()
    assert CopyBrief.from_fields(spaced).attributes == ("flowy", "soft")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"product": " "}, "PRODUCT must not be empty"),
        ({"tone": "sarcastic"}, r"TONE must be one of \['bold', 'elegant', 'warm'\]"),
        ({"cta_style": "pushy"}, r"CTA_STYLE must be one of \['direct', 'soft', 'urgent'\]"),
        ({"placement": "banner"}, r"PLACEMENT must be one of \['headline', 'description'\]"),
        ({"tone": "sarcastic", "placement": "banner"}, "TONE"),  # the first invalid field
    ],
)
def test_an_invalid_brief_is_refused_with_its_field_named(change, message):
    with pytest.raises(ValueError, match=message):
        check(BRIEF._replace(**change))


def test_a_valid_brief_passes_for_any_segment():
    assert check(BRIEF) is BRIEF
    assert check(BRIEF._replace(segment="unknown")).segment == "unknown"
