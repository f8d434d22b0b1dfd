import json

import orjson
import pytest

from shared import codec, topics
from shared.codec import DecodeError
from shared.events import (
    EVENT_TYPES,
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
        (None, "empty message"),
    ],
)
def test_malformed_bytes(raw, reason):
    with pytest.raises(DecodeError, match=reason):
        codec.decode(raw, ClickRecorded)


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
        variants += [json.dumps(data | {field: value}).encode() for value in ODD_VALUES]
        # The same key twice, a bad value before or after the good one.
        good = json.dumps(data)[1:]
        variants += [b'{"%s": null, %s' % (field.encode(), good.encode())]
        variants += [b'{%s, "%s": null}' % (good[:-1].encode(), field.encode())]
    variants += [b" " + json.dumps(data).encode() + b" ", json.dumps(data).encode() + b" x"]
    kind = type(event)
    read = codec.reader(kind)
    for raw in variants:
        assert _outcome(read, raw, kind) == _outcome(lambda r: codec.decode(r, kind), raw, kind)
