"""The demos' plots: the reward demo's ranking agreement and watched title scores, the loop
demo's truly-best share and end-to-end p99, over time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adcraft.services.demo.loop_view import RECENT_S, LoopPoint
from adcraft.services.demo.view import WATCHED_AD, WATCHED_SEGMENT, Snapshot

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot(history: Sequence[Snapshot], out: Path) -> Path:
    """Spearman over time and the watched ad/segment's title scores over time, as a PNG."""
    fig, (left, right) = _figure()
    times = [s.elapsed for s in history]
    left.plot(times, [s.rho for s in history], marker="o")
    left.set(
        title="Ranking vs ground truth", xlabel="seconds", ylabel="Spearman rho", ylim=(-0.2, 1.05)
    )
    left.axhline(0.9, linestyle="--", color="grey")
    for element in sorted({e for s in history for e in s.titles}):
        right.plot(times, [s.titles.get(element, np.nan) for s in history], label=element)
    right.set(
        title=f"{WATCHED_AD} / {WATCHED_SEGMENT}: title scores", xlabel="seconds", ylabel="P(click)"
    )
    right.legend()
    return _save(fig, out)


def plot_loop(history: Sequence[LoopPoint], out: Path) -> Path:
    """The share of truly best answers and the end-to-end p99 over time, as a PNG."""
    fig, (left, right) = _figure()
    times = [p.elapsed for p in history]
    left.plot(times, [p.best_recent for p in history], marker="o", label=f"last {RECENT_S:.0f}s")
    left.plot(times, [p.best_total for p in history], label="since the start")
    left.set(
        title="Answers that are the truly best combination",
        xlabel="seconds",
        ylabel="share",
        ylim=(0, 1.05),
    )
    left.legend()
    right.plot(times, [p.p99_ms for p in history], marker="o")
    right.set(title="End-to-end p99 (last second)", xlabel="seconds", ylabel="ms", ylim=(0, None))
    return _save(fig, out)


def _figure() -> tuple[Figure, Any]:
    """A figure of two panels side by side (matplotlib loaded only when plotting)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, 2, figsize=(11, 4))


def _save(fig: Figure, out: Path) -> Path:
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
