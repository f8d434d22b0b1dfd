"""Where a consumed message came from: what a dead letter must carry, without Kafka types,
so pure code (the join) can name a message's origin."""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Consumed(Protocol):
    """A consumed message, as confluent-kafka's ``Message`` presents one."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...


class Source(NamedTuple):
    """Where a message came from, with its original key and value."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @classmethod
    def of(cls, message: Consumed) -> Source:
        """The source of a consumed message."""
        return cls(
            message.topic() or "",
            message.partition() or 0,
            message.offset() or 0,
            message.key(),
            message.value(),
        )

    def plain(self) -> list:
        r"""As JSON-able values (bytes as latin-1 text), for :meth:`from_plain`.

        >>> Source.from_plain(Source("t", 1, 2, None, b"\xff").plain())
        Source(topic='t', partition=1, offset=2, key=None, value=b'\xff')
        """
        key, value = (None if b is None else b.decode("latin-1") for b in (self.key, self.value))
        return [self.topic, self.partition, self.offset, key, value]

    @classmethod
    def from_plain(cls, plain: list) -> Source:
        """The source :meth:`plain` wrote."""
        topic, partition, offset, key, value = plain
        key, value = (None if s is None else s.encode("latin-1") for s in (key, value))
        return cls(topic, partition, offset, key, value)
