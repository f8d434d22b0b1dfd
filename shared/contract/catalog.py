"""The ad catalogue: which elements each ad may show in each slot.

A catalogue file is JSON ``{"ads": {ad_id: entry}}``; an entry is either the slots alone
(``{slot: [element, ...]}``) or a listing's fields (product facts, ``slots``, ``default``:
see :class:`~adcraft.shared.contract.events.AdListed`). Only listings can be published to the
catalogue topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adcraft.shared.contract.events import AdListed


class AdCatalog(BaseModel):
    """``ads[ad_id][slot]`` lists the element ids that slot may show."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    ads: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> AdCatalog:
        """Read a catalogue from a JSON file (either form of entry)."""
        ads = orjson.loads(path.read_bytes()).get("ads", {})
        return cls(ads={ad: entry.get("slots", entry) for ad, entry in ads.items()})

    @classmethod
    def of(cls, listings: Iterable[AdListed]) -> AdCatalog:
        """The slots of ``listings``."""
        return cls(ads={listing.ad_id: listing.slots for listing in listings})

    @cached_property
    def _index(self) -> dict[str, dict[str, frozenset[str]]]:
        return {
            ad: {slot: frozenset(els) for slot, els in slots.items()}
            for ad, slots in self.ads.items()
        }

    def unknown(self, ad_id: str, elements: dict[str, str] | None = None) -> str | None:
        """Why ``elements`` (one per slot, every slot filled) cannot be shown for ``ad_id``,
        or None if they can; without ``elements``, only whether the ad exists.

        >>> catalog = AdCatalog(ads={"ad1": {"title": ["t1", "t2"], "image": ["i1"]}})
        >>> catalog.unknown("ad1", {"title": "t2", "image": "i1"}) is None
        True
        >>> catalog.unknown("ad1", {"title": "t9", "image": "i1"})
        "unknown element 't9' in slot 'title' of ad 'ad1'"
        >>> catalog.unknown("ad1", {"title": "t1"})
        "ad 'ad1' has slots ['image', 'title'], the impression fills ['title']"
        >>> catalog.unknown("ad7")
        "unknown ad 'ad7'"
        """
        slots = self._index.get(ad_id)
        if slots is None:
            return f"unknown ad {ad_id!r}"
        if elements is None:
            return None
        if len(elements) != len(slots) or elements.keys() != slots.keys():
            return (
                f"ad {ad_id!r} has slots {sorted(slots)}, the impression fills {sorted(elements)}"
            )
        for slot, element in elements.items():
            if element not in slots[slot]:
                return f"unknown element {element!r} in slot {slot!r} of ad {ad_id!r}"
        return None


def listings(path: Path, ts_ms: int) -> list[AdListed]:
    """The listings of a catalogue file, stamped ``ts_ms``; :class:`ValueError` naming the
    first entry that is not a valid listing.

    >>> import json, tempfile
    >>> entry = {"product_id": "p1", "product": "dress", "department": "Dresses",
    ...          "slots": {"title": ["t1"]}}
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
    ...     _ = f.write(json.dumps({"ads": {"ad1": entry, "ad2": {"title": ["t1"]}}})); f.flush()
    ...     listings(Path(f.name), 5)
    Traceback (most recent call last):
    ...
    ValueError: ad 'ad2': product_id: Field required
    """
    found = []
    for ad, entry in orjson.loads(path.read_bytes()).get("ads", {}).items():
        fields = {"event_id": f"listing-{ad}-{ts_ms}", "ts_ms": ts_ms, "ad_id": ad} | entry
        try:
            found.append(AdListed.model_validate(fields))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"ad {ad!r}: {where + ': ' if where else ''}{first['msg']}") from None
    return found
