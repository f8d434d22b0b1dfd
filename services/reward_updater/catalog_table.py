"""One partition's catalogue table: which elements each of its ads may show, from when.

Listings are keyed by ad like the events, so partition ``p`` of the catalogue topic lists
exactly the ads of partition ``p`` of the events. An element may be shown from the time of
the first listing that named it; elements are never removed (an impression of one a later
listing dropped was still shown), and an ad's slots never change (a listing that changes
them is refused: list a new ad). Ads of a catalogue file may be shown at any time.
"""

from __future__ import annotations

from typing import Any

ALWAYS = -1  # listed before any event time: the ads of a catalogue file
Slots = dict[str, list[str]]


class CatalogTable:
    """Ad → slot → element → the event time it was first listed at.

    >>> table = CatalogTable({"ad": {"title": ["t1"]}})
    >>> table.add("ad", {"title": ["t1", "t2"]}, ts=100)
    >>> table.unshowable("ad", {"title": "t2"}, ts=99)
    "element 't2' of slot 'title' of ad 'ad' is listed from 100, the event is at 99"
    >>> table.unshowable("ad", {"title": "t2"}, ts=100) is None
    True
    >>> table.add("ad", {"image": ["i1"]}, ts=200)
    "ad 'ad' has slots ['title'], the listing has ['image']"
    """

    def __init__(self, base: dict[str, Slots] | None = None) -> None:
        self.ads: dict[str, dict[str, dict[str, int]]] = {}
        self.since: dict[str, int] = {}  # when each ad was first listed
        for ad, slots in (base or {}).items():
            self.add(ad, slots, ALWAYS)

    def add(self, ad: str, slots: Slots, ts: int) -> str | None:
        """Take a listing of ``ad`` stamped ``ts``; return why it cannot be taken, else None."""
        known = self.ads.get(ad)
        if known is None:
            self.ads[ad] = {slot: dict.fromkeys(elements, ts) for slot, elements in slots.items()}
            self.since[ad] = ts
            return None
        if known.keys() != slots.keys():
            return f"ad {ad!r} has slots {sorted(known)}, the listing has {sorted(slots)}"
        for slot, elements in slots.items():
            listed = known[slot]
            for element in elements:
                listed[element] = min(listed.get(element, ts), ts)
        self.since[ad] = min(self.since[ad], ts)
        return None

    def listed(self, ad: str, ts: int) -> bool:
        """Whether ``ad`` was listed by ``ts``."""
        return self.since.get(ad, ts + 1) <= ts

    def unshowable(self, ad: str, elements: dict[str, str], ts: int) -> str | None:
        """Why ``elements`` (one per slot, every slot filled) could not be shown for ``ad``
        at ``ts``, or None if they could."""
        slots = self.ads.get(ad)
        if slots is None:
            return f"unknown ad {ad!r}"
        if len(elements) != len(slots) or elements.keys() != slots.keys():
            return f"ad {ad!r} has slots {sorted(slots)}, the impression fills {sorted(elements)}"
        for slot, element in elements.items():
            since = slots[slot].get(element)
            if since is None:
                return f"unknown element {element!r} in slot {slot!r} of ad {ad!r}"
            if since > ts:
                return (
                    f"element {element!r} of slot {slot!r} of ad {ad!r} is listed from {since}, "
                    f"the event is at {ts}"
                )
        return None

    def to_plain(self) -> dict[str, Any]:
        """As JSON-able values, for :meth:`from_plain`."""
        return self.ads

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> CatalogTable:
        """The table :meth:`to_plain` wrote."""
        table = cls()
        table.ads = plain
        table.since = {
            ad: min(min(elements.values()) for elements in slots.values())
            for ad, slots in plain.items()
        }
        return table
