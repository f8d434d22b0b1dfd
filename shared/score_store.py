"""Element scores in Redis, one hash per ad and segment (keys from :mod:`shared.keys`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.typing import EncodableT, FieldT

from shared import codec, keys
from shared.events import ElementScored
from shared.settings import RedisSettings

ScoreKey = tuple[str, str, str, str]  # ad id, segment, slot, element id


def client(settings: RedisSettings) -> redis.Redis:
    """A Redis client for ``settings`` (AUTH, TLS and socket deadlines as configured)."""
    return redis.Redis(**_options(settings))


def async_client(settings: RedisSettings) -> redis.asyncio.Redis:
    """The asyncio twin of :func:`client`, for the request path: it does not retry (redis-py
    retries ten times by default, refused credentials included), since that path has its
    own deadlines and breaker and a retry only spends the deadline."""
    return redis.asyncio.Redis(**_options(settings), retry=AsyncRetry(NoBackoff(), 0))


def _options(settings: RedisSettings) -> dict:
    return dict(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        socket_timeout=settings.socket_timeout_s,
        socket_connect_timeout=settings.socket_connect_timeout_s,
        ssl=settings.ssl,
        ssl_ca_certs=settings.ssl_ca_certs,
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
        # redis-py's default today; stated so that TLS never silently stops verifying the
        # server, whether against ssl_ca_certs or the system CAs.
        ssl_cert_reqs="required",
    )


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

    @staticmethod
    def _queue_scores(pipe: redis.client.Pipeline, scores: Iterable[tuple[ScoreKey, bytes]]) -> int:
        by_key: dict[str, dict[FieldT, EncodableT]] = {}
        for (ad_id, segment, slot, element_id), value in scores:
            key = keys.scores(ad_id, segment)
            by_key.setdefault(key, {})[keys.element_field(slot, element_id)] = value
        for key, mapping in by_key.items():
            pipe.hset(key, mapping=mapping)
        return sum(map(len, by_key.values()))

    def read(self, ad_id: str, segment: str) -> dict[tuple[str, str], ElementScored]:
        """All element scores of one ad and segment, keyed by (slot, element id)."""
        raw = cast(dict[bytes, bytes], self._redis.hgetall(keys.scores(ad_id, segment)))
        result = {}
        for value in raw.values():
            score = codec.decode(value, ElementScored)
            result[(score.slot, score.element_id)] = score
        return result
