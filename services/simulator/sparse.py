"""A sparse recommendation world whose truth is known: items shown in ranked positions,
per-position clicks, as in a real e-commerce log (the shape of the Open Bandit Dataset).

Each item's click rate at the top position is log-uniform in 0.1–1 %, lower further down,
and varies by device. The logging policy shows distinct items uniformly at random, so
each (item, position) has marginal propensity 1 / items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEVICES = ("mobile", "desktop")
DEVICE_SHARE = (0.6, 0.4)
POSITION_DECAY = 0.15  # each position down loses this share of the top position's rate


@dataclass(frozen=True)
class SparseWorld:
    """True click rates [device, position, item]."""

    rates: np.ndarray

    @classmethod
    def create(
        cls, items: int = 80, positions: int = 3, seed: int = 0, taste: float = 0.3
    ) -> SparseWorld:
        """Item rates log-uniform in 0.1–1 %, times a device taste per item (log-normal,
        sd ``taste``: about ±30 %)."""
        rng = np.random.default_rng(seed)
        base = np.exp(rng.uniform(np.log(0.001), np.log(0.01), items))
        tastes = np.exp(rng.normal(0.0, taste, (len(DEVICES), items)))
        position = 1 - POSITION_DECAY * np.arange(positions)
        return cls((base * tastes)[:, None, :] * position[None, :, None])

    @property
    def slots(self) -> list[str]:
        """The positions' slot names."""
        return [f"pos{p + 1}" for p in range(self.rates.shape[1])]

    @property
    def items(self) -> list[str]:
        """The items' element names."""
        return [f"item{i:02d}" for i in range(self.rates.shape[2])]

    def rate(self, device: str, slot: str, items: np.ndarray) -> np.ndarray:
        """True click rates of ``items`` (names) at ``slot`` on ``device``."""
        index = np.array([int(i.removeprefix("item")) for i in items], int)
        return self.rates[DEVICES.index(device), self.slots.index(slot), index]

    def logging_value(self, device: str) -> float:
        """The uniform logging policy's expected clicks per slate on ``device``."""
        return float(self.rates[DEVICES.index(device)].mean(1).sum())

    def log(self, rows: int, seed: int = 0) -> pd.DataFrame:
        """A log of ``rows`` uniformly random slates in the wide per-slot format."""
        rng = np.random.default_rng(seed)
        devices, positions, items = self.rates.shape
        device = rng.choice(devices, rows, p=DEVICE_SHARE)
        shown = _distinct(rng, rows, positions, items)
        clicks = (
            rng.random((rows, positions)) < self.rates[device[:, None], np.arange(positions), shown]
        )
        frame = {"ctx:device": pd.Categorical.from_codes(device, DEVICES)}
        for p, slot in enumerate(self.slots):
            frame[f"slot:{slot}"] = pd.Categorical.from_codes(shown[:, p], self.items)
            frame[f"reward:{slot}"] = clicks[:, p].astype(float)
            frame[f"propensity:{slot}"] = np.full(rows, 1 / items)
        return pd.DataFrame(frame)


def _distinct(rng: np.random.Generator, rows: int, positions: int, items: int) -> np.ndarray:
    """[rows, positions] items, distinct within a row, uniformly (redrawn until distinct)."""
    shown = rng.integers(0, items, (rows, positions))
    while True:
        repeated = np.zeros(rows, bool)
        for a in range(positions):
            for b in range(a + 1, positions):
                repeated |= shown[:, a] == shown[:, b]
        if not repeated.any():
            return shown
        shown[repeated] = rng.integers(0, items, (int(repeated.sum()), positions))
