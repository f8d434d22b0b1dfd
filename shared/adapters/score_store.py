"""Element scores in Redis, one hash per ad and segment (keys from
:mod:`adcraft.shared.contract.keys`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import redis
from redis.typing import EncodableT, FieldT

from adcraft.shared.contract import codec, keys
from adcraft.shared.contract.events import ElementScored

ScoreKey = tuple[str, str, str, str]  # ad id, segment, slot, element id


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
