"""The attribution join: windows, holds, duplicates, lateness, and checkpoint round trips."""

import orjson
from confluent_kafka import Message

from adcraft.shared.contract.events import ClickRecorded, ConversionRecorded, ImpressionServed
from adcraft.shared.contract.sources import Source
from adcraft.shared.rewards.join import KINDS, AttributionJoiner, merge
from adcraft.shared.rewards.reward_model import Example

SOURCE = Message("topic", 0, 0, b"k", b"v")


def impression(rid, ts, ad="ad", event_id=None):
    return ImpressionServed(
        event_id=event_id or f"i-{rid}",
        ts_ms=ts,
        ad_id=ad,
        request_id=rid,
        user_id="u",
        elements={"title": "t1"},
        propensity=0.5,
    )


def click(rid, ts, event_id=None):
    return ClickRecorded(
        event_id=event_id or f"c-{rid}", ts_ms=ts, ad_id="ad", request_id=rid, user_id="u"
    )


def conversion(rid, ts, value=20.0):
    return ConversionRecorded(
        event_id=f"v-{rid}", ts_ms=ts, ad_id="ad", request_id=rid, user_id="u", value=value
    )


def offer(j, event, source=SOURCE):
    if isinstance(event, ImpressionServed):
        return j.impression(event, j.bag_id(_bag(event)), source)
    return j.feedback(KINDS[type(event)], event, source)


def joiner(**kwargs):
    return AttributionJoiner(
        click_window_ms=1_000, conversion_window_ms=5_000, hold_ms=500, bucket_ms=100, **kwargs
    )


def labels(batches):
    return sorted((e.kind, e.request_id, e.label, e.value) for batch in batches for e in batch)


def test_clicks_join_and_missing_clicks_become_negatives():
    j = joiner()
    for event in (impression("r1", 0), impression("r2", 10), click("r1", 300)):
        assert offer(j, event) == ()
    batches, _ = j.advance(400)
    assert labels(batches) == [("click", "r1", True, 0.0)]
    batches, _ = j.advance(1_200)
    assert labels(batches) == [("click", "r2", False, 0.0)]


def test_feedback_before_its_impression_is_held_then_joined():
    j = joiner()
    offer(j, click("r1", 120))
    offer(j, conversion("r1", 150, value=42.0))
    offer(j, impression("r1", 100))
    batches, rejected = j.advance(6_000)
    assert rejected == []
    assert labels(batches) == [("click", "r1", True, 0.0), ("conversion", "r1", True, 42.0)]
    assert j.shown == {} and j.held == {}


def test_unjoinable_feedback_is_rejected_after_the_hold():
    j = joiner()
    offer(j, click("ghost", 100))
    assert j.advance(550) == ([], [])
    _, rejected = j.advance(700)
    assert [(r.kind, r.source) for r in rejected] == [("unjoinable", Source.of(SOURCE))]
    assert "ghost" in rejected[0].reason


def test_duplicates_count_once_and_late_events_are_rejected():
    j = joiner()
    offer(j, impression("r1", 0))
    offer(j, click("r1", 50))
    offer(j, click("r1", 50))  # redelivered
    offer(j, click("r1", 60, event_id="c-second"))  # a second click
    offer(j, impression("r1", 0, event_id="i-other"))
    batches, _ = j.advance(2_000)
    assert labels(batches) == [("click", "r1", True, 0.0)]
    assert j.counts == {"impression": 1, "click_joined": 1, "duplicate": 1, "repeat_click": 1}
    (late,) = offer(j, impression("r9", 100))
    assert late.kind == "late"


def test_click_outside_its_window_is_rejected():
    j = joiner()
    offer(j, impression("r1", 0))
    (rejected,) = offer(j, click("r1", 1_500))
    assert rejected.kind == "outside_window"


def test_conversion_negatives_are_sampled_deterministically_and_reweighted():
    full, sampled = joiner(), joiner(conversion_negative_rate=0.25)
    for j in (full, sampled):
        for i in range(400):
            offer(j, impression(f"r{i}", i))
    negatives = [
        [e for b in j.advance(10_000)[0] for e in b if e.kind == "conversion"]
        for j in (full, sampled)
    ]
    assert len(negatives[0]) == 400
    assert 60 < len(negatives[1]) < 140
    assert {e.weight for e in negatives[1]} == {4.0}
    again = joiner(conversion_negative_rate=0.25)
    for i in range(400):
        offer(again, impression(f"r{i}", i))
    assert [
        e.request_id for b in again.advance(10_000)[0] for e in b if e.kind == "conversion"
    ] == [e.request_id for e in negatives[1]]


def test_restore_from_snapshot_and_changes_releases_the_same_labels():
    def feed(j, events):
        for event in events:
            offer(j, event)

    first = [impression("r1", 0), impression("r2", 20), click("h", 130)]
    second = [click("r1", 250), conversion("r2", 300), impression("h", 120)]
    original = joiner()
    feed(original, first)
    snapshot = orjson.dumps(original.entries())
    original.advance(100)
    feed(original, second)
    changes = orjson.dumps(original.changes())
    expected = labels(original.advance(10_000)[0])

    restored = joiner()
    stored = merge(orjson.loads(snapshot), orjson.loads(changes))
    restored.restore(100, stored, original.counts)
    restored_labels = labels(restored.advance(10_000)[0])
    assert restored_labels == expected
    assert ("click", "h", True, 0.0) in expected


def test_examples_carry_the_combination():
    j = joiner()
    offer(j, impression("r1", 0))
    (batch,), _ = j.advance(1_100)
    assert batch == [Example(0 + 1_000, "click", "r1", ("ad", "all", (("title", "t1"),)), False)]


def test_conversions_are_learned_on_their_coarser_cadence():
    j = joiner(conversion_bucket_ms=1_000)
    offer(j, impression("r1", 0))
    offer(j, conversion("r1", 1_230))
    early, _ = j.advance(1_900)
    assert labels(early) == [("click", "r1", False, 0.0)]
    (batch,), _ = j.advance(2_100)
    assert [(e.kind, e.label, e.finalize_ts) for e in batch] == [("conversion", True, 2_000)]


def _bag(impression):
    return impression.ad_id, impression.segment, tuple(impression.elements.items())
