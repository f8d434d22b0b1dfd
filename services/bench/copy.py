"""``adcraft bench copy``: copy generation through Triton (1 and 8 concurrent clients)
next to the same generation called in-process, and tokens/s."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import torch

from adcraft.services.copywriter import dataset
from adcraft.services.copywriter.evaluate import held_out_briefs
from adcraft.services.copywriter.generate import CopyWriter
from adcraft.services.stack import Stack
from adcraft.shared.adapters.copy_client import CopyClient
from adcraft.shared.adapters.triton_client import TritonClient
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.runtime.settings import Settings


def _figures(name: str, latencies: list[float], elapsed: float, tokens: int) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 1),
        f"{name}_p99_ms": round(float(np.percentile(latencies, 99)) * 1000, 1),
        f"{name}_requests_per_s": round(len(latencies) / elapsed, 2),
        f"{name}_tokens_per_s": round(tokens / elapsed, 1),
    }


def in_process(
    writer: CopyWriter, briefs: list[CopyBrief], clients: int, variants: int, max_tokens: int
) -> dict[str, float]:
    """The same requests called in-process; ``clients`` concurrent requests are what Triton's
    dynamic batcher merges, so they are generated as one batch here."""
    latencies, tokens = [], 0
    started = time.perf_counter()
    for start in range(0, len(briefs), clients):
        group = briefs[start : start + clients]
        begun = time.perf_counter()
        _, counts = writer.write(group, [variants] * len(group), [max_tokens] * len(group))
        latencies += [time.perf_counter() - begun] * len(group)
        tokens += sum(counts)
    return _figures(f"inprocess_c{clients}", latencies, time.perf_counter() - started, tokens)


async def through_triton(
    settings: Settings, briefs: list[CopyBrief], clients: int, variants: int, max_tokens: int
) -> dict[str, float]:
    """``clients`` concurrent gRPC clients, each sending one brief per request in turn."""
    triton = TritonClient(settings.triton)
    client = CopyClient(triton, settings.triton.copy_timeout_s)
    latencies: list[float] = []
    tokens = [0]
    queue = list(briefs)

    async def one_client() -> None:
        while queue:
            brief = queue.pop()
            begun = time.perf_counter()
            (written,) = await client.write([brief], variants, max_tokens)
            latencies.append(time.perf_counter() - begun)
            tokens[0] += written.tokens

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    await triton.close()
    return _figures(f"triton_c{clients}", latencies, elapsed, tokens[0])


def run(run_dir: Path, requests: int, variants: int, max_tokens: int) -> dict[str, object]:
    """Triton and in-process figures for 1 and 8 clients, in one run."""
    settings = Settings()
    copy = settings.copywriter
    items = [p for p in dataset.catalogue(copy) if p.held_out]
    briefs = held_out_briefs(items, requests, seed=1)
    writer = CopyWriter.load(copy)
    figures: dict[str, object] = {
        "weights": "tuned" if writer.corpus_ngrams else "base",
        "device": str(writer.device),
        "requests": requests,
        "variants": variants,
    }
    torch.manual_seed(0)
    writer.write(briefs[:2], [variants] * 2, [max_tokens] * 2)  # warm-up
    for clients in (1, 8):
        figures |= in_process(writer, briefs, clients, variants, max_tokens)
    del writer
    with Stack(
        run_dir=run_dir,
        services=("triton",),
        models=["copy_generator"],
        model_env=copy.environment(),
    ) as stack:
        served = settings.model_copy(update={"triton": stack.settings().triton})
        asyncio.run(through_triton(served, briefs[:2], 1, variants, max_tokens))  # warm-up
        for clients in (1, 8):
            figures |= asyncio.run(through_triton(served, briefs, clients, variants, max_tokens))
    for clients in (1, 8):
        figures[f"ratio_c{clients}"] = round(
            float(figures[f"triton_c{clients}_requests_per_s"])  # type: ignore[arg-type]
            / float(figures[f"inprocess_c{clients}_requests_per_s"]),  # type: ignore[arg-type]
            3,
        )
    return figures
