"""A marketer's veto on pooled copy (``adcraft copy review``): list what awaits review,
approve or reject variants by id, who and why, logged. A rejected variant is never served
from its pool, however often the pool is rewritten (a decision holds per (ad, segment,
style): the same text in another pool is decided there)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from adcraft.services.pools.store import PoolStore, slots
from adcraft.shared.adapters.pool_reads import Slot
from adcraft.shared.contract.copy_pool import Decision, Status
from adcraft.shared.contract.events import AdListed
from adcraft.shared.runtime import logs

log = logging.getLogger("adcraft.copy")


@dataclass(frozen=True)
class Pooled:
    """One variant in one pool, and its decision (None: none yet)."""

    slot: Slot
    variant: str
    text: str
    decision: Decision | None


def pooled(listings: list[AdListed], store: PoolStore) -> list[Pooled]:
    """Every variant in the listed ads' pools, with its decision."""
    wanted = slots(listings)
    return [
        Pooled(slot, variant, text, decisions.get(variant))
        for slot, (pool, decisions) in zip(wanted, store.read(wanted), strict=True)
        if pool is not None
        for variant, text in pool.variants
    ]


def decide(
    found: list[Pooled], store: PoolStore, variants: list[str], status: Status, by: str, why: str
) -> list[str]:
    """Record ``status`` on every pool holding each of ``variants``; the ids found in none
    are returned."""
    now = int(time.time() * 1000)
    missing = []
    for variant in variants:
        holders = [p for p in found if p.variant == variant]
        if not holders:
            missing.append(variant)
        for held in holders:
            store.decide(held.slot, variant, Decision(status, by, why, now))
            logs.record(
                log, logging.INFO, "copy_reviewed", variant=variant, ad=held.slot[0],
                segment=held.slot[1], style=held.slot[2], status=status, by=by, why=why,
            )  # fmt: skip
    return missing
