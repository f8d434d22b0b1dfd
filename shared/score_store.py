"""Element scores in Redis; the only module that knows the key scheme."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

import redis
from redis.typing import EncodableT, FieldT

from shared import codec
from shared.events import ElementScored
from shared.settings import RedisSettings

PREFIX = "adcraft"
ScoreKey = tuple[str, str, str, str]  # ad id, segment, slot, element id


def client(settings: RedisSettings) -> redis.Redis:
    """A Redis client for ``settings`` (AUTH and TLS when configured)."""
    return redis.Redis(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        ssl=settings.ssl,
    )


def scores_key(ad_id: str, segment: str) -> str:
    """Hash holding every element score of one ad for one segment.

    >>> scores_key("ad-1", "young")
    'adcraft:scores:{ad-1}:young'
    """
    # The hash tag keeps an ad's keys in one Redis Cluster slot.
    return f"{PREFIX}:scores:{{{ad_id}}}:{segment}"


def state_key(name: str) -> str:
    """Key of a worker's checkpointed state blob.

    >>> state_key("rewards:0")
    'adcraft:state:rewards:0'
    """
    return f"{PREFIX}:state:{name}"


def element_field(slot: str, element_id: str) -> str:
    """Hash field of one element within its ad and segment."""
    return f"{slot}|{element_id}"


@dataclass
class StateWrite:
    """Changes to one worker state: whole blobs, and a chunk for its changelog (a
    snapshot blob written with ``reset_log`` supersedes the log)."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    log_chunk: bytes | None = None
    reset_log: bool = False


class ScoreStore:
    """Reads and batch-writes element scores."""

    def __init__(self, redis_client: redis.Redis) -> None:
        self._redis = redis_client

    def write(self, scores: Iterable[ElementScored]) -> int:
        """Write scores in one pipelined round trip; return how many were written."""
        return self.write_encoded(
            ((score.ad_id, score.segment, score.slot, score.element_id), codec.encode(score))
            for score in scores
        )

    def write_encoded(self, scores: Iterable[tuple[ScoreKey, bytes]]) -> int:
        """Write encoded scores, each with its (ad, segment, slot, element id)."""
        pipe = self._redis.pipeline(transaction=False)
        count = self._queue_scores(pipe, scores)
        pipe.execute()
        return count

    def checkpoint(self, states: dict[str, StateWrite]) -> None:
        """Write worker state changes atomically (one MULTI/EXEC)."""
        pipe = self._redis.pipeline(transaction=True)
        for name, write in states.items():
            for part, blob in write.blobs.items():
                pipe.set(state_key(f"{name}:{part}"), blob)
            if write.reset_log:
                pipe.delete(state_key(f"{name}:log"))
            if write.log_chunk is not None:
                pipe.rpush(state_key(f"{name}:log"), write.log_chunk)
        pipe.execute()

    def load_blob(self, name: str, part: str) -> bytes | None:
        """One blob saved by :meth:`checkpoint`, or None."""
        return cast(bytes | None, self._redis.get(state_key(f"{name}:{part}")))

    def load_log(self, name: str) -> list[bytes]:
        """The changelog chunks written since the last reset, oldest first."""
        return cast(list[bytes], self._redis.lrange(state_key(f"{name}:log"), 0, -1))

    @staticmethod
    def _queue_scores(pipe: redis.client.Pipeline, scores: Iterable[tuple[ScoreKey, bytes]]) -> int:
        by_key: dict[str, dict[FieldT, EncodableT]] = {}
        for (ad_id, segment, slot, element_id), value in scores:
            key = scores_key(ad_id, segment)
            by_key.setdefault(key, {})[element_field(slot, element_id)] = value
        for key, mapping in by_key.items():
            pipe.hset(key, mapping=mapping)
        return sum(map(len, by_key.values()))

    def read(self, ad_id: str, segment: str) -> dict[tuple[str, str], ElementScored]:
        """All element scores of one ad and segment, keyed by (slot, element id)."""
        raw = cast(dict[bytes, bytes], self._redis.hgetall(scores_key(ad_id, segment)))
        result = {}
        for value in raw.values():
            score = codec.decode(value, ElementScored)
            result[(score.slot, score.element_id)] = score
        return result
