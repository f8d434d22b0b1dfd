"""The loop demo's live view: what the ad server saw of the request worker's answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from adcraft.services.simulator.ad_server import Served

PATHS = ("model", "thompson", "default")
GENERATOR_ARM = "generator"  # its answers take another path only when the generator fails
RECENT_S = 5.0
COPY_SHOWN = 72  # characters of the sample copy text
MODEL_COPY = ("pool", "fresh")  # copy sources the model wrote (else template)


@dataclass(frozen=True)
class LoopPoint:
    """What the plot keeps of one view."""

    elapsed: float
    per_s: float  # answers received in the last second
    p99_ms: float  # end-to-end, over the last second
    best_recent: float  # share of truly best answers over the last RECENT_S
    best_total: float  # ... since the start


def p99(latencies_ms: Sequence[float]) -> float:
    """The 99th percentile, NaN for none.

    >>> p99([float(ms) for ms in range(1, 101)])
    99.01
    """
    return float(np.percentile(latencies_ms, 99)) if len(latencies_ms) else float("nan")


def shares(served: Sequence[Served]) -> dict[str, float]:
    """Share of answers by path: the known paths first (0 when unseen), then any other."""
    counts = Counter(s.path for s in served)
    total = max(len(served), 1)
    return {path: counts[path] / total for path in [*PATHS, *sorted(set(counts) - set(PATHS))]}


def fallback_share(served: Sequence[Served]) -> float:
    """Share of the generator arm's answers that did not come from the generator."""
    arm = [s for s in served if s.arm == GENERATOR_ARM]
    return sum(s.path != "model" for s in arm) / len(arm) if arm else float("nan")


def model_copy_share(served: Sequence[Served]) -> float:
    """Share of answers with copy that carry the model's (a pool's or fresh), NaN for none."""
    with_copy = [s for s in served if s.copy_text]
    model = sum(s.copy_source in MODEL_COPY for s in with_copy)
    return model / len(with_copy) if with_copy else float("nan")


def best_share(served: Sequence[Served]) -> float:
    """Share of answers that were the truly best combination, NaN for none."""
    return sum(s.best for s in served) / len(served) if served else float("nan")


def render(served: Sequence[Served], now_s: float, started_s: float) -> tuple[str, LoopPoint]:
    """The view at wall-clock ``now_s`` of the answers ``served`` since ``started_s``."""
    since = [s for s in served if started_s <= s.received_s < now_s]
    recent = [s for s in since if s.received_s >= now_s - RECENT_S]
    last = [s for s in recent if s.received_s >= now_s - 1.0]
    point = LoopPoint(
        now_s - started_s,
        len(last),
        p99([s.latency_ms for s in last]),
        best_share(recent),
        best_share(since),
    )
    paths = "  ".join(f"{path} {share:4.0%}" for path, share in shares(recent).items())
    lines = [
        f"t={point.elapsed:5.1f}s  ad server → request worker → clicks → reward worker → Redis",
        f"  last second     {point.per_s:5.0f} answers/s   end-to-end p99 {point.p99_ms:6.1f} ms",
        f"  paths (last {RECENT_S:.0f}s) {paths}   "
        f"(generator arm fell back: {fallback_share(recent):.0%})",
        f"  truly best      {point.best_recent:4.0%} of answers in the last {RECENT_S:.0f}s, "
        f"{point.best_total:4.0%} of {len(since)} since the start",
        f"  model copy      {model_copy_share(recent):4.0%} of answers with copy in the "
        f"last {RECENT_S:.0f}s (the rest: templates)",
        f"  {_copy(since)}",
    ]
    return "\n".join(lines), point


def _copy(served: Sequence[Served]) -> str:
    """The most recent answer's copy and where it came from."""
    with_copy = [s for s in served if s.copy_text]
    if not with_copy:
        return "copy            (none yet)"
    latest = max(with_copy, key=lambda s: s.received_s)
    text = latest.copy_text.replace("\n", " ")
    text = text if len(text) <= COPY_SHOWN else text[: COPY_SHOWN - 1] + "…"
    return f"{'copy (' + latest.copy_source + ')':<16}“{text}”"
