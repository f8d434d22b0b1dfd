"""The reward demo's live view: learned element scores next to the world's truth."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.contract.events import ElementScored

WATCHED_AD, WATCHED_SEGMENT = "ad0", "young"
# Redis's scores per (ad, segment), keyed by (slot, element) as ScoreStore.read returns them.
Scores = Mapping[tuple[str, str], Mapping[tuple[str, str], ElementScored]]


@dataclass(frozen=True)
class Snapshot:
    """What the plot keeps of one view: when, the ranking agreement, the watched titles."""

    elapsed: float
    rho: float
    titles: dict[str, float]


def render(world: SyntheticWorld, scores: Scores, elapsed: float) -> tuple[str, Snapshot]:
    """The terminal view of ``scores`` after ``elapsed`` seconds, and its snapshot."""
    rho = world.ranking_agreement(
        lambda ad, segment: {key: s.score for key, s in scores[ad, segment].items()}
    )
    lines = []
    titles: dict[str, float] = {}
    watched = scores[WATCHED_AD, WATCHED_SEGMENT]
    for slot, elements in world.catalog.ads[WATCHED_AD].items():
        if not all((slot, e) in watched for e in elements):
            continue
        ranked = sorted(elements, key=lambda e: -watched[slot, e].score)
        best = max(
            elements, key=lambda e: world.element_effect(WATCHED_AD, WATCHED_SEGMENT, slot, e)
        )
        shown = "  ".join(
            f"{e}:{watched[slot, e].score:.3f}±{watched[slot, e].uncertainty:.3f}" for e in ranked
        )
        lines.append(f"  {slot:<9} {shown}   (truly best: {best})")
        if slot == "title":
            titles = {e: watched[slot, e].score for e in elements}
    header = f"t={elapsed:5.1f}s  Spearman(learned, true element effects) = {rho:.3f}"
    watching = f"  {WATCHED_AD} / segment {WATCHED_SEGMENT}, elements by learned score:"
    return "\n".join([header, watching, *lines]), Snapshot(elapsed, rho, titles)


def clear_screen() -> str:
    """ANSI clear when writing to a terminal, else a separator."""
    return "\x1b[2J\x1b[H" if sys.stdout.isatty() else "-" * 72
