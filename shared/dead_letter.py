"""Dead-letter publishing: the original bytes, untouched, plus why they were rejected."""

from __future__ import annotations

from typing import NamedTuple

from confluent_kafka import Message, Producer

from shared import topics


class Source(NamedTuple):
    """Where a message came from, with its original key and value."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @classmethod
    def of(cls, message: Message) -> Source:
        """The source of a consumed message."""
        return cls(
            message.topic() or "",
            message.partition() or 0,
            message.offset() or 0,
            message.key(),
            message.value(),
        )


class DeadLetters:
    """Publishes rejected messages to the dead-letter topic and counts them by kind."""

    def __init__(self, producer: Producer, topic: str = topics.DEAD_LETTER) -> None:
        self._producer = producer
        self._topic = topic
        self.counts: dict[str, int] = {}

    def publish(self, source: Source, reason: str, kind: str) -> None:
        """Send the original message on with headers naming its origin, ``kind`` and ``reason``.

        ``kind`` is a short, low-cardinality label (``decode``, ``unjoinable`` …) for
        metrics; ``reason`` is the full human-readable explanation.
        """
        headers: dict[str, str | bytes | None] = {
            "adcraft.reason": reason.encode(),
            "adcraft.kind": kind.encode(),
            "adcraft.source.topic": source.topic.encode(),
            "adcraft.source.partition": str(source.partition).encode(),
            "adcraft.source.offset": str(source.offset).encode(),
        }
        self._producer.produce(self._topic, key=source.key, value=source.value, headers=headers)
        self.counts[kind] = self.counts.get(kind, 0) + 1
