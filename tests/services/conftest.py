"""Fixtures for the reward worker: in-process workers share the session's broker and
Redis with topics and a group of their own (``live``); the worker as a real process
(``adcraft worker rewards``) gets a broker and Redis of its own per test, since fault tests
restart them (``reward_stack``); helpers to feed, drain and check it."""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest
from confluent_kafka import Message

from adcraft.services.reward_updater.app import RewardWorker
from adcraft.services.reward_updater.partition import INPUTS, PartitionState
from adcraft.services.simulator.listings import listings
from adcraft.services.simulator.streams import SHORT_WINDOWS, publish, traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.services.stack import Stack
from adcraft.services.stack.worker import WorkerProcess
from adcraft.shared.adapters import kafka, redis_client, score_store
from adcraft.shared.contract import codec, keys, topics
from adcraft.shared.contract.catalog import AdCatalog
from adcraft.shared.contract.events import Event
from adcraft.shared.contract.segments import SEGMENTS
from adcraft.shared.contract.topics import RewardTopics
from adcraft.shared.runtime.settings import RewardSettings, Settings
from tests.support.topics import Source, read_to_end, source_of
from tests.support.waiting import wait_until
from tests.support.workers import launch

WINDOWS = SHORT_WINDOWS
# Worker processes and a feeder share two cores here: a producer's batches may reach the
# broker later than others' by more than the default 50 ms lateness.
PROCESS_WINDOWS = WINDOWS.model_copy(update={"allowed_lateness_ms": 1_000})
JOINED = ("impression", "click_joined", "conversion_joined")


@dataclass
class LiveStack:
    """The session's broker and Redis, seen through one test's own topics and group."""

    settings: Settings
    topics: RewardTopics

    def worker(self, catalog: AdCatalog) -> RewardWorker:
        return RewardWorker(self.settings, catalog, topics=self.topics)

    def publish(self, events: list[Event]) -> int:
        return publish(kafka.producer(self.settings.kafka), events, self.topics)

    def produce(self, canonical: str, key: bytes, value: bytes) -> None:
        producer = kafka.producer(self.settings.kafka)
        producer.produce(self.topics.of(canonical), key=key, value=value)
        producer.flush(10)

    def read(self, canonical: str) -> list[Message]:
        return read_to_end(self.settings, self.topics.of(canonical))


@pytest.fixture
def live(broker_stack, redis_stack, redis_client, unique_topic, unique_group) -> LiveStack:
    """A worker's world on the shared broker and Redis (flushed): topics and a consumer
    group of the test's own."""
    names = RewardTopics.prefixed(unique_topic)
    settings = Settings(
        kafka=broker_stack.settings().kafka,
        redis=redis_stack.settings().redis,
        rewards=WINDOWS.model_copy(update={"group_id": unique_group}),
    )
    kafka.ensure_topics(
        settings.kafka, [*names.inputs, names.scores, names.dead_letter], compacted=[names.scores]
    )
    return LiveStack(settings, names)


@pytest.fixture
def reward_stack(tmp_path) -> Iterator[Stack]:
    with Stack(run_dir=tmp_path / "stack", services=("broker", "redis")) as stack:
        yield stack


@pytest.fixture
def reward_settings(reward_stack) -> Settings:
    base = reward_stack.settings()
    settings = Settings(kafka=base.kafka, redis=base.redis, rewards=PROCESS_WINDOWS)
    kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
    return settings


def _drain(worker: RewardWorker, total: int, timeout_s: float = 90) -> None:
    """Poll until ``total`` input messages are applied, the inputs count as idle (a second
    or so after assignment) and no event waits for the catalogue (its grace), then flush."""
    deadline = time.monotonic() + timeout_s
    while sum(sum(s.offsets.values()) for s in worker.states.values()) < total:
        assert time.monotonic() < deadline, "worker did not apply every message in time"
        worker.poll_once(0.2)
    settled = time.monotonic() + 1.5
    while time.monotonic() < settled or any(s.awaiting for s in worker.states.values()):
        assert time.monotonic() < deadline, "events still wait for the catalogue"
        worker.poll_once(0.2)
    worker.flush()


def _reference(
    catalog: AdCatalog, events: list[Event], config: RewardSettings = WINDOWS
) -> PartitionState:
    """The same events through one in-memory partition state, read to the end."""
    state = PartitionState(0, catalog, config)
    offsets = dict.fromkeys(INPUTS, 0)
    for event in sorted(events, key=lambda e: e.ts_ms):
        value = codec.encode(event)
        state.apply(Message(event.topic, 0, offsets[event.topic], event.key(), value))
        offsets[event.topic] += 1
    state.advance(idle=set(INPUTS))
    return state


def _redis_scores(settings: Settings, world: SyntheticWorld) -> dict:
    store = score_store.ScoreStore(redis_client.client(settings.redis))
    return {
        (ad, segment, slot, element): score
        for ad in world.catalog.ads
        for segment in SEGMENTS
        for (slot, element), score in store.read(ad, segment).items()
    }


def _assert_same_scores(actual: dict, state: PartitionState, world: SyntheticWorld) -> None:
    expected = {
        (ad, segment, e.slot, e.element_id): e
        for ad in world.catalog.ads
        for segment in SEGMENTS
        for e in state.model.element_scores(ad, segment)
    }
    assert actual.keys() == expected.keys()
    wrong = [
        (key, score.score, expected[key].score, score.observations, expected[key].observations)
        for key, score in actual.items()
        if score.score != pytest.approx(expected[key].score, rel=1e-9, abs=1e-12)
        or score.uncertainty != pytest.approx(expected[key].uncertainty, rel=1e-9)
        or score.observations != expected[key].observations
    ]
    assert not wrong, f"{len(wrong)} of {len(actual)} scores differ, e.g. {wrong[:5]}"


@pytest.fixture
def redis_scores():
    """Every element score Redis holds for the world's ads and segments."""
    return _redis_scores


@pytest.fixture
def assert_same_scores():
    """Redis scores equal a reference partition state's, to 1e-9."""
    return _assert_same_scores


def _assert_exact(settings: Settings, world: SyntheticWorld, events: list[Event]) -> None:
    """The stored checkpoints applied every event once and learned every label once:
    counts, labels and the scores in Redis are those of the same events read once, in
    order, by one in-memory state."""
    applied, counts = _checkpoint_totals(settings)
    assert applied == len(events)
    expected = _reference(world.catalog, events, settings.rewards)
    for outcome in JOINED:
        assert counts.get(outcome, 0) == expected.joiner.counts[outcome], outcome
    assert not {"duplicate", "repeat_click", "repeat_conversion"} & counts.keys()
    assert _checkpoint_learned(settings) == expected.learned
    _assert_same_scores(_redis_scores(settings, world), expected, world)


@pytest.fixture
def assert_exact():
    return _assert_exact


@pytest.fixture
def drain():
    return _drain


@pytest.fixture
def reference():
    return _reference


@pytest.fixture
def worker_process(tmp_path):
    started: list[WorkerProcess] = []

    def make(
        settings: Settings, catalog: AdCatalog | None, verb: str = "rewards", **env: str
    ) -> WorkerProcess:
        worker = launch(settings, tmp_path, verb, catalog, **env)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        if worker.running():
            worker.signal(signal.SIGCONT)
            worker.kill()


@pytest.fixture
def totals():
    """Messages applied and join outcomes in the stored checkpoints."""
    return _checkpoint_totals


@pytest.fixture
def learned():
    """Labels learned, by kind, in the stored checkpoints."""
    return _checkpoint_learned


def expected_learned(settings: Settings, world: SyntheticWorld, events: list[Event]) -> dict:
    """The labels one in-memory state learns from ``events`` read once, to the end."""
    return _reference(world.catalog, events, settings.rewards).learned


@pytest.fixture
def letters():
    """Dead letters on the topic, by source."""
    return _dead_letters


def _checkpoint_totals(settings: Settings) -> tuple[int, dict[str, int]]:
    """Messages applied and join outcomes over every partition's stored checkpoint."""
    redis = redis_client.client(settings.redis)
    applied, counts = 0, {}
    for partition in range(settings.kafka.topic_partitions):
        meta = redis.get(keys.checkpoint(settings.rewards.group_id, partition, "meta"))
        if meta:
            state = orjson.loads(meta)
            applied += sum(state["offsets"].values())
            for outcome, count in state["counts"].items():
                counts[outcome] = counts.get(outcome, 0) + count
    redis.close()
    return applied, counts


def _checkpoint_learned(settings: Settings) -> dict[str, int]:
    """Labels learned, by kind, over every partition's stored checkpoint."""
    redis = redis_client.client(settings.redis)
    learned = {"click": 0, "conversion": 0}
    for partition in range(settings.kafka.topic_partitions):
        meta = redis.get(keys.checkpoint(settings.rewards.group_id, partition, "meta"))
        for kind, count in (orjson.loads(meta)["learned"] if meta else {}).items():
            learned[kind] += count
    redis.close()
    return learned


def _dead_letters(settings: Settings) -> dict[Source, dict]:
    """Every dead letter by its source (topic, partition, offset): a source dead-lettered
    twice (at-least-once, across a restart) is one entry."""
    return dict(map(source_of, read_to_end(settings, topics.DEAD_LETTER)))


class Feeder(threading.Thread):
    """Produces ``events`` in order at about ``rate`` events/s (load while faults happen)."""

    def __init__(self, settings: Settings, events: list[Event], rate: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.events, self.rate = settings, events, rate
        self.sent = 0

    def run(self) -> None:
        producer = kafka.producer(self.settings.kafka)
        started = time.monotonic()
        for event in self.events:
            delay = started + self.sent / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            producer.produce(event.topic, key=event.key(), value=codec.encode(event))
            producer.poll(0)
            self.sent += 1
        producer.flush(30)


@pytest.fixture
def feeder():
    return Feeder


@pytest.fixture
def until():
    return wait_until


def growing_traffic(world: SyntheticWorld, impressions: int, seed: int = 1) -> list[Event]:
    """The world's ads listed, then traffic; mid-stream a listing adds one element to each
    ad's first slot (the world's last one there), and the traffic after it shows it too.
    Every event in event-time order, each listing stamped just before the traffic it
    allows."""
    start, half = 1_700_000_000_000, impressions // 2
    second = start + half + 60_000
    before = dataclasses.replace(
        world,
        catalog=AdCatalog(
            ads={
                ad: {slot: els[:-1] if i == 0 else els for i, (slot, els) in enumerate(s.items())}
                for ad, s in world.catalog.ads.items()
            }
        ),
    )
    return [
        *listings(before, start - 1),
        *traffic(before, half, seed=seed, start_ms=start),
        *[
            x.model_copy(update={"event_id": f"{x.event_id}-v2"})
            for x in listings(world, second - 1)
        ],
        *traffic(world, impressions - half, seed=seed + 1, start_ms=second),
    ]
