"""The combination generator's tensors, as Triton serves them: light (numpy only) so the
request worker and the Triton model share one definition without importing torch.

A request is one ad for one segment. Its candidates are padded to a fixed ``shape`` (slots,
candidates per slot) so that Triton's dynamic batcher can put requests of different ads into
one batch; ``MASK`` says which candidates exist. ``SEED`` ≥ 0 asks for K distinct
combinations *sampled* without replacement (the first is an exact draw from the policy);
a negative seed asks for the K most probable.

``CONTEXT[:, EXPLORE]`` switches the policy's behaviour: 1 explores where the posterior is
unsure (Thompson sampling over whole combinations), 0 exploits the posterior mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adcraft.shared.contract.posteriors import AdPosterior

MODEL = "combination_generator"
FEATURES = ("mean", "sd", "log_observations", "conversion")
CONTEXT_DIM = 4
EXPLORE = 0  # the CONTEXT column of the exploration switch
INPUTS = ("FEATURES", "MASK", "PAIRS", "CONTEXT", "K", "TEMPERATURE", "SEED")
OUTPUTS = ("CHOICES", "SLOT_PROBS", "PROBS", "VERSION")


@dataclass(frozen=True)
class Layout:
    """Which element each padded index stands for: ``slots[s]`` is (slot name, element
    ids in catalogue order)."""

    slots: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Proposal:
    """One combination the generator proposed, with its exact probability under the
    sampling policy (the product of ``slot_probabilities``)."""

    elements: tuple[tuple[str, str], ...]
    probability: float
    slot_probabilities: tuple[float, ...]


def pack(
    posteriors: list[AdPosterior],
    shape: tuple[int, int],
    k: int,
    temperature: float = 1.0,
    seed: int = -1,
    explore: float = 1.0,
) -> tuple[dict[str, np.ndarray], list[Layout]]:
    """Input tensors for a batch of requests, and each request's layout; :class:`ValueError`
    if an ad has more slots or candidates than ``shape`` holds.

    >>> from adcraft.shared.contract.posteriors import ElementPosterior as E
    >>> ad = AdPosterior("ad", "all", "v", {"t": [E("a", .1, .2, 3, 0), E("b", 0, 1, 0, 0)]}, [])
    >>> arrays, layouts = pack([ad], (2, 3), k=4)
    >>> arrays["FEATURES"].shape, arrays["MASK"][0].tolist(), layouts[0].slots
    ((1, 2, 3, 4), [[True, True, False], [False, False, False]], (('t', ('a', 'b')),))
    """
    slots, width = shape
    size = len(posteriors)
    features = np.zeros((size, slots, width, len(FEATURES)), np.float32)
    mask = np.zeros((size, slots, width), np.bool_)
    pairs = np.zeros((size, slots, width, slots, width), np.float32)
    layouts = []
    for row, posterior in enumerate(posteriors):
        if len(posterior.slots) > slots or any(len(c) > width for c in posterior.slots.values()):
            raise ValueError(f"ad {posterior.ad_id!r} does not fit {slots} slots × {width}")
        index = {}
        for s, (slot, candidates) in enumerate(posterior.slots.items()):
            values = [(e.mean, e.sd, e.observations, e.conversion) for e in candidates]
            features[row, s, : len(candidates)] = values
            mask[row, s, : len(candidates)] = True
            index.update({(slot, e.element_id): s * width + c for c, e in enumerate(candidates)})
        _place_pairs(pairs[row].reshape(slots * width, slots * width), posterior, index)
        layouts.append(
            Layout(
                tuple(
                    (slot, tuple(e.element_id for e in candidates))
                    for slot, candidates in posterior.slots.items()
                )
            )
        )
    features[..., FEATURES.index("log_observations")] = np.log1p(
        features[..., FEATURES.index("log_observations")]
    )
    arrays = {
        "FEATURES": features,
        "MASK": mask,
        "PAIRS": pairs,
        "CONTEXT": _context(size, explore),
        "K": np.full((size, 1), k, np.int32),
        "TEMPERATURE": np.full((size, 1), temperature, np.float32),
        "SEED": np.full((size, 1), seed, np.int64),
    }
    return arrays, layouts


def _place_pairs(flat: np.ndarray, posterior: AdPosterior, index: dict) -> None:
    """Write ``posterior``'s pair weights, both ways, into one request's flattened pair
    matrix [S·C, S·C]; pairs naming an element the ad no longer has are left out."""
    found = [
        (a, b, pair.weight)
        for pair in posterior.pairs
        if (a := index.get((pair.slot_a, pair.element_a))) is not None
        and (b := index.get((pair.slot_b, pair.element_b))) is not None
    ]
    if found:
        a, b, weight = (np.array(column) for column in zip(*found, strict=True))
        flat[a, b] = flat[b, a] = weight


def unpack(outputs: dict[str, np.ndarray], layouts: list[Layout]) -> list[list[Proposal]]:
    """Per request, its proposals (most probable or first drawn first); rows with
    probability 0 (more asked for than exist) are left out."""
    result = []
    for row, layout in enumerate(layouts):
        proposals = []
        for choice, slot_probs, probability in zip(
            outputs["CHOICES"][row], outputs["SLOT_PROBS"][row], outputs["PROBS"][row], strict=True
        ):
            if not probability > 0:  # none left to propose (NaN never passes)
                continue
            elements = tuple(
                (slot, ids[int(index)])
                for (slot, ids), index in zip(layout.slots, choice, strict=False)
            )
            proposals.append(
                Proposal(
                    elements,
                    float(probability),
                    tuple(float(p) for p in slot_probs[: len(layout.slots)]),
                )
            )
        result.append(proposals)
    return result


def _context(size: int, explore: float) -> np.ndarray:
    context = np.zeros((size, CONTEXT_DIM), np.float32)
    context[:, EXPLORE] = explore
    return context
