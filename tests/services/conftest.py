"""Fixtures for the reward worker: in-process workers share the session's broker and
Redis with topics and a group of their own (``live``); the worker as a real process
(``adcraft worker rewards``) gets a broker and Redis of its own per test, since fault tests
restart them (``reward_stack``); helpers to feed, drain and check it."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Message, TopicPartition

from services.reward_updater.app import RewardWorker
from services.reward_updater.partition import INPUTS, PartitionState
from services.simulator.listings import listings
from services.simulator.streams import SHORT_WINDOWS, publish, traffic
from services.simulator.world import SyntheticWorld
from shared import codec, kafka, keys, score_store, topics
from shared.catalog import AdCatalog
from shared.events import Event
from shared.segments import SEGMENTS
from shared.settings import RewardSettings, Settings
from shared.stack import Stack
from shared.stack.process import free_port
from shared.topics import RewardTopics

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

    def read(self, canonical: str, idle_s: float = 2.0) -> list[Message]:
        return _read_topic(self.settings, self.topics.of(canonical), idle_s)


def _read_topic(settings: Settings, topic: str, idle_s: float) -> list[Message]:
    """Every message on ``topic`` from its start, once nothing new arrived for ``idle_s``
    (at least 5 s before the first): assigned, not subscribed, so no group join to wait for."""
    consumer = kafka.consumer(settings.kafka, f"reader-{time.monotonic_ns()}")
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    messages: list[Message] = []
    last = started = time.monotonic()
    while time.monotonic() - last < (idle_s if messages else max(idle_s, 5.0)):
        batch = [m for m in consumer.consume(500, timeout=0.2) if m.error() is None]
        if batch:
            messages += batch
            last = time.monotonic()
        assert time.monotonic() - started < 120
    consumer.close()
    return messages


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
    """Poll until ``total`` input messages are applied and the inputs count as idle (a
    second or so after assignment), then flush."""
    deadline = time.monotonic() + timeout_s
    while sum(sum(s.offsets.values()) for s in worker.states.values()) < total:
        assert time.monotonic() < deadline, "worker did not apply every message in time"
        worker.poll_once(0.2)
    settled = time.monotonic() + 1.5
    while time.monotonic() < settled:
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
    store = score_store.ScoreStore(score_store.client(settings.redis))
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


class WorkerProcess:
    """``adcraft worker VERB`` (``rewards`` with ``catalog``, or ``requests``) as a child
    process, pointed at ``settings``; its JSON-line logs are kept in ``log``."""

    def __init__(
        self,
        settings: Settings,
        catalog: AdCatalog | None,
        run_dir: Path,
        verb: str = "rewards",
        **env: str,
    ):
        self.settings, self.verb = settings, verb
        self.metrics_port = free_port()
        catalog_path = None  # then the catalogue topic's listings at start-up
        if catalog is not None:
            catalog_path = run_dir / f"catalog-{self.metrics_port}.json"
            catalog_path.write_bytes(orjson.dumps(catalog.model_dump()))
        process = settings.model_copy(
            update={
                # A killed member holds its partitions until its session expires.
                "kafka": settings.kafka.model_copy(update={"session_timeout_ms": 3_000}),
                "rewards": settings.rewards.model_copy(
                    update={"catalog_path": catalog_path and str(catalog_path)}
                ),
                "metrics_address": f"127.0.0.1:{self.metrics_port}",
            }
        )
        self.env = os.environ | process.environment() | env
        self.log = run_dir / f"worker-{self.metrics_port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "worker", self.verb],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM and wait: the exit code (0: it flushed and stopped cleanly)."""
        if not self.running():
            return self.proc.returncode if self.proc else 0
        self.signal(signal.SIGTERM)
        return self.wait(timeout_s)

    def get(self, path: str, timeout_s: float = 2.0) -> tuple[int, str]:
        """Status and body of one of its HTTP endpoints (status 0: no answer)."""
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def rss_peak_mb(self) -> float:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        return int(line.split()[1]) / 1024

    def assignments(self) -> int:
        """How many times a process of this worker was given partitions."""
        return sum(1 for line in self.lines() if line["event"] == "assigned")

    def lines(self) -> list[dict]:
        """Its JSON log lines (librdkafka's own lines are skipped)."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                out.append(orjson.loads(line))
        return out


@pytest.fixture
def worker_process(tmp_path):
    started: list[WorkerProcess] = []

    def make(
        settings: Settings, catalog: AdCatalog | None, verb: str = "rewards", **env: str
    ) -> WorkerProcess:
        worker = WorkerProcess(settings, catalog, tmp_path, verb, **env)
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
    redis = score_store.client(settings.redis)
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
    redis = score_store.client(settings.redis)
    learned = {"click": 0, "conversion": 0}
    for partition in range(settings.kafka.topic_partitions):
        meta = redis.get(keys.checkpoint(settings.rewards.group_id, partition, "meta"))
        for kind, count in (orjson.loads(meta)["learned"] if meta else {}).items():
            learned[kind] += count
    redis.close()
    return learned


def _dead_letters(settings: Settings, idle_s: float = 2.0) -> dict[tuple[str, int, int], dict]:
    """Every dead letter by its source (topic, partition, offset): a source dead-lettered
    twice (at-least-once, across a restart) is one entry."""
    letters = {}
    for message in _read_topic(settings, topics.DEAD_LETTER, idle_s):
        headers = {k: v.decode() for k, v in message.headers() or ()}
        source = (
            headers["adcraft.source.topic"],
            int(headers["adcraft.source.partition"]),
            int(headers["adcraft.source.offset"]),
        )
        letters[source] = headers | {"size": len(message.value() or b"")}
    return letters


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


def wait_until(condition, timeout_s: float, what: str, every_s: float = 0.2) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every_s)


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
