"""What the worker decides without a model server: the candidates an ad offers now, the
Thompson-sampling fallback with its exact propensity, and the explanation of a choice.

Everything is on the reward model's logit scale (see :mod:`adcraft.shared.contract.posteriors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adcraft.shared.contract.events import AdListed
from adcraft.shared.contract.posteriors import AdPosterior, ElementPosterior


@dataclass(frozen=True)
class Choice:
    """One element per slot, and the probability the policy had of choosing exactly it."""

    elements: dict[str, str]
    propensity: float


def candidates(
    listing: AdListed, posterior: AdPosterior | None, segment: str, prior_sd: float
) -> AdPosterior:
    """The ad's candidates as the catalogue lists them now, each with its learned posterior,
    or the prior (mean 0, ``prior_sd``, no observations) where the reward model has not seen
    it yet; pairs naming an element the ad no longer lists are left out.

    >>> ad = AdListed(event_id="e", ts_ms=0, ad_id="a", product_id="p", product="dress",
    ...               department="Dresses", slots={"title": ["t1", "t2"]})
    >>> known = AdPosterior("a", "all", "v3", {"title": [ElementPosterior("t1", .4, .2, 9, 0)]}, [])
    >>> [(e.element_id, e.mean, e.sd) for e in candidates(ad, known, "all", 1.4).slots["title"]]
    [('t1', 0.4, 0.2), ('t2', 0.0, 1.4)]
    """
    learned = {
        (slot, e.element_id): e
        for slot, elements in (posterior.slots.items() if posterior else ())
        for e in elements
    }
    slots = {
        slot: [learned.get((slot, e)) or ElementPosterior(e, 0.0, prior_sd, 0.0, 0.0) for e in ids]
        for slot, ids in listing.slots.items()
    }
    listed = {(slot, e) for slot, ids in listing.slots.items() for e in ids}
    pairs = [
        p
        for p in (posterior.pairs if posterior else ())
        if (p.slot_a, p.element_a) in listed and (p.slot_b, p.element_b) in listed
    ]
    version = posterior.model_version if posterior else "prior"
    return AdPosterior(listing.ad_id, segment, version, slots, pairs)


def thompson(
    posterior: AdPosterior, rng: np.random.Generator, draws: int = 256, floor: float = 0.02
) -> Choice:
    """Per slot, the element whose posterior draw is highest, as a policy with an exact
    propensity: each element's chance of winning is estimated from ``draws`` draws (seeded
    by nothing but the posterior, so the estimate is a fixed function of it), mixed with
    ``floor`` of uniform (every element keeps a chance), and the element is sampled from
    exactly that distribution with ``rng``: the logged propensity is the true one.

    >>> from adcraft.shared.contract.posteriors import ElementPosterior as E
    >>> title = [E("t1", 2.0, .1, 50, 0), E("t2", -2.0, .1, 50, 0)]
    >>> ad = AdPosterior("a", "all", "v", {"title": title}, [])
    >>> choice = thompson(ad, np.random.default_rng(0))
    >>> choice.elements, round(choice.propensity, 2)
    ({'title': 't1'}, 0.99)
    """
    chosen, propensity = {}, 1.0
    for slot, probabilities in thompson_probabilities(posterior, draws, floor).items():
        index = int(rng.choice(len(probabilities), p=probabilities))
        chosen[slot] = posterior.slots[slot][index].element_id
        propensity *= float(probabilities[index])
    return Choice(chosen, propensity)


def thompson_probabilities(
    posterior: AdPosterior, draws: int = 256, floor: float = 0.02
) -> dict[str, np.ndarray]:
    """Per slot, the probability :func:`thompson` gives each candidate."""
    estimate = np.random.default_rng(0)
    result = {}
    for slot, elements in posterior.slots.items():
        mean = np.array([e.mean for e in elements])
        sd = np.array([e.sd for e in elements])
        samples = estimate.normal(mean, sd, size=(draws, len(elements)))
        wins = np.bincount(samples.argmax(axis=1), minlength=len(elements)) / draws
        probabilities = (1 - floor) * wins + floor / len(elements)
        result[slot] = probabilities / probabilities.sum()
    return result


def contributions(posterior: AdPosterior, elements: dict[str, str]) -> dict[str, float]:
    """Per slot, how much its chosen element adds to the predicted click logit against the
    slot's average candidate, with each learned pair between chosen elements split evenly
    between its two slots: the explanation an ad server can show.

    >>> from adcraft.shared.contract.posteriors import ElementPosterior as E, PairPosterior as P
    >>> slots = {"title": [E("t1", 1.0, .1, 5, 0), E("t2", 0.0, .1, 5, 0)],
    ...          "image": [E("i1", 0.2, .1, 5, 0)]}
    >>> ad = AdPosterior("a", "all", "v", slots, [P("title", "t1", "image", "i1", 0.4, 0.1)])
    >>> contributions(ad, {"title": "t1", "image": "i1"})
    {'title': 0.7, 'image': 0.2}
    """
    result = {}
    for slot, candidates_ in posterior.slots.items():
        means = {e.element_id: e.mean for e in candidates_}
        average = sum(means.values()) / len(means)
        result[slot] = means[elements[slot]] - average
    for pair in posterior.pairs:
        if (
            elements.get(pair.slot_a) == pair.element_a
            and elements.get(pair.slot_b) == pair.element_b
        ):
            result[pair.slot_a] += pair.weight / 2
            result[pair.slot_b] += pair.weight / 2
    return {slot: round(value, 4) for slot, value in result.items()}
