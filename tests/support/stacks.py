"""Stacks of real services for tests, over the project's model repository."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from adcraft.services.simulator.listings import listings
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.services.stack import Stack
from adcraft.shared.adapters import kafka
from adcraft.shared.contract import codec, topics
from adcraft.shared.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVING = ("broker", "redis", "triton")  # what the request path needs


def running(
    run_dir: Path, services: tuple[str, ...], model_env: dict[str, str] | None = None, **kwargs
) -> Iterator[Stack]:
    """A stack of ``services`` over the project's model repository, stopped afterwards. Its
    models run torch on one thread: tests share two cores, two at a time."""
    with Stack(
        run_dir=run_dir,
        services=services,
        model_repo=ROOT / "model_repo",
        model_env={"OMP_NUM_THREADS": "1"} | (model_env or {}),
        **kwargs,
    ) as stack:
        yield stack


def with_topics(stack: Stack) -> Settings:
    """The stack's settings, every adcraft topic created on its broker."""
    settings = stack.settings()
    kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
    return settings


def list_world(settings: Settings, world: SyntheticWorld) -> None:
    """Publish ``world``'s catalogue, one listing per ad, acknowledged by the broker."""
    producer = kafka.producer(settings.kafka)
    for listing in listings(world, int(time.time() * 1000)):
        producer.produce(listing.topic, key=listing.key(), value=codec.encode(listing))
    assert producer.flush(10) == 0
