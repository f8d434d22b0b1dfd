"""Logged bandit feedback of the world, in the file format ``adcraft evaluate`` reads."""

from __future__ import annotations

import pandas as pd

from adcraft.services.simulator.streams import traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.contract.events import ClickRecorded, ImpressionServed


def logged_feedback(world: SyntheticWorld, impressions: int, seed: int = 2) -> pd.DataFrame:
    """Logged bandit feedback in the wide format of :mod:`adcraft.services.offline_eval.logged`,
    from a uniformly random logging policy."""
    rows: dict[str, dict] = {}  # by request id, in impression order
    for event in traffic(world, impressions, seed=seed, click_delay_ms=1):
        if isinstance(event, ImpressionServed):
            rows[event.request_id] = {
                "impression_id": event.request_id,
                "ad_id": event.ad_id,
                "segment": event.segment,
                "propensity": event.propensity,
                "reward": 0.0,
                **{f"slot:{slot}": element for slot, element in event.elements.items()},
            }
        elif isinstance(event, ClickRecorded):
            rows[event.request_id]["reward"] = 1.0
    return pd.DataFrame(list(rows.values()))
