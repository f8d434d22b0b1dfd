"""The experiment's design held in Redis under its name: the first worker to start records
it, and every later one must run the same (users would otherwise switch arms)."""

from __future__ import annotations

from typing import Any

import orjson
from redis.exceptions import RedisError

from adcraft.shared.contract import keys
from adcraft.shared.runtime.errors import FatalError
from adcraft.shared.runtime.experiment_settings import ExperimentSettings


async def register(redis: Any, experiment: ExperimentSettings) -> bool:
    """Record ``experiment``'s design; False when Redis could not be asked (the worker
    starts not ready and serves once Redis is back: an unchecked start is logged, not
    fatal). Raises :class:`FatalError` when the name already ran with another design."""
    design = orjson.dumps(experiment.design(), option=orjson.OPT_SORT_KEYS)
    key = keys.experiment(experiment.name)
    try:
        await redis.set(key, design, nx=True)
        recorded = await redis.get(key)
    except RedisError:
        return False
    if recorded != design:
        raise FatalError(
            f"experiment {experiment.name!r} already runs with other arms or shares "
            f"({recorded.decode(errors='replace') if recorded else 'unreadable'}); "
            "rename the experiment (ADCRAFT_EXPERIMENT__NAME) to change them"
        )
    return True
