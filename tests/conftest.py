"""Fixtures that start the real services once per session, on loopback and free ports."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.simulator.listings import listings
from services.simulator.world import SyntheticWorld
from shared import codec, kafka, score_store, topics
from shared.settings import KafkaSettings, Settings
from shared.stack import Stack

ROOT = Path(__file__).resolve().parents[1]


SERVING = ("broker", "redis", "triton")  # what the request path needs


def running(run_dir: Path, services: tuple[str, ...], **kwargs) -> Iterator[Stack]:
    """A stack of ``services`` over the project's model repository, stopped afterwards."""
    with Stack(
        run_dir=run_dir, services=services, model_repo=ROOT / "model_repo", **kwargs
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


def _stack(tmp_path_factory: pytest.TempPathFactory, *services: str, **kwargs) -> Iterator[Stack]:
    yield from running(tmp_path_factory.mktemp("-".join(services)), services, **kwargs)


@pytest.fixture(scope="session")
def broker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, "broker")


@pytest.fixture(scope="session")
def redis_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, "redis")


@pytest.fixture(scope="session")
def triton_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(
        tmp_path_factory, "triton", models=["element_sampler", "combination_generator"]
    )


@pytest.fixture
def kafka_settings(broker_stack: Stack) -> KafkaSettings:
    return broker_stack.settings().kafka


@pytest.fixture
def settings(broker_stack: Stack, redis_stack: Stack) -> Settings:
    """Settings pointing at the session's broker and Redis."""
    return Settings(kafka=broker_stack.settings().kafka, redis=redis_stack.settings().redis)


@pytest.fixture
def redis_client(redis_stack: Stack) -> Iterator[redis.Redis]:
    client = score_store.client(redis_stack.settings().redis)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def unique_topic() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def unique_group() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Torch on one thread: the generator's tensors are so small that a second thread
    costs more than it gives, many times over on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
