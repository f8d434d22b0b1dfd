"""The experiment's design held in Redis under its name: the first worker to start records
it, and every later one must run the same (users would otherwise switch arms)."""

from __future__ import annotations

from typing import Any

import orjson

from adcraft.shared.contract import keys
from adcraft.shared.runtime.errors import FatalError
from adcraft.shared.runtime.experiment_settings import ExperimentSettings


async def register(redis: Any, experiment: ExperimentSettings) -> None:
    """Record ``experiment``'s design, or raise :class:`FatalError` when its name already
    ran with another design."""
    design = orjson.dumps(experiment.design(), option=orjson.OPT_SORT_KEYS)
    key = keys.experiment(experiment.name)
    await redis.set(key, design, nx=True)
    recorded = await redis.get(key)
    if recorded != design:
        raise FatalError(
            f"experiment {experiment.name!r} already runs with other arms or shares "
            f"({recorded.decode(errors='replace') if recorded else 'unreadable'}); "
            "rename the experiment (ADCRAFT_EXPERIMENT__NAME) to change them"
        )
