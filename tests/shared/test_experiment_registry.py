"""An experiment's name pins its design in the real Redis: a worker that would run the same
name with other shares is refused, and a renamed experiment starts afresh."""

from __future__ import annotations

import asyncio

import pytest

from adcraft.shared.adapters import experiment_registry
from adcraft.shared.adapters.redis_client import async_client
from adcraft.shared.runtime.errors import FatalError
from adcraft.shared.runtime.experiment_settings import ArmSettings, ExperimentSettings


def _experiment(name: str, generator_share: float) -> ExperimentSettings:
    arms = {
        "control": ArmSettings(share=1, policy="default", copy_source="template"),
        "generator": ArmSettings(share=generator_share, policy="generator"),
    }
    return ExperimentSettings(name=name, control="control", arms=arms)


def _register(stack, experiment: ExperimentSettings) -> None:
    async def run() -> None:
        client = async_client(stack.settings().redis)
        try:
            await experiment_registry.register(client, experiment)
        finally:
            await client.aclose()

    asyncio.run(run())


def test_shares_cannot_change_under_the_same_name(redis_stack, redis_client) -> None:
    _register(redis_stack, _experiment("exp-a", 1.0))
    _register(redis_stack, _experiment("exp-a", 1.0))  # a second worker, same design: fine
    with pytest.raises(FatalError, match="rename the experiment"):
        _register(redis_stack, _experiment("exp-a", 3.0))
    _register(redis_stack, _experiment("exp-b", 3.0))  # renamed: a new experiment
    assert redis_client.exists("adcraft:experiment:exp-a", "adcraft:experiment:exp-b") == 2
