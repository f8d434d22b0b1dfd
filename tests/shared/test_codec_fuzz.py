"""Hostile bytes against every decoder: each call returns an event within the contract or
raises DecodeError, never anything else, and the fast reader agrees with decode."""

import json
import math
from typing import get_origin

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcraft.shared.contract import codec
from adcraft.shared.contract.codec import DecodeError
from adcraft.shared.contract.events import (
    EVENT_TYPES,
    MAX_COPY_LEN,
    MAX_DEADLINE_MS,
    MAX_ENTRIES,
    MAX_ID_LEN,
    MAX_NAME_LEN,
    MAX_TEXT_LEN,
    MAX_TS_MS,
    AdListed,
    ClickRecorded,
    ConversionRecorded,
    CreativeRequested,
    ElementScored,
    ImpressionServed,
    RecommendationPublished,
)

# No example database: it would be written into the working tree.
FUZZ = settings(max_examples=200, deadline=None, database=None)
READERS = {kind: codec.reader(kind) for kind in EVENT_TYPES}

_BASE = {"event_id": "e", "ts_ms": 0, "ad_id": "a"}
_WHO = _BASE | {"request_id": "r", "user_id": "u"}
VALID = {
    ImpressionServed: _WHO | {"elements": {"s": "e"}, "propensity": 1},
    ClickRecorded: _WHO,
    ConversionRecorded: _WHO | {"value": 0},
    CreativeRequested: _WHO | {"product_id": "p", "placement": "f", "deadline_ms": 0},
    ElementScored: _BASE
    | {"segment": "s", "slot": "s", "element_id": "e", "model_version": "v"}
    | {"score": 0, "uncertainty": 0, "observations": 0},
    RecommendationPublished: _WHO | {"elements": {"s": "e"}, "propensity": 1},
    AdListed: _BASE
    | {"product_id": "p", "product": "dress", "department": "Dresses", "slots": {"s": ["e"]}},
}

LENGTHS = [n + d for n in (0, MAX_NAME_LEN, MAX_ID_LEN, MAX_TEXT_LEN, MAX_COPY_LEN) for d in (0, 1)]
STRINGS = st.text(max_size=8) | st.sampled_from(LENGTHS).map(lambda n: "x" * n)
EDGES = [MAX_TS_MS, MAX_DEADLINE_MS, 1e9, 2**53, 2**63, 2**64]
NUMBERS = (
    st.integers()
    | st.floats()  # NaN and ±inf included: json.dumps writes them as NaN/Infinity tokens
    | st.sampled_from(EDGES).flatmap(lambda n: st.sampled_from([n - 1, n, n + 1, -n]))
)
SCALARS = st.none() | st.booleans() | NUMBERS | STRINGS
MAPS = st.dictionaries(STRINGS, STRINGS | SCALARS, max_size=4) | st.dictionaries(
    st.text(max_size=3), STRINGS, min_size=MAX_ENTRIES, max_size=MAX_ENTRIES + 1
)
MAP_FIELDS = [
    (kind, name)
    for kind in EVENT_TYPES
    for name, info in kind.model_fields.items()
    if get_origin(info.annotation) is dict
]
JSON = st.recursive(
    SCALARS | MAPS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STRINGS, inner, max_size=4),
    max_leaves=16,
)
# JSON text the strategies above never produce.
TOKENS = [b"1e400", b"-1e400", b"1e-400", b"-0", b"9" * 400, b"9" * 5_000, b'"\\ud800"']
DEEP = {"list": b"[" * 10_000 + b"]" * 10_000, "object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000}


def _outcome(decoder, raw, kind):
    try:
        event = decoder(raw)
    except DecodeError as exc:
        return "rejected", exc.reason
    return "accepted", {name: getattr(event, name) for name in kind.model_fields}


def _check(raw, kind):
    """reader and decode agree, and what they accept is within the contract."""
    outcome = _outcome(READERS[kind], raw, kind)
    assert outcome == _outcome(lambda r: codec.decode(r, kind), raw, kind)
    if outcome[0] == "accepted":
        _assert_within_contract(outcome[1], kind)


def _assert_within_contract(fields, kind):
    # orjson writes no int beyond 64 bits and writes NaN and inf as null: re-encoding then
    # decoding to the same fields shows every number is finite and 64-bit.
    assert codec.decode(orjson.dumps(fields), kind).__dict__ == fields
    assert 0 <= fields["ts_ms"] <= MAX_TS_MS
    leaves = [value for value in fields.values() if not isinstance(value, dict)]
    for mapping in (value for value in fields.values() if isinstance(value, dict)):
        assert len(mapping) <= MAX_ENTRIES
        assert all(0 < len(key) <= MAX_ID_LEN for key in mapping)
        leaves += mapping.values()
    for leaf in leaves:
        assert not isinstance(leaf, str) or len(leaf) <= MAX_COPY_LEN
        assert not isinstance(leaf, float) or math.isfinite(leaf)


def _with(kind, field, token):
    """The valid payload of ``kind`` with ``field`` set to the JSON text ``token``."""
    rest = json.dumps({name: value for name, value in VALID[kind].items() if name != field})
    return f"{rest[:-1]}, {json.dumps(field)}: ".encode() + token + b"}"


@FUZZ
@given(st.binary(max_size=64) | st.sampled_from([b"", b"{}", b"null"]))
def test_arbitrary_bytes(raw):
    for kind in EVENT_TYPES:
        _check(raw, kind)


@FUZZ
@given(JSON, st.booleans())
def test_arbitrary_json(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    for kind in EVENT_TYPES:
        _check(raw, kind)


@FUZZ
@given(st.sampled_from(EVENT_TYPES), st.data())
def test_a_valid_event_with_one_field_mutated(kind, data):
    field = data.draw(st.sampled_from([*kind.model_fields, "added_in_v2"]))
    token = data.draw(JSON.map(lambda value: json.dumps(value).encode()) | st.sampled_from(TOKENS))
    _check(_with(kind, field, token), kind)


@FUZZ
@given(st.sampled_from(MAP_FIELDS), MAPS)
def test_a_valid_event_with_one_map_mutated(kind_and_field, value):
    kind, field = kind_and_field
    _check(_with(kind, field, json.dumps(value).encode()), kind)


def test_the_valid_payloads_take_the_fast_path():
    for kind in EVENT_TYPES:
        fast = not kind.__pydantic_decorators__.model_validators
        assert isinstance(READERS[kind](orjson.dumps(VALID[kind])), msgspec.Struct) == fast


@pytest.mark.parametrize("kind", EVENT_TYPES, ids=lambda kind: kind.__name__)
@pytest.mark.parametrize("shape", DEEP)
@pytest.mark.parametrize("where", ["top level", "unknown field", "known field"])
def test_nesting_10_000_deep_is_rejected(kind, shape, where):
    field = {"top level": None, "unknown field": "added_in_v2", "known field": "ad_id"}[where]
    raw = DEEP[shape] if field is None else _with(kind, field, DEEP[shape])
    _check(raw, kind)
    assert _outcome(READERS[kind], raw, kind)[0] == "rejected"
