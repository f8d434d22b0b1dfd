"""The loop demo's live view: what the ad server saw of the request worker's answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from adcraft.services.experiments import readout
from adcraft.services.simulator.ad_server import Served
from adcraft.shared.runtime.experiment_settings import ExperimentSettings

OWN_POLICY = "model"  # the path of an answer its arm's own policy gave (else a fallback's)
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


def model_copy_share(served: Sequence[Served]) -> float:
    """Share of the answers that carry the model's copy (a pool's or fresh), NaN for none;
    the others carry a template (the control's by design, or a fallback) or no copy."""
    model = sum(s.copy_source in MODEL_COPY for s in served if s.copy_text)
    return model / len(served) if served else float("nan")


def best_share(served: Sequence[Served]) -> float:
    """Share of answers that were the truly best combination, NaN for none."""
    return sum(s.best for s in served) / len(served) if served else float("nan")


def arm_lines(served: Sequence[Served], experiment: ExperimentSettings) -> list[str]:
    """Per arm: its share of answers and how many fell back (to Thompson sampling or the
    catalogue's default), its CTR, and its CTR lift over the control inside the
    always-valid interval (the answers ``served`` since the start)."""
    arms = list(experiment.arms)
    counts = Counter(s.arm for s in served)
    fell_back = Counter(s.arm for s in served if s.path != OWN_POLICY)
    total = max(len(served), 1)
    shares = "  ".join(
        f"{arm} {counts[arm] / total:4.0%} (fell back {fell_back[arm]})" for arm in arms
    )
    rows = readout.running([(s.user_id, s.arm, s.clicked) for s in served], experiment)
    ctr = "  ".join(f"{r['arm']} {_share(r['ctr'], '5.1%')}" for r in rows)
    lifts = "  ".join(_lift(r) for r in rows if "lift" in r)
    return [
        f"  arms            {shares}",
        f"  CTR per arm     {ctr}",
        f"  lift vs {experiment.control[:7]:<8}{lifts} (always valid)",
    ]


def _share(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _lift(row: dict) -> str:
    if row["lift"] is None or row["low"] is None:
        return f"{row['arm']} n/a"
    return f"{row['arm']} {row['lift']:+.0%} [{row['low']:+.0%}, {row['high']:+.0%}]"


def render(
    served: Sequence[Served], now_s: float, started_s: float, experiment: ExperimentSettings
) -> tuple[str, LoopPoint]:
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
    lines = [
        f"t={point.elapsed:5.1f}s  ad server → request worker → clicks → reward worker → Redis",
        f"  last second     {point.per_s:5.0f} answers/s   end-to-end p99 {point.p99_ms:6.1f} ms",
        *arm_lines(since, experiment),
        f"  truly best      {point.best_recent:4.0%} of answers in the last {RECENT_S:.0f}s, "
        f"{point.best_total:4.0%} of {len(since)} since the start",
        f"  model copy      {model_copy_share(recent):4.0%} of the answers in the last "
        f"{RECENT_S:.0f}s (the control's answers carry templates)",
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
