"""What a request reads from Redis, in one pipelined round trip, the copy cache the copy
agent fills, and the answers already given (keys from
:mod:`adcraft.shared.contract.keys`; an ad's keys share a cluster slot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import orjson
import redis.asyncio

from adcraft.shared.contract import keys
from adcraft.shared.contract.posteriors import AdPosterior, problem

Cached = list[tuple[str, str]]  # (variant id, text)


@dataclass(frozen=True)
class Snapshot:
    """An ad's posterior for one segment (None: read as the prior), why a stored one was
    refused (``broken``), its cached copy per copy style (styles with none left out), and
    the answer already given to this request, if any."""

    posterior: AdPosterior | None
    copy: dict[str, Cached]
    answered: bytes | None = None
    broken: str | None = None


class RequestStore:
    """Async reads for requests, writes of refilled copy and of answers."""

    def __init__(self, client: redis.asyncio.Redis, copy_ttl_s: int, group: str) -> None:
        self._redis, self._ttl_s, self._group = client, copy_ttl_s, group

    async def read(self, ad_id: str, segment: str, styles: list[str], request_id: str) -> Snapshot:
        """The ad's posterior and cached copy, and this request's answer if it has one."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(keys.answer(self._group, ad_id, request_id))
        pipe.get(keys.posterior(ad_id, segment))
        for style in styles:
            pipe.get(keys.copy_variants(ad_id, segment, style))
        answered, raw, *copies = await pipe.execute()
        cached = {}
        for style, blob in zip(styles, copies, strict=True):
            if (variants := _variants(blob)) is not None:
                cached[style] = variants
        posterior, broken = _posterior(raw)
        return Snapshot(posterior, cached, answered, broken)

    async def answered(self, ad_id: str, request_id: str) -> bytes | None:
        """The answer already given to a request, if any."""
        given = await self._redis.get(keys.answer(self._group, ad_id, request_id))
        return cast(bytes | None, given)

    async def answer(self, ad_id: str, request_id: str, encoded: bytes, keep_s: float) -> bytes:
        """Keep ``encoded`` as the request's answer for ``keep_s``, unless it has one
        already (a redelivery answered it first): return the one kept."""
        key = keys.answer(self._group, ad_id, request_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(key, encoded, nx=True, px=max(int(keep_s * 1000), 1))
        pipe.get(key)
        _, kept = await pipe.execute()
        return cast(bytes | None, kept) or encoded

    async def write_copy(self, ad_id: str, segment: str, style: str, variants: Cached) -> None:
        """Replace the cached variants of one copy style, expiring after the TTL."""
        await self._redis.set(
            keys.copy_variants(ad_id, segment, style), orjson.dumps(variants), ex=self._ttl_s
        )


def _posterior(raw: bytes | None) -> tuple[AdPosterior | None, str | None]:
    """The posterior ``raw`` holds, or None (the prior) and why: none stored, or one that
    does not decode or holds a number out of range (the reward worker rewrites it)."""
    if raw is None:
        return None, None
    try:
        posterior = AdPosterior.decode(raw)
    except ValueError:
        return None, "undecodable"
    broken = problem(posterior)
    return (None, broken) if broken else (posterior, None)


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
