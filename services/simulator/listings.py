"""The simulated world's ads as catalogue listings: product facts for the copy, the slots
the world knows the truth of."""

from __future__ import annotations

from pathlib import Path

import orjson

from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.contract.events import AdListed

PRODUCTS = (
    ("dress", "Dresses", ["flowy", "soft"], ["for summer", "with pockets"]),
    ("sweater", "Tops", ["cozy", "warm"], ["for chilly days"]),
    ("pair of jeans", "Bottoms", ["stretchy", "slim"], ["for every day"]),
    ("jacket", "Jackets", ["light", "warm"], ["for layering"]),
    ("knit top", "Tops", ["soft", "breathable"], ["for work"]),
    ("skirt", "Bottoms", ["pleated", "flowy"], ["for the office"]),
)


def entries(world: SyntheticWorld) -> dict[str, dict]:
    """Each ad's catalogue entry (the fields of its listing)."""
    found = {}
    for index, (ad, slots) in enumerate(world.catalog.ads.items()):
        product, department, attributes, highlights = PRODUCTS[index % len(PRODUCTS)]
        found[ad] = {
            "product_id": f"p-{ad}",
            "product": product,
            "department": department,
            "attributes": attributes,
            "highlights": highlights,
            "slots": slots,
        }
    return found


def listings(world: SyntheticWorld, ts_ms: int) -> list[AdListed]:
    """The world's ads as listings stamped ``ts_ms``."""
    return [
        AdListed.model_validate({"event_id": f"listing-{ad}", "ts_ms": ts_ms, "ad_id": ad} | entry)
        for ad, entry in entries(world).items()
    ]


def write_catalog(world: SyntheticWorld, path: Path) -> Path:
    """The world's catalogue file (what ``adcraft catalog publish`` and the reward worker's
    ``--catalog`` read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps({"ads": entries(world)}, option=orjson.OPT_INDENT_2))
    return path
