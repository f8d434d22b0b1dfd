"""``adcraft bench combos``: the generator's top-K on a space too large to enumerate
(8 slots × 12 candidates), in-process and through Triton with 1 and 8 concurrent clients."""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from adcraft.services.combinations import export, serving
from adcraft.services.combinations.candidates import Candidates
from adcraft.services.combinations.generator import CombinationGenerator
from adcraft.services.combinations.worlds import as_posteriors, sample
from adcraft.services.stack import Stack
from adcraft.shared.adapters.combination_client import CombinationClient
from adcraft.shared.adapters.triton_client import TritonClient
from adcraft.shared.contract.combination_contract import pack, unpack
from adcraft.shared.contract.posteriors import AdPosterior
from adcraft.shared.runtime.settings import Settings

SHAPE = (8, 12)
K = 16


def _percentiles(name: str, latencies: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 3),
        f"{name}_p99_ms": round(float(np.percentile(latencies, 99)) * 1000, 3),
    }


def _timed(call: Callable[[], object], calls: int) -> list[float]:
    """Latencies of ``calls`` calls after a warm-up."""
    for _ in range(20):
        call()
    latencies = []
    for _ in range(calls):
        begun = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - begun)
    return latencies


def in_process(
    model: CombinationGenerator, posteriors: list[AdPosterior], calls: int
) -> dict[str, float]:
    """The network's top-16 alone (``generate``), and the whole path a Triton request takes
    in-process (``inprocess``: pack, check, beam search, unpack)."""
    batch, _ = Candidates.of(posteriors[:1])
    rows = itertools.count()

    def generate() -> None:
        with torch.inference_mode():
            model.top_k(batch, K)

    def whole_path() -> None:
        arrays, layouts = pack([posteriors[next(rows) % len(posteriors)]], SHAPE, K, seed=1)
        unpack(serving.answer(model, [serving.parse(arrays)])[0], layouts)

    return _percentiles("generate", _timed(generate, calls)) | _percentiles(
        "inprocess", _timed(whole_path, calls)
    )


async def through_triton(
    settings: Settings, posteriors: list[AdPosterior], clients: int, calls: int
) -> dict[str, float]:
    """``clients`` concurrent gRPC clients, each asking for one ad's top-16 in turn."""
    triton = TritonClient(settings.triton)
    client = CombinationClient(triton, settings.triton)
    latencies: list[float] = []
    queue = list(range(calls))

    async def one_client() -> None:
        while queue:
            ad = posteriors[queue.pop() % len(posteriors)]
            begun = time.perf_counter()
            await client.propose([ad], K, seed=1, timeout_s=5.0)
            latencies.append(time.perf_counter() - begun)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    await triton.close()
    return _percentiles(f"triton_c{clients}", latencies)


def run(run_dir: Path, calls: int) -> dict[str, object]:
    """In-process and Triton figures in one run."""
    torch.set_num_threads(1)  # as the Triton model runs
    model, version = export.load()
    # What a serving process does after start-up: without it, a full collection walks
    # torch's and gRPC's objects and stalls a call for ~100 ms about every 100 calls.
    gc.freeze()
    posteriors = as_posteriors(
        sample(16, torch.Generator().manual_seed(7), slots=(8, 8), width=(12, 12)).seen
    )
    figures: dict[str, object] = {
        "version": version,
        "space": SHAPE[1] ** SHAPE[0],
        "k": K,
    }
    latencies = in_process(model, posteriors, calls)
    settings = Settings()
    with Stack(run_dir=run_dir, services=("triton",), models=["combination_generator"]) as stack:
        served = settings.model_copy(update={"triton": stack.settings().triton})
        asyncio.run(through_triton(served, posteriors, 1, 20))  # warm-up
        for clients in (1, 8):
            latencies |= asyncio.run(through_triton(served, posteriors, clients, calls))
    ratio = latencies["triton_c1_p99_ms"] / latencies["inprocess_p99_ms"]
    return figures | latencies | {"triton_vs_inprocess_p99": round(ratio, 3)}
