"""Element scores in Redis; the only module that knows the key scheme."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
import redis

from shared.events import ElementScored
from shared.settings import RedisSettings

PREFIX = "adcraft"


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


def field(slot: str, element_id: str) -> str:
    """Hash field of one element within its ad and segment."""
    return f"{slot}|{element_id}"


class ScoreStore:
    """Reads and batch-writes element scores."""

    def __init__(self, redis_client: redis.Redis) -> None:
        self._redis = redis_client

    def write(self, scores: Iterable[ElementScored]) -> int:
        """Write scores in one pipelined round trip; return how many were written."""
        pipe = self._redis.pipeline(transaction=False)
        count = 0
        for score in scores:
            pipe.hset(
                scores_key(score.ad_id, score.segment),
                field(score.slot, score.element_id),
                orjson.dumps(score.model_dump()),
            )
            count += 1
        pipe.execute()
        return count

    def read(self, ad_id: str, segment: str) -> dict[tuple[str, str], ElementScored]:
        """All element scores of one ad and segment, keyed by (slot, element id)."""
        raw = self._redis.hgetall(scores_key(ad_id, segment))
        result = {}
        for value in raw.values():
            score = ElementScored.model_validate(orjson.loads(value))
            result[(score.slot, score.element_id)] = score
        return result
