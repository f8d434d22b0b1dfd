"""Dead-letter publishing: the original bytes, untouched, plus why they were rejected."""

from __future__ import annotations

from confluent_kafka import Message, Producer

from shared import topics


class DeadLetters:
    """Publishes rejected messages to the dead-letter topic and counts them by reason."""

    def __init__(self, producer: Producer, topic: str = topics.DEAD_LETTER) -> None:
        self._producer = producer
        self._topic = topic
        self.counts: dict[str, int] = {}

    def publish(self, message: Message, reason: str, kind: str) -> None:
        """Send ``message`` on with headers naming its origin, ``kind`` and ``reason``.

        ``kind`` is a short, low-cardinality label (``decode``, ``unjoinable`` …) for
        metrics; ``reason`` is the full human-readable explanation.
        """
        headers: dict[str, str | bytes | None] = {
            "adcraft.reason": reason.encode(),
            "adcraft.kind": kind.encode(),
            "adcraft.source.topic": (message.topic() or "").encode(),
            "adcraft.source.partition": str(message.partition()).encode(),
            "adcraft.source.offset": str(message.offset()).encode(),
        }
        self._producer.produce(
            self._topic, key=message.key(), value=message.value(), headers=headers
        )
        self.counts[kind] = self.counts.get(kind, 0) + 1
