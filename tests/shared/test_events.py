import json

import orjson
import pytest

from adcraft.shared.contract import codec, topics
from adcraft.shared.contract.codec import DecodeError
from adcraft.shared.contract.events import (
    EVENT_TYPES,
    MAX_TS_MS,
    AdListed,
    ClickRecorded,
    ConversionRecorded,
    CreativeRequested,
    ElementScored,
    ImpressionServed,
    RecommendationPublished,
)

EXAMPLES = [
    ImpressionServed(
        event_id="e1",
        ts_ms=1,
        ad_id="ad1",
        request_id="r1",
        user_id="u1",
        elements={"title": "t1", "image": "i2"},
        propensity=0.25,
        segment="young",
        context={"device": "mobile", "hour": 13},
    ),
    ClickRecorded(event_id="e2", ts_ms=2, ad_id="ad1", request_id="r1", user_id="u1"),
    ConversionRecorded(
        event_id="e3", ts_ms=3, ad_id="ad1", request_id="r1", user_id="u1", value=19.5
    ),
    CreativeRequested(
        event_id="e4",
        ts_ms=4,
        ad_id="ad1",
        request_id="r2",
        user_id="u1",
        product_id="p9",
        placement="feed",
        deadline_ms=50,
    ),
    ElementScored(
        event_id="e5",
        ts_ms=5,
        ad_id="ad1",
        segment="young",
        slot="title",
        element_id="t1",
        score=0.1,
        uncertainty=0.02,
        observations=30,
        model_version="v1",
    ),
    RecommendationPublished(
        event_id="e6",
        ts_ms=6,
        ad_id="ad1",
        request_id="r2",
        user_id="u1",
        elements={"title": "t1"},
        copy_text={"headline": "Shop now"},
        propensity=0.5,
    ),
    AdListed(
        event_id="e7",
        ts_ms=7,
        ad_id="ad1",
        product_id="p9",
        product="dress",
        department="Dresses",
        attributes=["soft"],
        highlights=["for work"],
        slots={"title": ["t1", "t2"], "copy": ["warm/urgent", "bold/direct"]},
        default={"title": "t2"},
    ),
]


def test_examples_cover_every_event_type():
    assert {type(e) for e in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip(event):
    assert codec.decode(codec.encode(event), type(event)) == event


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_unknown_fields_are_tolerated(event):
    data = orjson.loads(codec.encode(event)) | {"added_in_v1_1": {"x": 1}}
    assert codec.decode(orjson.dumps(data), type(event)) == event


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_missing_required_field_is_named(event):
    data = orjson.loads(codec.encode(event))
    del data["ad_id"]
    with pytest.raises(DecodeError, match=r"^ad_id: Field required"):
        codec.decode(orjson.dumps(data), type(event))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ts_ms", "1700000000", "ts_ms: Input should be a valid integer"),
        ("propensity", 0.0, "propensity: Input should be greater than 0"),
        ("propensity", 1.5, "propensity: Input should be less than or equal to 1"),
        ("elements", {"title": 3}, "elements.title: Input should be a valid string"),
        ("elements", {}, "elements: Dictionary should have at least 1 item"),
        ("user_id", None, "user_id: Input should be a valid string"),
    ],
)
def test_mistyped_fields_are_rejected(field, value, message):
    data = orjson.loads(codec.encode(EXAMPLES[0])) | {field: value}
    with pytest.raises(DecodeError) as info:
        codec.decode(orjson.dumps(data), ImpressionServed)
    assert info.value.reason.startswith(message)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b"NaN", "expected a JSON object, got float"),
        (b"-Infinity", "expected a JSON object, got float"),
        (b"[" * 10_000 + b"]" * 10_000, "invalid JSON: recursion limit exceeded"),
        (None, "empty message"),
    ],
)
def test_malformed_bytes(raw, reason):
    with pytest.raises(DecodeError, match=reason):
        codec.decode(raw, ClickRecorded)
    with pytest.raises(DecodeError, match=reason):
        codec.reader(ClickRecorded)(raw)


@pytest.mark.parametrize(
    ("error", "reason"),
    [(RecursionError(), "nested too deeply"), (MemoryError("x"), "undecodable: MemoryError: x")],
)
def test_a_parser_failure_of_any_kind_is_a_decode_error(monkeypatch, error, reason):
    def fail(raw):
        raise error

    monkeypatch.setattr(ClickRecorded, "model_validate_json", fail)
    with pytest.raises(DecodeError, match=reason):
        codec.decode(codec.encode(EXAMPLES[1]), ClickRecorded)


MANY = {f"k{i}": "v" for i in range(33)}


@pytest.mark.parametrize(
    ("event", "field", "value", "reason"),
    [
        (EXAMPLES[1], "event_id", "e" * 129, "event_id: String should have at most 128 char"),
        (EXAMPLES[1], "user_id", "", "user_id: String should have at least 1 char"),
        (EXAMPLES[1], "ts_ms", MAX_TS_MS + 1, "ts_ms: Input should be less than or equal to"),
        (EXAMPLES[1], "ts_ms", 2**64, "ts_ms: Input should be less than or equal to"),
        (EXAMPLES[0], "segment", "s" * 65, "segment: String should have at most 64 char"),
        (EXAMPLES[0], "propensity", float("nan"), "propensity: Input should be a finite number"),
        (EXAMPLES[0], "elements", MANY, "elements: Dictionary should have at most 32 items"),
        (EXAMPLES[0], "elements", {"t" * 129: "e"}, r"elements\.t+\.\[key\]: String should"),
        (EXAMPLES[0], "context", MANY, "context: Dictionary should have at most 32 items"),
        (EXAMPLES[0], "context", {"k" * 65: 1}, r"context\.k+\.\[key\]: String should"),
        (EXAMPLES[0], "context", {"k": "v" * 257}, "context.k.constrained-str: String should"),
        (EXAMPLES[0], "context", {"k": float("inf")}, "context.k.constrained-str: Input should"),
        (EXAMPLES[2], "value", 1e9 + 1, "value: Input should be less than or equal to 1000000000"),
        (EXAMPLES[2], "value", float("inf"), "value: Input should be a finite number"),
        (EXAMPLES[3], "placement", "p" * 65, "placement: String should have at most 64 char"),
        (EXAMPLES[3], "deadline_ms", 3_600_001, "deadline_ms: Input should be less than or equal"),
        (EXAMPLES[4], "score", float("-inf"), "score: Input should be a finite number"),
        (EXAMPLES[5], "copy_text", {"body": "c" * 1025}, "copy_text.body: String should have"),
        (EXAMPLES[5], "model_versions", MANY, "model_versions: Dictionary should have at most"),
    ],
)
def test_values_out_of_bounds_are_rejected(event, field, value, reason):
    kind = type(event)
    raw = json.dumps(orjson.loads(codec.encode(event)) | {field: value}).encode()
    for decoder in (codec.reader(kind), lambda r: codec.decode(r, kind)):
        with pytest.raises(DecodeError, match="^" + reason):
            decoder(raw)


def test_topics_are_versioned_and_distinct():
    assert len(set(topics.ALL)) == len(topics.ALL)
    assert all(t.startswith("adcraft.") and t.endswith(".v1") for t in topics.ALL)
    assert {cls.topic for cls in EVENT_TYPES} <= set(topics.ALL)


def test_scores_are_keyed_per_ad_segment_element():
    score = EXAMPLES[4]
    assert score.key() == b"ad1|young|title|t1"
    assert EXAMPLES[1].key() == b"ad1"


def test_export_writes_one_schema_per_event(tmp_path):
    paths = codec.export_schemas(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    assert len(paths) == len(EVENT_TYPES)
    impression = orjson.loads((tmp_path / f"{topics.IMPRESSIONS}.schema.json").read_bytes())
    assert impression["$id"] == topics.IMPRESSIONS
    assert {"event_id", "ts_ms", "ad_id", "elements", "propensity"} <= set(impression["required"])


ODD_VALUES = [None, True, 0, -1, 1, 1.0, 1.5, 2**70, "", "1", "x" * 200, [], {}, {"k": 1}]
# Each side of every bound in the contract.
BOUND_VALUES = [
    *("x" * n for n in (64, 65, 128, 129, 256, 257, 1024, 1025)),
    *(n + d for n in (MAX_TS_MS, 3_600_000, 2**63, 2**64) for d in (-1, 0, 1)),
    *(v + d for v in (0.0, 1.0, 1e9) for d in (-1e-9, 0.0, 1e-9)),
    float("nan"),
    float("inf"),
    1e308,
    {"": "v"},
    {"k" * 64: "v"},
    {"k" * 65: "v"},
    {"k": "v" * 256},
    {"k": "v" * 1025},
    {"k": 2**63 - 1},
    {"k": 2**63},
    {"k": float("nan")},
    {f"k{i}": "v" for i in range(32)},
    {f"k{i}": "v" for i in range(33)},
]
# An unknown field: harmless, or one msgspec would skip unread but pydantic rejects.
EXTRAS = [b'{"x": [1, 2.5, null]}', b"[" * 300 + b"]" * 300, b'"\xff"', b"9" * 5_000, b'"\\ud800"']


def _outcome(decoder, raw, event_type):
    try:
        event = decoder(raw)
    except DecodeError as exc:
        return "rejected", exc.reason
    return "accepted", {name: getattr(event, name) for name in event_type.model_fields}


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_reader_accepts_and_rejects_exactly_like_decode(event):
    data = orjson.loads(codec.encode(event))
    variants = [b"", b"{not json", b"[1, 2]", b"null", None, json.dumps(data).encode()]
    for field in data:
        variants.append(json.dumps({k: v for k, v in data.items() if k != field}).encode())
        variants += [
            json.dumps(data | {field: value}).encode() for value in ODD_VALUES + BOUND_VALUES
        ]
        # The same key twice, a bad value before or after the good one.
        good = json.dumps(data)[1:]
        variants += [b'{"%s": null, %s' % (field.encode(), good.encode())]
        variants += [b'{%s, "%s": null}' % (good[:-1].encode(), field.encode())]
    variants += [b" " + json.dumps(data).encode() + b" ", json.dumps(data).encode() + b" x"]
    variants += [json.dumps(data).encode()[:-1] + b', "new":' + v + b"}" for v in EXTRAS]
    kind = type(event)
    read = codec.reader(kind)
    for raw in variants:
        assert _outcome(read, raw, kind) == _outcome(lambda r: codec.decode(r, kind), raw, kind)
