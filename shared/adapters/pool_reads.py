"""Reading copy pools with their review decisions through a Redis pipeline (sync or
async: both queue commands alike), two commands per (ad, segment, style)."""

from __future__ import annotations

from typing import Any

from adcraft.shared.contract import keys
from adcraft.shared.contract.copy_pool import Pooled, read_decisions, read_pool

Slot = tuple[str, str, str]  # ad, segment, copy style


def queue(pipe: Any, slots: list[Slot]) -> None:
    """Queue the reads of every slot's pool and decisions on ``pipe``."""
    for slot in slots:
        pipe.get(keys.copy_pool(*slot))
        pipe.hgetall(keys.copy_review(*slot))


def pooled(found: list[Any]) -> list[Pooled]:
    """The pools and decisions the queued reads returned, in slot order."""
    return [(read_pool(found[i]), read_decisions(found[i + 1])) for i in range(0, len(found), 2)]
