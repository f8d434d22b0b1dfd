"""Thin confluent-kafka factories: batching idempotent producers, manual-commit consumers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from adcraft.shared.runtime.connections import KafkaSettings


def producer(settings: KafkaSettings, **overrides: Any) -> Producer:
    """A producer that batches (linger) and never duplicates on retry (idempotence)."""
    config = settings.client_config() | {
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 1_000_000,
    }
    return Producer(config | overrides)


class DeliveryFailures:
    """A delivery callback that keeps the first failure: ``Producer.flush`` returning 0
    says only that the queue is empty, not that every message arrived. Pass it as
    ``on_delivery`` with ``delivery.report.only.error`` (successes then cost nothing)."""

    def __init__(self) -> None:
        self.first: str | None = None
        self.count = 0

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.count += 1
            self.first = self.first or f"{message.topic()}: {error.str()}"


def consumer(settings: KafkaSettings, group_id: str, **overrides: Any) -> Consumer:
    """A group consumer that commits only when told to (at-least-once)."""
    config = settings.client_config() | {
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": settings.heartbeat_interval_ms,
        # Brokers may return several MB per partition per fetch; do not back off a second
        # when the local queue overfills.
        "fetch.queue.backoff.ms": 10,
    }
    return Consumer(config | overrides)


def ensure_topics(
    settings: KafkaSettings,
    names: Iterable[str],
    compacted: Iterable[str] = (),
    partitions: int | None = None,
    timeout_s: float = 10.0,
) -> None:
    """Create the topics that do not exist yet; compacted ones get ``cleanup.policy=compact``."""
    admin = AdminClient(settings.client_config())
    existing = admin.list_topics(timeout=timeout_s).topics
    compacted = set(compacted)
    wanted = [
        NewTopic(
            name,
            num_partitions=partitions or settings.topic_partitions,
            replication_factor=settings.topic_replication,
            config={"cleanup.policy": "compact"} if name in compacted else {},
        )
        for name in names
        if name not in existing
    ]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"cannot create topic {name}: {exc}") from exc


def produce(producer: Producer, topic: str, key: bytes | None, value: bytes | None, **kw: Any):
    """Produce one message, waiting (serving delivery reports) while the local queue is full:
    the one backpressure loop every producer of adcraft goes through."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, **kw)
            return
        except BufferError:
            producer.poll(0.01)
