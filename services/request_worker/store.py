"""What a request reads from Redis, in one pipelined round trip, and the copy cache the copy
agent fills (keys from :mod:`shared.keys`; an ad's keys share a cluster slot)."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import redis.asyncio

from shared import keys
from shared.posteriors import AdPosterior

Cached = list[tuple[str, str]]  # (variant id, text)


@dataclass(frozen=True)
class Snapshot:
    """An ad's posterior for one segment (None: nothing learned yet) and its cached copy
    per copy style (styles with no cache left out)."""

    posterior: AdPosterior | None
    copy: dict[str, Cached]


class RequestStore:
    """Async reads for requests and writes of refilled copy."""

    def __init__(self, client: redis.asyncio.Redis, copy_ttl_s: int) -> None:
        self._redis, self._ttl_s = client, copy_ttl_s

    async def read(self, ad_id: str, segment: str, styles: list[str]) -> Snapshot:
        """The ad's posterior and cached copy; a posterior Redis holds but that does not
        decode counts as none (the reward worker rewrites it)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(keys.posterior(ad_id, segment))
        for style in styles:
            pipe.get(keys.copy_variants(ad_id, segment, style))
        raw, *copies = await pipe.execute()
        try:
            posterior = None if raw is None else AdPosterior.decode(raw)
        except ValueError:
            posterior = None
        cached = {
            style: [tuple(v) for v in orjson.loads(blob)]
            for style, blob in zip(styles, copies, strict=True)
            if blob is not None
        }
        return Snapshot(posterior, cached)  # type: ignore[arg-type]

    async def write_copy(self, ad_id: str, segment: str, style: str, variants: Cached) -> None:
        """Replace the cached variants of one copy style, expiring after the TTL."""
        await self._redis.set(
            keys.copy_variants(ad_id, segment, style), orjson.dumps(variants), ex=self._ttl_s
        )
