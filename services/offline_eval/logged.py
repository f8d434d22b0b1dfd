"""Logged bandit feedback: the documented file format and its normalised rows.

One row per served impression (*wide*):

    ad_id, segment, slot:title, slot:image, ..., reward, propensity

or one row per slot (*long*), with ``impression_id``, ``slot`` and ``element`` columns and
the other columns repeated on each of an impression's rows. ``reward`` is in [0, 1] (a
click, or a conversion value scaled to [0, 1]); ``propensity`` is the probability with which
the logging policy chose the whole combination. ``ad_id`` and ``segment`` are optional and
are the only context: the reward model personalises on nothing else, so columns named
``ctx:<name>`` are rejected rather than silently ignored. CSV and Parquet are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REQUIRED = ("reward", "propensity")


@dataclass(frozen=True, slots=True)
class Logged:
    """One logged decision and its outcome."""

    ad_id: str
    segment: str
    elements: tuple[tuple[str, str], ...]
    reward: float
    propensity: float


def read(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file of logged feedback."""
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def rows(frame: pd.DataFrame) -> list[Logged]:
    """Normalise a wide or long frame; raise ``ValueError`` naming what is missing or wrong."""
    if {"impression_id", "slot", "element"} <= set(frame.columns):
        frame = _widen(frame)
    missing = [c for c in REQUIRED if c not in frame.columns]
    slots = [c for c in frame.columns if c.startswith("slot:")]
    if missing or not slots:
        raise ValueError(f"missing columns: {missing + ([] if slots else ['slot:<name>'])}")
    context = [c for c in frame.columns if c.startswith("ctx:")]
    if context:
        raise ValueError(
            f"unsupported context columns {context}: the reward model personalises on ad_id "
            "and segment only; drop them or fold them into segment"
        )
    reward = pd.to_numeric(frame["reward"], errors="raise").astype(float)
    propensity = pd.to_numeric(frame["propensity"], errors="raise").astype(float)
    if not reward.between(0, 1).all():
        raise ValueError("reward must lie in [0, 1]")
    if not (propensity.gt(0) & propensity.le(1)).all():
        raise ValueError("propensity must lie in (0, 1]")
    ads = frame["ad_id"].astype(str) if "ad_id" in frame else pd.Series("ad", index=frame.index)
    segments = (
        frame["segment"].astype(str) if "segment" in frame else pd.Series("all", index=frame.index)
    )
    names = [c.removeprefix("slot:") for c in slots]
    chosen = frame[slots].astype(str).itertuples(index=False, name=None)
    return [
        Logged(ad, segment, tuple(sorted(zip(names, elements, strict=True))), r, p)
        for ad, segment, elements, r, p in zip(
            ads, segments, chosen, reward, propensity, strict=True
        )
    ]


def _widen(frame: pd.DataFrame) -> pd.DataFrame:
    chosen = frame.pivot(index="impression_id", columns="slot", values="element")
    chosen.columns = [f"slot:{slot}" for slot in chosen.columns]
    rest = frame.drop(columns=["slot", "element"]).groupby("impression_id", sort=False).first()
    return rest.join(chosen).reset_index()
