"""The generator behind Triton: requests parsed and checked, batched into one forward pass
per (K, temperature, mode), answered one response per request.

A request that fails its checks gets an error of its own; the others of the batch are
answered. Rows are padded to the batch's largest shape; noise for sampled rows comes from
each row's own seed at its own shape, so an answer does not depend on its batch-mates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from adcraft.services.combinations.candidates import Candidates
from adcraft.services.combinations.generator import CombinationGenerator, noise
from adcraft.shared.contract.combination_contract import CONTEXT_DIM, FEATURES

MAX_K = 64
MAX_SLOTS, MAX_CANDIDATES = 16, 32  # bounds a batch's memory (64 rows × 64 beams)
TEMPERATURES = (0.05, 20.0)


@dataclass(frozen=True)
class Request:
    """One checked request: its rows, and how many combinations of which mode it wants."""

    batch: Candidates
    k: int
    temperature: float
    seeds: tuple[int, ...]  # one per row; negative: most probable, not sampled

    @property
    def group(self) -> tuple[int, float, bool]:
        """Requests of one group share a forward pass."""
        return self.k, self.temperature, self.seeds[0] >= 0


def parse(arrays: dict[str, np.ndarray]) -> Request:
    """A :class:`Request` from its input tensors; :class:`ValueError` naming what is wrong."""
    features, mask, pairs = arrays["FEATURES"], arrays["MASK"], arrays["PAIRS"]
    _expect(mask.dtype == np.bool_ and mask.ndim == 3, "MASK must be [B, S, C] booleans")
    for name in ("FEATURES", "PAIRS", "CONTEXT"):
        _expect(arrays[name].dtype == np.float32, f"{name} must be float32")
    rows, slots, width = mask.shape
    _expect(
        0 < slots <= MAX_SLOTS and 0 < width <= MAX_CANDIDATES,
        f"at most {MAX_SLOTS} slots × {MAX_CANDIDATES} candidates",
    )
    _expect(features.shape == (rows, slots, width, len(FEATURES)), "FEATURES must be [B, S, C, 4]")
    _expect(pairs.shape == (rows, slots, width, slots, width), "PAIRS must be [B, S, C, S, C]")
    _expect(arrays["CONTEXT"].shape == (rows, CONTEXT_DIM), f"CONTEXT must be [B, {CONTEXT_DIM}]")
    finite = (np.isfinite(arrays[name]).all() for name in ("FEATURES", "PAIRS", "CONTEXT"))
    _expect(all(finite), "non-finite input")
    _expect(bool(mask.any(axis=-1).any(axis=-1).all()), "a row has no candidate")
    k, temperature, seed = (arrays[n].reshape(-1) for n in ("K", "TEMPERATURE", "SEED"))
    _expect(len(k) == len(temperature) == len(seed) == rows, "K, TEMPERATURE, SEED: one per row")
    _expect(len(set(k.tolist())) == 1 and 1 <= k[0] <= MAX_K, f"K must be one value in 1..{MAX_K}")
    low, high = TEMPERATURES
    _expect(
        len(set(temperature.tolist())) == 1 and low <= temperature[0] <= high,
        f"TEMPERATURE must be one value in [{low}, {high}]",
    )
    _expect(len(set((seed >= 0).tolist())) == 1, "SEED must be all negative or all ≥ 0")
    # What sits behind the mask must not matter: zero it.
    cleaned = {
        "FEATURES": np.where(mask[..., None], features, 0).astype(np.float32),
        "MASK": np.ascontiguousarray(mask),
        "PAIRS": np.where(mask[:, :, :, None, None] & mask[:, None, None], pairs, 0).astype(
            np.float32
        ),
        "CONTEXT": np.ascontiguousarray(arrays["CONTEXT"]),
    }
    batch = Candidates.from_arrays(cleaned)
    return Request(batch, int(k[0]), float(temperature[0]), tuple(seed.tolist()))


def answer(
    model: CombinationGenerator, requests: Sequence[Request], device: str = "cpu"
) -> list[dict[str, np.ndarray]]:
    """Output tensors ``CHOICES``, ``SLOT_PROBS``, ``PROBS`` of each request, in order."""
    results: list[dict[str, np.ndarray]] = [{} for _ in requests]
    groups: dict[tuple[int, float, bool], list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.group, []).append(index)
    for (k, temperature, sampled), members in groups.items():
        batch = Candidates.stack([requests[i].batch for i in members])
        uniform = None
        if sampled:
            uniform = torch.stack(
                [
                    _pad(noise(requests[i].batch.shape, k, seed), batch.shape)
                    for i in members
                    for seed in requests[i].seeds
                ]
            ).to(device)
        with torch.inference_mode():
            out = model.top_k(batch.to(device), k, temperature, uniform)
        start = 0
        for i in members:
            rows, slots = requests[i].batch.mask.shape[:2]
            part = slice(start, start + rows)
            start += rows
            results[i] = {
                "CHOICES": out.choices[part, :, :slots].cpu().numpy().astype(np.int32),
                "SLOT_PROBS": out.slot_probabilities[part, :, :slots].cpu().numpy(),
                "PROBS": out.probability[part].cpu().numpy(),
            }
    return results


class InvalidInput(str):
    """The reason a request's own tensors were refused (the caller's error, not the
    model's: Triton answers it as an invalid argument)."""


def respond(
    model: CombinationGenerator, inputs: Sequence[dict[str, np.ndarray]], device: str = "cpu"
) -> list[dict[str, np.ndarray] | str]:
    """Per request, its output tensors or the reason it failed (an :class:`InvalidInput`
    when its tensors were refused). Requests that pass their checks are answered in one
    batch; should the batch fail, each is answered alone, so one request's failure is its
    own."""
    results: list[dict[str, np.ndarray] | str] = []
    parsed: dict[int, Request] = {}
    for index, arrays in enumerate(inputs):
        try:
            parsed[index] = parse(arrays)
            results.append("")
        except ValueError as exc:
            results.append(InvalidInput(exc))
    try:
        answers = dict(zip(parsed, answer(model, list(parsed.values()), device), strict=True))
    except Exception:  # any failure: isolate the culprit below
        answers = {}
        for index, request in parsed.items():
            try:
                answers[index] = answer(model, [request], device)[0]
            except Exception as exc:  # its own error, not the batch's
                results[index] = f"{type(exc).__name__}: {exc}"
    for index, outputs in answers.items():
        results[index] = outputs
    return results


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _pad(uniform: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Noise [S, k, C] padded to the batch's [S', k, C'] (padding is never chosen)."""
    slots, width = shape
    return torch.nn.functional.pad(
        uniform, (0, width - uniform.shape[2], 0, 0, 0, slots - uniform.shape[0]), value=0.5
    )
