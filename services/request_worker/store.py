"""What a request reads from Redis, in one pipelined round trip, and the copy cache the copy
agent fills (keys from :mod:`shared.keys`; an ad's keys share a cluster slot)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import orjson
import redis.asyncio

from shared import keys
from shared.posteriors import AdPosterior, ElementPosterior

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
        cached = {}
        for style, blob in zip(styles, copies, strict=True):
            if (variants := _variants(blob)) is not None:
                cached[style] = variants
        return Snapshot(_posterior(raw), cached)

    async def write_copy(self, ad_id: str, segment: str, style: str, variants: Cached) -> None:
        """Replace the cached variants of one copy style, expiring after the TTL."""
        await self._redis.set(
            keys.copy_variants(ad_id, segment, style), orjson.dumps(variants), ex=self._ttl_s
        )


def _posterior(raw: bytes | None) -> AdPosterior | None:
    """The posterior ``raw`` holds; None (the prior) for none, or for one that does not
    decode or holds a non-finite or negative number (the reward worker rewrites it)."""
    try:
        posterior = None if raw is None else AdPosterior.decode(raw)
    except ValueError:
        return None
    if posterior is None:
        return None
    numbers = [v for e in _elements(posterior) for v in (e.mean, e.sd, e.observations)]
    numbers += [p.weight for p in posterior.pairs]
    sane = all(math.isfinite(v) for v in numbers) and all(e.sd >= 0 for e in _elements(posterior))
    return posterior if sane else None


def _elements(posterior: AdPosterior) -> list[ElementPosterior]:
    return [e for elements in posterior.slots.values() for e in elements]


def _variants(blob: bytes | None) -> Cached | None:
    """Cached variants as (id, text) pairs; None for none, or for anything else (a miss:
    the refill overwrites it)."""
    if blob is None:
        return None
    try:
        value = orjson.loads(blob)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, list) or not value:
        return None
    pairs = [tuple(v) for v in value if isinstance(v, list) and len(v) == 2]
    if len(pairs) != len(value) or not all(isinstance(x, str) for p in pairs for x in p):
        return None
    return pairs  # type: ignore[return-value]
