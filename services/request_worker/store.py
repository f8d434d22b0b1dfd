"""What a request reads from Redis, in one pipelined round trip, the copy pools written
ahead of demand with their review decisions, and the answers already given (keys from
:mod:`adcraft.shared.contract.keys`; an ad's keys share a cluster slot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import redis.asyncio

from adcraft.shared.adapters import pool_reads
from adcraft.shared.contract import keys
from adcraft.shared.contract.copy_pool import Pool, Pooled
from adcraft.shared.contract.posteriors import AdPosterior, problem


@dataclass(frozen=True)
class Snapshot:
    """An ad's posterior for one segment (None: read as the prior), why a stored one was
    refused (``broken``), its copy pool and review decisions per copy style, and the answer
    already given to this request, if any."""

    posterior: AdPosterior | None
    pools: dict[str, Pooled]
    answered: bytes | None = None
    broken: str | None = None


class RequestStore:
    """Async reads for requests, writes of pools and of answers."""

    def __init__(self, client: redis.asyncio.Redis, group: str) -> None:
        self._redis, self._group = client, group

    async def read(self, ad_id: str, segment: str, styles: list[str], request_id: str) -> Snapshot:
        """The ad's posterior and copy pools, and this request's answer if it has one."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(keys.answer(self._group, ad_id, request_id))
        pipe.get(keys.posterior(ad_id, segment))
        pool_reads.queue(pipe, [(ad_id, segment, style) for style in styles])
        answered, raw, *found = await pipe.execute()
        pools = dict(zip(styles, pool_reads.pooled(found), strict=True))
        posterior, broken = _posterior(raw)
        return Snapshot(posterior, pools, answered, broken)

    async def pools(self, ad_id: str, segments: list[str], styles: list[str]) -> list[Pooled]:
        """The pools of every (segment, style) of an ad, in that order."""
        pipe = self._redis.pipeline(transaction=False)
        pool_reads.queue(pipe, [(ad_id, g, s) for g in segments for s in styles])
        return pool_reads.pooled(await pipe.execute())

    async def answer(self, ad_id: str, request_id: str, encoded: bytes, keep_s: float) -> bytes:
        """Keep ``encoded`` as the request's answer for ``keep_s``, unless it has one
        already (a redelivery answered it first): return the one kept."""
        key = keys.answer(self._group, ad_id, request_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(key, encoded, nx=True, px=max(int(keep_s * 1000), 1))
        pipe.get(key)
        _, kept = await pipe.execute()
        return cast(bytes | None, kept) or encoded

    async def write_pool(self, ad_id: str, segment: str, style: str, pool: Pool) -> None:
        """Replace the pool of one copy style (its review decisions stay)."""
        await self._redis.set(keys.copy_pool(ad_id, segment, style), pool.encode())


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
