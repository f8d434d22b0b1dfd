"""Ad posteriors in Redis, one encoded
:class:`~adcraft.shared.contract.posteriors.AdPosterior` per ad and segment (keys from
:mod:`adcraft.shared.contract.keys`); the reward worker writes them with its scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import redis

from adcraft.shared.contract import keys
from adcraft.shared.contract.posteriors import AdPosterior


class PosteriorStore:
    """Reads an ad's posteriors."""

    def __init__(self, redis_client: redis.Redis) -> None:
        self._redis = redis_client

    def read(self, ad_id: str, segments: Sequence[str]) -> dict[str, AdPosterior | None]:
        """The posterior of each of ``segments`` of one ad (None where Redis has none) in one
        MGET, which a cluster serves from one node: an ad's keys share a hash slot."""
        if not segments:
            return {}
        raw = cast(
            list[bytes | None], self._redis.mget([keys.posterior(ad_id, s) for s in segments])
        )
        return {
            segment: None if blob is None else AdPosterior.decode(blob)
            for segment, blob in zip(segments, raw, strict=True)
        }

    def all(self, batch: int = 500) -> list[AdPosterior]:
        """Every ad posterior Redis holds (a snapshot for training). SCAN, so Redis is not
        blocked; one pipelined GET per key, so keys of different ads need not share a
        cluster slot."""
        found = []
        names = list(self._redis.scan_iter(match=keys.every_posterior(), count=batch))
        for start in range(0, len(names), batch):
            pipe = self._redis.pipeline(transaction=False)
            for name in names[start : start + batch]:
                pipe.get(name)
            found += [AdPosterior.decode(blob) for blob in pipe.execute() if blob is not None]
        return found
