"""The reward worker against a real broker and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import orjson
import pytest
from scipy.stats import spearmanr

from services.reward_updater.app import RewardWorker
from services.traffic import SEGMENTS, SyntheticWorld, publish, traffic
from shared import codec, kafka, score_store, topics
from shared.events import ElementScored
from shared.stack.process import free_port

pytestmark = pytest.mark.integration


def read_topic(settings, topic, idle_s=2.0):
    consumer = kafka.consumer(settings.kafka, f"reader-{time.monotonic_ns()}")
    consumer.subscribe([topic])
    messages, last = [], time.monotonic()
    while time.monotonic() - last < idle_s or not messages:
        batch = [m for m in consumer.consume(500, timeout=0.2) if m.error() is None]
        if batch:
            messages += batch
            last = time.monotonic()
        assert time.monotonic() - last < 60
    consumer.close()
    return messages


def redis_scores(settings, world):
    store = score_store.ScoreStore(score_store.client(settings.redis))
    return {
        (ad, segment, slot, element): score
        for ad in world.catalog.ads
        for segment in SEGMENTS
        for (slot, element), score in store.read(ad, segment).items()
    }


def assert_same_scores(actual, state, world):
    expected = {
        (ad, segment, e.slot, e.element_id): e
        for ad in world.catalog.ads
        for segment in SEGMENTS
        for e in state.model.element_scores(ad, segment)
    }
    assert actual.keys() == expected.keys()
    for key, score in actual.items():
        assert score.score == pytest.approx(expected[key].score, rel=1e-9, abs=1e-12)
        assert score.uncertainty == pytest.approx(expected[key].uncertainty, rel=1e-9)
        assert score.observations == expected[key].observations


@pytest.mark.slow
def test_learns_the_element_ranking_and_redis_matches_the_topic(reward_settings, drain):
    world = SyntheticWorld.create(ads=2, seed=3)
    events = list(traffic(world, 40_000, spacing_ms=0.5))
    publish(kafka.producer(reward_settings.kafka), events)
    worker = RewardWorker(reward_settings, world.catalog)
    worker.start()
    drain(worker, len(events))
    worker.close()

    stored = redis_scores(reward_settings, world)
    learned, truth = [], []
    for ad, slots in world.catalog.ads.items():
        for segment in SEGMENTS:
            for slot, elements in slots.items():
                t = np.array([world.element_effect(ad, segment, slot, e) for e in elements])
                p = np.array([stored[ad, segment, slot, e].score for e in elements])
                truth += list(t - t.mean())
                learned += list(np.log(p / (1 - p)) - np.log(p / (1 - p)).mean())
    assert spearmanr(learned, truth).statistic >= 0.9

    latest = {}
    for message in read_topic(reward_settings, topics.ELEMENT_SCORES):
        score = codec.decode(message.value(), ElementScored)
        assert message.key() == score.key()
        latest[score.ad_id, score.segment, score.slot, score.element_id] = score
    assert latest == stored


def test_duplicates_and_replays_leave_scores_unchanged(reward_settings, drain, reference):
    world = SyntheticWorld.create(ads=2, seed=5)
    events = list(traffic(world, 6_000, spacing_ms=1.0))
    with_duplicates = [e for i, e in enumerate(events) for _ in range(2 if i % 10 == 0 else 1)]
    producer = kafka.producer(reward_settings.kafka)
    publish(producer, with_duplicates)
    worker = RewardWorker(reward_settings, world.catalog)
    worker.start()
    drain(worker, len(with_duplicates))
    expected = reference(world.catalog, events)
    assert_same_scores(redis_scores(reward_settings, world), expected, world)
    counts = [s.joiner.counts for s in worker.states.values()]
    assert sum(c.get("duplicate", 0) for c in counts) == len(with_duplicates) - len(events)
    assert sum(c.get("impression", 0) for c in counts) == 6_000

    before = redis_scores(reward_settings, world)
    letters_before = dict(worker.dead_letters.counts)
    held_before = sum(c.get("held", 0) for c in counts)
    publish(producer, events)  # a whole replay, long after the fact
    drain(worker, len(with_duplicates) + len(events))
    counts = [s.joiner.counts for s in worker.states.values()]
    worker.close()
    assert redis_scores(reward_settings, world) == before
    assert sum(c.get("impression", 0) for c in counts) == 6_000
    late = worker.dead_letters.counts["late"] - letters_before.get("late", 0)
    duplicates = sum(c.get("duplicate", 0) for c in counts) - (len(with_duplicates) - len(events))
    # Feedback whose impression is long forgotten waits (held) in case it arrived early.
    held = sum(c.get("held", 0) for c in counts) - held_before
    assert late + duplicates + held == len(events)
    assert worker.dead_letters.counts.keys() - {"late"} == letters_before.keys() - {"late"}


def test_malformed_events_are_dead_lettered_and_processing_goes_on(reward_settings, drain):
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
    producer = kafka.producer(reward_settings.kafka)
    for value in bad:
        producer.produce(topics.IMPRESSIONS, key=b"ad0", value=value)
    publish(producer, good)
    worker = RewardWorker(reward_settings, world.catalog)
    worker.start()
    drain(worker, len(bad) + len(good))
    assert sum(s.joiner.counts.get("impression", 0) for s in worker.states.values()) == len(good)
    worker.close()
    letters = read_topic(reward_settings, topics.DEAD_LETTER, idle_s=1.0)
    reasons = {m.value(): dict(m.headers())["adcraft.reason"].decode() for m in letters}
    assert reasons.keys() == bad.keys()
    for value, expected in bad.items():
        assert expected in reasons[value]
    kinds = sorted(dict(m.headers())["adcraft.kind"] for m in letters)
    assert kinds == [b"decode"] * 3 + [b"unknown_ad", b"unknown_element"]


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(
    reward_settings, reference, tmp_path
):
    world = SyntheticWorld.create(ads=8, seed=11)
    events = list(traffic(world, 80_000, spacing_ms=0.2))
    publish(kafka.producer(reward_settings.kafka), events)
    catalog = tmp_path / "catalog.json"
    catalog.write_bytes(orjson.dumps(world.catalog.model_dump()))
    metrics = free_port()
    env = os.environ | {
        "ADCRAFT_KAFKA__BOOTSTRAP_SERVERS": reward_settings.kafka.bootstrap_servers,
        "ADCRAFT_KAFKA__SESSION_TIMEOUT_MS": "6000",
        "ADCRAFT_REDIS__PORT": str(reward_settings.redis.port),
        "ADCRAFT_REWARDS__CLICK_WINDOW_MS": str(reward_settings.rewards.click_window_ms),
        "ADCRAFT_REWARDS__CONVERSION_WINDOW_MS": str(reward_settings.rewards.conversion_window_ms),
        "ADCRAFT_REWARDS__HOLD_MS": str(reward_settings.rewards.hold_ms),
        "ADCRAFT_REWARDS__CATALOG_PATH": str(catalog),
        # Frequent checkpoints: the worker reads this stream in about a second.
        "ADCRAFT_REWARDS__CHECKPOINT_INTERVAL_MS": "100",
        "ADCRAFT_METRICS_ADDRESS": f"127.0.0.1:{metrics}",
    }
    redis = score_store.client(reward_settings.redis)
    group = reward_settings.rewards.group_id

    def applied():
        total = 0
        for partition in range(reward_settings.kafka.topic_partitions):
            meta = redis.get(score_store.state_key(f"rewards:{group}:{partition}:meta"))
            total += sum(orjson.loads(meta)["offsets"].values()) if meta else 0
        return total

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", "rewards"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    worker = start()
    deadline = time.monotonic() + 60
    while applied() < len(events) // 4:
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    at_kill = applied()
    assert at_kill < len(events), "the worker finished before it could be killed"

    worker = start()
    try:
        deadline = time.monotonic() + 90
        while applied() < len(events):
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics") as response:
            exposition = response.read().decode()
    finally:
        worker.terminate()
        worker.wait(30)

    expected = reference(world.catalog, events)
    counts: dict[str, int] = {}
    for partition in range(reward_settings.kafka.topic_partitions):
        meta = redis.get(score_store.state_key(f"rewards:{group}:{partition}:meta"))
        for outcome, count in orjson.loads(meta)["counts"].items() if meta else ():
            counts[outcome] = counts.get(outcome, 0) + count
    for outcome in ("impression", "click_joined", "conversion_joined"):
        assert counts[outcome] == expected.joiner.counts[outcome]
    assert counts["impression"] == 80_000
    assert not {"duplicate", "repeat_click", "repeat_conversion"} & counts.keys()
    assert_same_scores(redis_scores(reward_settings, world), expected, world)
    assert 'adcraft_rewards_join_outcomes_total{outcome="impression"} 80000.0' in exposition
    assert "adcraft_rewards_consumer_lag" in exposition
