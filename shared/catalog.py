"""The ad catalogue: which elements each ad may show in each slot."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class AdCatalog(BaseModel):
    """``ads[ad_id][slot]`` lists the element ids that slot may show."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    ads: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> AdCatalog:
        """Read a catalogue from a JSON file."""
        return cls.model_validate_json(path.read_bytes())

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
