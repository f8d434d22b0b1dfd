"""The simulated world: known click probabilities per ad, segment and combination."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from scipy.stats import spearmanr

from adcraft.shared.contract.catalog import AdCatalog
from adcraft.shared.contract.copy_contract import CTA_STYLES, TONES
from adcraft.shared.contract.segments import SEGMENTS

SLOTS = {"title": 5, "image": 4, "highlight": 4}


@dataclass
class SyntheticWorld:
    """Ground truth: click log-odds = base + main effects + segment tastes + pair effects."""

    catalog: AdCatalog
    base_logit: float
    main: dict[tuple[str, str, str], float]  # (ad, slot, element)
    taste: dict[tuple[str, str, str, str], float]  # (ad, segment, slot, element)
    pairs: dict[tuple[str, tuple[str, str], tuple[str, str]], float]
    conversion_given_click: float = 0.1

    @classmethod
    def create(
        cls, ads: int = 4, seed: int = 0, base_logit: float = -2.2, copy_styles: int = 0
    ) -> SyntheticWorld:
        """Random effects: elements spread over about ±1 logit, tastes and pairs smaller.
        ``copy_styles`` > 0 adds a ``copy`` slot of that many copy styles (``tone/cta``)."""
        rng = np.random.default_rng(seed)
        styles = [f"{tone}/{cta}" for tone in TONES for cta in CTA_STYLES][:copy_styles]
        catalog = AdCatalog(
            ads={
                f"ad{a}": {slot: [f"{slot[0]}{i}" for i in range(n)] for slot, n in SLOTS.items()}
                | ({"copy": styles} if styles else {})
                for a in range(ads)
            }
        )
        main: dict[tuple[str, str, str], float] = {}
        taste: dict[tuple[str, str, str, str], float] = {}
        pairs = {}
        copy_rng = np.random.default_rng([seed, 1])  # the other slots draw as without copy
        for ad, slots in catalog.ads.items():
            for slot, elements in slots.items():
                cls._draw(copy_rng if slot == "copy" else rng, ad, slot, elements, main, taste)
            first, second = sorted((s, slots[s][0]) for s in list(slots)[:2])
            pairs[ad, first, second] = 0.8  # one strong interaction per ad
        return cls(catalog, base_logit, main, taste, pairs)

    @staticmethod
    def _draw(
        rng: np.random.Generator,
        ad: str,
        slot: str,
        elements: list[str],
        main: dict[tuple[str, str, str], float],
        taste: dict[tuple[str, str, str, str], float],
    ) -> None:
        """Effects of one slot's elements: spread over ±1 logit, tastes around them."""
        spread = rng.permutation(np.linspace(-1.0, 1.0, len(elements)))
        for element, effect in zip(elements, spread, strict=True):
            main[ad, slot, element] = float(effect)
            for segment in SEGMENTS:
                taste[ad, segment, slot, element] = float(rng.normal(0, 0.15))

    def best(self, ad: str, segment: str) -> dict[str, str]:
        """The combination with the highest click probability for ``ad`` and ``segment``."""
        slots = self.catalog.ads[ad]
        combos = (dict(zip(slots, c, strict=True)) for c in itertools.product(*slots.values()))
        return max(combos, key=lambda c: self.click_probability(ad, segment, c))

    def click_probability(self, ad: str, segment: str, elements: dict[str, str]) -> float:
        """P(click) of showing ``elements`` of ``ad`` to ``segment``."""
        logit = self.base_logit
        for slot, element in elements.items():
            logit += self.main[ad, slot, element] + self.taste[ad, segment, slot, element]
        chosen = sorted(elements.items())
        for a, b in itertools.combinations(chosen, 2):
            logit += self.pairs.get((ad, a, b), 0.0)
        return float(expit(logit))

    def element_effect(self, ad: str, segment: str, slot: str, element: str) -> float:
        """True log-odds effect of an element with the other slots drawn uniformly."""
        effect = self.main[ad, slot, element] + self.taste[ad, segment, slot, element]
        for (pad, a, b), value in self.pairs.items():
            if pad == ad and (slot, element) in (a, b):
                other = b if a == (slot, element) else a
                effect += value / len(self.catalog.ads[ad][other[0]])
        return effect

    def ranking_agreement(
        self, scores: Callable[[str, str], Mapping[tuple[str, str], float]]
    ) -> float:
        """Spearman correlation of learned and true element effects (log-odds centred per
        ad, segment and slot) over every element ``scores(ad, segment)`` has, keyed by
        (slot, element) as click probabilities; NaN with fewer than three."""
        learned, truth = [], []
        for ad, slots in self.catalog.ads.items():
            for segment in SEGMENTS:
                known = scores(ad, segment)
                for slot, elements in slots.items():
                    if not all((slot, e) in known for e in elements):
                        continue
                    p = np.array([known[slot, e] for e in elements])
                    t = np.array([self.element_effect(ad, segment, slot, e) for e in elements])
                    learned += list(np.log(p / (1 - p)) - np.log(p / (1 - p)).mean())
                    truth += list(t - t.mean())
        return float(spearmanr(learned, truth).statistic) if len(learned) > 2 else float("nan")
