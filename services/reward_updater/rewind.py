"""Telling a redelivered message from a rewound log.

A restored partition seeks one message back: the first it reads must be the last one it
applied, unchanged. Anything else below its applied offset means the broker lost or
replaced data under it, and going on would skip or double-count events.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from adcraft.services.reward_updater.exceptions import OffsetRewound, StateUnrecoverable

if TYPE_CHECKING:
    from adcraft.services.reward_updater.partition import PartitionState


def fingerprint(message: Message) -> int:
    """What identifies a message at an offset: a checksum of its key and value."""
    return zlib.crc32(message.value() or b"", zlib.crc32(message.key() or b""))


def seen_before(where: str, message: Message, applied: int, expected: int | None) -> bool:
    """Whether ``message`` of ``where`` (applied up to offset ``applied``) is the last one
    applied, seen again (its fingerprint ``expected``, once restored); raise
    :class:`OffsetRewound` if the log below the applied offset changed.

    >>> from types import SimpleNamespace as Msg
    >>> last = Msg(offset=lambda: 9, key=lambda: b"ad", value=lambda: b"v")
    >>> seen_before("p0", last, 10, fingerprint(last)), seen_before("p0", last, 9, None)
    (True, False)
    >>> seen_before("p0", Msg(offset=lambda: 3), 10, None)
    Traceback (most recent call last):
    ...
    adcraft.services.reward_updater.exceptions.OffsetRewound: p0: offset 3 arrived where \
the checkpoint, applied up to 10, expected 9: the broker lost or rewound the log
    """
    offset: int = message.offset()  # type: ignore[assignment]  # consumed: it has one
    if expected is None and offset >= applied:
        return False
    if offset != applied - 1:
        raise OffsetRewound(
            f"{where}: offset {offset} arrived where the checkpoint, applied up to "
            f"{applied}, expected {applied - 1}: the broker lost or rewound the log"
        )
    if expected is not None and fingerprint(message) != expected:
        raise OffsetRewound(f"{where}: offset {offset} holds another message than applied")
    return True


def resume_at(consumer: Consumer, state: PartitionState, tp: TopicPartition) -> int:
    """Where to read ``tp`` from: one before the offset ``state`` applied up to, to see
    that the log still holds the last message applied; at that offset when retention
    removed exactly the messages applied (nothing left to check, nothing lost)."""
    applied = state.offsets.get(tp.topic)
    if not applied:
        return OFFSET_BEGINNING
    low, _ = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), 10, False)
    if low == applied:
        state.unverified.pop(tp.topic, None)
        return applied
    return applied - 1


def check_rebuildable(
    consumer: Consumer, inputs: tuple[str, ...], partition: int, on_state_loss: str
) -> str:
    """Kafka says the group committed offsets for ``partition`` but Redis holds no
    checkpoint: Redis lost it. Say so if the partition can be replayed from offset 0 (its
    inputs still start there; learning is deterministic, so that rebuilds the same state),
    else raise :class:`StateUnrecoverable`."""
    lost = f"partition {partition}: Redis has no checkpoint but Kafka has committed offsets"
    if on_state_loss == "fail":
        raise StateUnrecoverable(f"{lost} (on_state_loss=fail)")
    for topic in inputs:
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10, False)
        if low > 0:
            raise StateUnrecoverable(f"{lost}, and {topic} now starts at offset {low}")
    return lost


class ShortLogs:
    """Inputs whose log ends below what was applied. Some brokers just serve nothing past
    their end, and a cached high-water mark may predate the assignment, so a log is rewound
    only once it has stayed short for ``alarm_ms``."""

    def __init__(self, alarm_ms: int) -> None:
        self.alarm_ms = alarm_ms
        self._since: dict[tuple[str, int], float] = {}

    def rewound(self, topic: str, partition: int, high: int, applied: int, now: float) -> bool:
        """Whether the log of ``topic``/``partition``, ending at ``high`` at monotonic time
        ``now``, has stayed below ``applied`` too long."""
        if high >= applied:
            self._since.pop((topic, partition), None)
            return False
        since = self._since.setdefault((topic, partition), now)
        return (now - since) * 1000 >= self.alarm_ms

    def forget(self, partition: int) -> None:
        """Stop watching a partition this worker no longer owns."""
        self._since = {key: t for key, t in self._since.items() if key[1] != partition}
