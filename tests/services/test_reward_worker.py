"""The reward worker against a real broker and Redis."""

from __future__ import annotations

import orjson
import pytest

from adcraft.services.reward_updater.app import RewardWorker
from adcraft.services.reward_updater.partition import PartitionState
from adcraft.services.simulator.streams import traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.adapters import redis_client
from adcraft.shared.adapters.posterior_store import PosteriorStore
from adcraft.shared.contract import codec, topics
from adcraft.shared.contract.catalog import AdCatalog
from adcraft.shared.contract.events import ElementScored
from adcraft.shared.contract.segments import SEGMENTS
from tests.services.conftest import growing_traffic


def test_learns_the_element_ranking_and_redis_matches_the_topic(live, drain, redis_scores):
    world = SyntheticWorld.create(ads=2, seed=3)
    events = list(traffic(world, 40_000, spacing_ms=0.5))
    live.publish(events)
    worker = live.worker(world.catalog)
    worker.start()
    drain(worker, len(events))
    worker.close()

    stored = redis_scores(live.settings, world)
    by_context: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    for (ad, segment, slot, element), score in stored.items():
        by_context.setdefault((ad, segment), {})[slot, element] = score.score
    assert world.ranking_agreement(lambda ad, segment: by_context[ad, segment]) >= 0.9

    latest = {}
    for message in live.read(topics.ELEMENT_SCORES):
        score = codec.decode(message.value(), ElementScored)
        assert message.key() == score.key()
        latest[score.ad_id, score.segment, score.slot, score.element_id] = score
    assert latest == stored


def test_duplicates_and_replays_leave_scores_unchanged(
    live, drain, reference, redis_scores, assert_same_scores
):
    world = SyntheticWorld.create(ads=2, seed=5)
    events = list(traffic(world, 6_000, spacing_ms=1.0))
    with_duplicates = [e for i, e in enumerate(events) for _ in range(2 if i % 10 == 0 else 1)]
    live.publish(with_duplicates)
    worker = live.worker(world.catalog)
    worker.start()
    drain(worker, len(with_duplicates))
    expected = reference(world.catalog, events)
    assert_same_scores(redis_scores(live.settings, world), expected, world)
    posteriors = PosteriorStore(redis_client.client(live.settings.redis))
    for ad, slots in world.catalog.ads.items():
        for segment, posterior in posteriors.read(ad, SEGMENTS).items():
            assert posterior is not None and (posterior.ad_id, posterior.segment) == (ad, segment)
            ids = {slot: [e.element_id for e in els] for slot, els in posterior.slots.items()}
            assert ids == slots and posterior.pairs
    counts = [s.joiner.counts for s in worker.states.values()]
    assert sum(c.get("duplicate", 0) for c in counts) == len(with_duplicates) - len(events)
    assert sum(c.get("impression", 0) for c in counts) == 6_000

    before = redis_scores(live.settings, world)
    letters_before = dict(worker.dead_letters.counts)
    held_before = sum(c.get("held", 0) for c in counts)
    live.publish(events)  # a whole replay, long after the fact
    drain(worker, len(with_duplicates) + len(events))
    counts = [s.joiner.counts for s in worker.states.values()]
    worker.close()
    assert redis_scores(live.settings, world) == before
    assert sum(c.get("impression", 0) for c in counts) == 6_000
    late = worker.dead_letters.counts["late"] - letters_before.get("late", 0)
    duplicates = sum(c.get("duplicate", 0) for c in counts) - (len(with_duplicates) - len(events))
    # Feedback whose impression is long forgotten waits (held) in case it arrived early.
    held = sum(c.get("held", 0) for c in counts) - held_before
    assert late + duplicates + held == len(events)
    assert worker.dead_letters.counts.keys() - {"late"} == letters_before.keys() - {"late"}


def test_malformed_events_are_dead_lettered_and_processing_goes_on(live, drain):
    world = SyntheticWorld.create(ads=1, seed=1)
    good = [e for e in traffic(world, 50, spacing_ms=10) if e.topic == topics.IMPRESSIONS]
    valid = orjson.loads(codec.encode(good[0]))
    bad = {
        b"{not json": "invalid JSON",
        orjson.dumps({k: v for k, v in valid.items() if k != "request_id"}): "request_id",
        orjson.dumps(valid | {"event_id": "x1", "ts_ms": "yesterday"}): "ts_ms",
        orjson.dumps(valid | {"event_id": "x2", "ad_id": "ad-unknown"}): "unknown ad",
        orjson.dumps(
            valid | {"event_id": "x3", "elements": valid["elements"] | {"title": "t?"}}
        ): "unknown element 't?'",
    }
    for value in bad:
        live.produce(topics.IMPRESSIONS, b"ad0", value)
    live.publish(good)
    worker = live.worker(world.catalog)
    worker.start()
    drain(worker, len(bad) + len(good))
    assert sum(s.joiner.counts.get("impression", 0) for s in worker.states.values()) == len(good)
    worker.close()
    letters = live.read(topics.DEAD_LETTER)
    reasons = {m.value(): dict(m.headers())["adcraft.reason"].decode() for m in letters}
    assert reasons.keys() == bad.keys()
    for value, expected in bad.items():
        assert expected in reasons[value]
    kinds = sorted(dict(m.headers())["adcraft.kind"] for m in letters)
    assert kinds == [b"decode"] * 3 + [b"unknown_ad", b"unknown_element"]


def test_a_message_that_breaks_apply_is_dead_lettered_and_the_worker_goes_on(
    live, drain, monkeypatch
):
    world = SyntheticWorld.create(ads=1, seed=4)
    good = list(traffic(world, 300, spacing_ms=10))
    apply = PartitionState.apply

    def apply_or_break(state, message):  # a bug that only one message triggers
        if message.value() == b'{"boom":1}':
            raise ZeroDivisionError("division by zero")
        return apply(state, message)

    monkeypatch.setattr(PartitionState, "apply", apply_or_break)
    live.produce(topics.IMPRESSIONS, b"ad0", b'{"boom":1}')
    live.publish(good)
    worker = live.worker(world.catalog)
    worker.start()
    drain(worker, len(good) + 1)
    impressions = sum(1 for e in good if e.topic == topics.IMPRESSIONS)
    assert sum(s.joiner.counts.get("impression", 0) for s in worker.states.values()) == impressions
    worker.close()
    assert worker.dead_letters.counts["error"] == 1
    assert worker.metrics.errors["apply"] == 1
    letters = live.read(topics.DEAD_LETTER)
    (letter,) = [m for m in letters if m.value() == b'{"boom":1}']
    reason = dict(letter.headers())["adcraft.reason"].decode()
    assert reason == "internal error (ZeroDivisionError); see the reward worker's log"


def test_an_element_listed_mid_stream_is_learned_without_a_restart_and_a_replay_agrees(
    live, drain, redis_client, redis_scores, reference, assert_same_scores
):
    world = SyntheticWorld.create(ads=3, seed=7)
    events = growing_traffic(world, 8_000)
    split = next(i for i, e in enumerate(events[1:], 1) if e.topic == topics.AD_CATALOG and i > 3)
    worker = live.worker(AdCatalog())  # every ad comes from the catalogue topic
    worker.start()
    live.publish(events[:split])
    drain(worker, split)
    new = {(ad, slots["title"][-1]) for ad, slots in world.catalog.ads.items()}
    assert not {key[::3] for key in redis_scores(live.settings, world)} & new
    live.publish(events[split:])  # the listing that adds them, then traffic showing them
    drain(worker, len(events))
    worker.close()
    letters = [dict(m.headers()) for m in live.read(topics.DEAD_LETTER)]
    assert not [h for h in letters if h["adcraft.kind"].startswith(b"unknown")], letters[:3]
    learned = redis_scores(live.settings, world)
    assert all(learned[ad, "young", "title", element].observations > 50 for ad, element in new)
    expected = reference(AdCatalog(), events)
    assert_same_scores(learned, expected, world)

    for key in redis_client.scan_iter("adcraft:scores:*"):
        redis_client.delete(key)
    replay = RewardWorker(
        live.settings.model_copy(
            update={"rewards": live.settings.rewards.model_copy(update={"group_id": "replay"})}
        ),
        AdCatalog(),
        topics=live.topics,
    )
    replay.start()
    drain(replay, len(events))  # from offset 0, every input at once
    replay.close()
    replayed = redis_scores(live.settings, world)
    assert replayed.keys() == learned.keys()
    differ = [k for k in learned if replayed[k].score != pytest.approx(learned[k].score, rel=1e-9)]
    assert not differ, differ[:5]
