"""Fixtures for the reward worker: a fresh broker and Redis per test (the worker uses the
fixed ``adcraft.*.v1`` topics), and helpers to feed and drain it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Message

from services.reward_updater.app import RewardWorker
from services.reward_updater.partition import INPUTS, PartitionState
from shared import codec, kafka, topics
from shared.catalog import AdCatalog
from shared.events import Event
from shared.settings import RewardSettings, Settings
from shared.stack import Stack

WINDOWS = RewardSettings(click_window_ms=2_000, conversion_window_ms=10_000, hold_ms=2_000)


@pytest.fixture
def reward_settings(tmp_path) -> Iterator[Settings]:
    with Stack(run_dir=tmp_path / "stack", services=("broker", "redis")) as stack:
        base = stack.settings()
        settings = Settings(kafka=base.kafka, redis=base.redis, rewards=WINDOWS)
        kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
        yield settings


def _drain(worker: RewardWorker, total: int, timeout_s: float = 90) -> None:
    """Poll until ``total`` input messages are applied, then flush."""
    deadline = time.monotonic() + timeout_s
    while sum(sum(s.offsets.values()) for s in worker.states.values()) < total:
        assert time.monotonic() < deadline, "worker did not apply every message in time"
        worker.poll_once(0.2)
    worker.flush()


def _reference(catalog: AdCatalog, events: list[Event]) -> PartitionState:
    """The same events through one in-memory partition state, read to the end."""
    state = PartitionState(0, catalog, WINDOWS)
    offsets = dict.fromkeys(INPUTS, 0)
    for event in sorted(events, key=lambda e: e.ts_ms):
        value = codec.encode(event)
        state.apply(Message(event.topic, 0, offsets[event.topic], event.key(), value))
        offsets[event.topic] += 1
    state.advance(idle=set(INPUTS))
    return state


@pytest.fixture
def drain():
    return _drain


@pytest.fixture
def reference():
    return _reference
