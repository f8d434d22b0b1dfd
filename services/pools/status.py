"""How far copy is written ahead of demand: per (ad, segment, copy style) of the listed
ads, how its pool stands (``adcraft copy status``)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass

from adcraft.services.pools.store import PoolStore, slots
from adcraft.services.request_worker import copy_choice
from adcraft.shared.contract.copy_pool import Pooled
from adcraft.shared.contract.events import AdListed


@dataclass(frozen=True)
class PoolRow:
    """One pool: ``state`` is hit, thin, miss, stale or no_brief (nothing a copy may name)."""

    ad_id: str
    segment: str
    style: str
    state: str
    servable: int
    rejected: int
    model: str
    age_s: float | None


def rows(
    listings: list[AdListed], store: PoolStore, review_required: bool, minimum: int
) -> list[PoolRow]:
    """Every pool the listings ask for, as it stands now."""
    by_ad = {listing.ad_id: listing for listing in listings}
    wanted = slots(listings)
    now = time.time()
    return [
        _row(by_ad[slot[0]], slot, found, review_required, minimum, now)
        for slot, found in zip(wanted, store.read(wanted), strict=True)
    ]


def _row(
    listing: AdListed,
    slot: tuple[str, str, str],
    found: Pooled,
    review_required: bool,
    minimum: int,
    now: float,
) -> PoolRow:
    pool, decisions = found
    brief = copy_choice.brief(listing, slot[1], slot[2])
    servable: list[tuple[str, str]] = []
    state = "no_brief"
    if brief is not None:
        servable, state = copy_choice.pooled(found, brief, review_required, minimum)
    rejected = sum(1 for d in decisions.values() if d.status == "rejected")
    age = None if pool is None else round(now - pool.written_ms / 1000, 1)
    return PoolRow(*slot, state, len(servable), rejected, pool.model if pool else "", age)


def summary(found: list[PoolRow]) -> dict:
    """Coverage (pools that are a hit, of those with a brief), pools by state and by the
    model version that wrote them."""
    states = Counter(row.state for row in found)
    briefed = len(found) - states["no_brief"]
    return {
        "pools": len(found),
        "coverage": round(states["hit"] / briefed, 4) if briefed else 0.0,
        "states": dict(sorted(states.items())),
        "versions": dict(sorted(Counter(row.model for row in found if row.model).items())),
        "rows": [asdict(row) for row in found],
    }


def counted(counts: dict[str, int]) -> str:
    """``counts`` as a reader would say them.

    >>> counted({"hit": 17, "miss": 1})
    'hit 17, miss 1'
    >>> counted({})
    'none'
    """
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "none"
