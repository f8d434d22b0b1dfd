"""The reward demo's plot: ranking agreement and the watched title scores over time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.demo.view import WATCHED_AD, WATCHED_SEGMENT, Snapshot


def plot(history: Sequence[Snapshot], out: Path) -> Path:
    """Spearman over time and the watched ad/segment's title scores over time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
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
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
