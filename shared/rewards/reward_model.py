"""Multi-instance reward model: combination-level feedback attributed to single elements.

Formulation (additive logit). A shown combination is a bag of instances, one element per
slot. Its click log-odds is the sum of the instances' contributions:

    logit P(click) = b_ad + b_ad,segment + sum_slots (w_e + w_e,segment) + sum_pairs v_e,e'

``w_e`` is the element's own reward, ``w_e,segment`` its personalisation for the user
segment, ``v_e,e'`` the interaction of two elements shown together (a tighter prior keeps it
near zero unless the data insist). Additive pooling was chosen over noisy-OR or attention
pooling because it is identifiable from one label per bag, each weight keeps a Gaussian
posterior (so every element gets a score *and* an uncertainty for Thompson sampling or UCB),
and an update is a handful of vector operations. A second head learns conversions, each
positive weighted by its value relative to ``value_scale``; negatives may arrive
down-sampled, each carrying its inverse sampling rate as weight.

Every combination holds exactly one element per slot, so adding a constant to a slot's
elements and subtracting it from the bias changes no prediction. The diagonal posterior
cannot see that direction and would let it random-walk, so after each batch the model
re-centres: elements and pairs to mean zero per slot, personalisation per segment.

An ad's elements may grow while it is learned (a new listing,
:meth:`ElementRewardModel.add_listing`): new elements start at the prior, the learned ones
keep their weights. Feature ids follow the
order in which ads, segments and elements were added, which :attr:`history` records, so a
checkpoint restores the same ids whatever the catalogue says by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, islice
from typing import Any, NamedTuple

import numpy as np
from scipy.special import expit

from adcraft.shared.contract.posteriors import AdPosterior, ElementPosterior, PairPosterior
from adcraft.shared.rewards.bayes_logit import PAD, BayesianLogisticRegression
from adcraft.shared.rewards.layout import Layout, Rows, Slots, Stage, centring

# What was shown, the multi-instance "bag": (ad_id, segment, ((slot, element), ...)).
Bag = tuple[str, str, tuple[tuple[str, str], ...]]


class Example(NamedTuple):
    """One combination-level label: was the impression clicked (or converted)?"""

    finalize_ts: int
    kind: str
    request_id: str
    bag: Bag
    label: bool
    value: float = 0.0
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ElementEstimate:
    """Posterior summary of one element for one ad and segment."""

    slot: str
    element_id: str
    score: float
    uncertainty: float
    observations: float
    conversion_score: float


class _Summary(NamedTuple):
    """Per catalogue element of some (ad, segment)s: its key, the click logit of the biases,
    its own (weight plus personalisation) and that one's variance, its observations, and
    its conversion probability."""

    keys: list[tuple[str, str, str, str]]
    base: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    seen: np.ndarray
    conversion: np.ndarray


class ElementRewardModel:
    """Learns element rewards for the ads of ``catalog``; see the module docstring.

    >>> model = ElementRewardModel({"ad": {"title": ["good", "poor", "new"]}})
    >>> shown = lambda t, clicked: Example(0, "click", "r", ("ad", "all", (("title", t),)),
    ...                                    clicked)
    >>> model.learn([shown("good", i % 2 == 0) for i in range(400)]
    ...             + [shown("poor", i % 10 == 0) for i in range(400)])
    {('ad', 'all')}
    >>> est = {e.element_id: e for e in model.element_scores("ad", "all")}
    >>> est["good"].score > est["poor"].score, est["new"].uncertainty > est["good"].uncertainty
    (True, True)
    """

    def __init__(
        self,
        catalog: dict[str, Slots],
        prior_variance: float = 1.0,
        pair_prior_variance: float = 0.25,
        forgetting: float = 0.0,
        value_scale: float = 50.0,
    ) -> None:
        self.catalog = {
            ad: {s: list(els) for s, els in slots.items()} for ad, slots in catalog.items()
        }
        self.click = BayesianLogisticRegression(prior_variance, forgetting=forgetting)
        self.conversion = BayesianLogisticRegression(prior_variance, forgetting=forgetting)
        self.pair_prior_variance = pair_prior_variance
        self.value_scale = value_scale
        self.listed = 0  # catalogue changes: listings that added an ad or elements
        self.history: list[list[Any]] = []  # ["ad", ad, slots], ["segment", ad, segment], ...
        self._layouts: dict[str, Layout] = {}
        self._row_of = Rows(self._new_row)  # bag (ad, segment, elements) -> row of the id table
        self._table = np.full((64, 1), PAD)
        self._widths = np.zeros(64, dtype=np.int64)
        self._owners: list[tuple[str, str]] = []  # (ad, segment) of each row
        self._centring: list[Stage] | None = None

    def _ids(self, names: list[str], pair: bool = False) -> np.ndarray:
        ids = self.click.feature_ids(names)
        if not np.array_equal(self.conversion.feature_ids(names), ids):
            raise AssertionError("heads registered features in different orders")
        if pair:
            for head in (self.click, self.conversion):
                fresh = ids[head.count[ids] == 0]
                head.precision[fresh] = np.maximum(
                    head.precision[fresh], 1.0 / self.pair_prior_variance
                )
        return ids

    @property
    def registered(self) -> list[tuple[str, str]]:
        """Every (ad, segment) with features, in the order they were added."""
        return [(op[1], op[2]) for op in self.history if op[0] == "segment"]

    def segments(self, ad: str) -> list[str]:
        """The segments of ``ad`` that have features."""
        layout = self._layouts.get(ad)
        return list(layout.segments) if layout else []

    def add_listing(self, ad: str, slots: Slots) -> str | None:
        """Take a listing of ``ad``: elements not seen before join their slots (at the
        prior; none is ever removed, so learned weights and ids stay). Returns why the
        listing cannot be taken (its slots differ from the ad's), else None.

        >>> model = ElementRewardModel({"ad": {"title": ["t1"]}})
        >>> _ = model.learn([Example(0, "click", "r", ("ad", "all", (("title", "t1"),)), True)])
        >>> model.add_listing("ad", {"title": ["t2", "t1"]}), model.catalog["ad"]
        (None, {'title': ['t1', 't2']})
        >>> [e.element_id for e in model.element_scores("ad", "all")]
        ['t1', 't2']
        >>> model.add_listing("ad", {"image": ["i1"]})
        "ad 'ad' has slots ['title'], the listing has ['image']"
        """
        known = self.catalog.get(ad)
        if known is None:
            self.catalog[ad] = {slot: list(elements) for slot, elements in slots.items()}
            self.listed += 1
            return None
        if known.keys() != slots.keys():
            return f"ad {ad!r} has slots {sorted(known)}, the listing has {sorted(slots)}"
        for slot, elements in slots.items():
            new = [e for e in elements if e not in known[slot]]
            if new:
                self.listed += 1
                known[slot] += new
                if ad in self._layouts:
                    self._extend(ad, slot, new)
        return None

    def register(self, ad: str, segment: str) -> Layout:
        """Create the features of ``ad`` (all its catalogue elements) and of ``segment``."""
        layout = self._layouts.get(ad)
        if layout is None:
            layout = self._add_ad(ad, {s: list(els) for s, els in self.catalog[ad].items()})
        if segment not in layout.segments:
            self._add_segment(layout, ad, segment)
        return layout

    def _add_ad(self, ad: str, slots: Slots) -> Layout:
        self.history.append(["ad", ad, slots])
        self._centring = None
        layout = self._layouts[ad] = Layout(
            names=slots,
            bias=int(self._ids([f"{ad}|bias"])[0]),
            elements={s: self._ids([f"{ad}|{s}={e}" for e in els]) for s, els in slots.items()},
            pairs={
                (a, b): self._ids(
                    [f"{ad}|{a}={ea}&{b}={eb}" for ea in slots[a] for eb in slots[b]], pair=True
                ).reshape(len(slots[a]), len(slots[b]))
                for a, b in combinations(sorted(slots), 2)
            },
        )
        return layout

    def _add_segment(self, layout: Layout, ad: str, segment: str) -> None:
        self.history.append(["segment", ad, segment])
        self._centring = None
        layout.segments[segment] = int(self._ids([f"{ad}|segment={segment}"])[0])
        for s, els in layout.names.items():
            layout.personal[s, segment] = self._ids([f"{ad}|{s}={e}|{segment}" for e in els])

    def _extend(self, ad: str, slot: str, new: list[str]) -> None:
        """Add elements ``new`` to ``slot`` of ``ad``'s layout: their own, personal and pair
        features, appended after every id in use."""
        self.history.append(["extend", ad, slot, new])
        self._centring = None
        layout = self._layouts[ad]
        layout.names[slot] = layout.names[slot] + new
        ids = self._ids([f"{ad}|{slot}={e}" for e in new])
        layout.elements[slot] = np.concatenate([layout.elements[slot], ids])
        for segment in layout.segments:
            personal = self._ids([f"{ad}|{slot}={e}|{segment}" for e in new])
            layout.personal[slot, segment] = np.concatenate(
                [layout.personal[slot, segment], personal]
            )
        layout.grow_pairs(ad, slot, lambda names: self._ids(names, pair=True))
        layout.forget_indexes()

    def _new_row(self, key: tuple[str, str, tuple[tuple[str, str], ...]]) -> int:
        """Add the feature ids of bag ``(ad, segment, elements)`` as a row of the id table."""
        ad, segment, elements = key
        layout = self.register(ad, segment)
        index = {slot: layout.names[slot].index(element) for slot, element in elements}
        row = [layout.bias, layout.segments[segment]]
        for slot, i in index.items():
            row += [layout.elements[slot][i], layout.personal[slot, segment][i]]
        row += [grid[index[a], index[b]] for (a, b), grid in layout.pairs.items()]
        new = len(self._row_of)
        rows, width = self._table.shape
        if new == rows or len(row) > width:
            grown = np.full((2 * rows, max(len(row), width)), PAD)
            grown[:rows, :width] = self._table
            self._table = grown
            self._widths = np.concatenate([self._widths, np.zeros(rows, dtype=np.int64)])
        self._table[new, : len(row)] = row
        self._widths[new] = len(row)
        self._owners.append((ad, segment))
        return new

    def _rows(self, examples: Sequence[Example]) -> np.ndarray:
        """Row of the id table of each example's bag."""
        return np.array([self._row_of[e.bag] for e in examples])

    def _bag_ids(self, rows: np.ndarray) -> np.ndarray:
        """Feature ids of each row, as wide as the widest (padded)."""
        return self._table[rows, : self._widths[rows].max()]

    def predict(self, ad: str, segment: str, elements: tuple[tuple[str, str], ...]) -> float:
        """Posterior-mean click probability of showing ``elements`` (pairs included)."""
        rows = np.array([self._row_of[ad, segment, elements]])
        return float(expit(self.click.mean[self._bag_ids(rows)].sum()))

    def learn(self, examples: Sequence[Example]) -> set[tuple[str, str]]:
        """Update both heads from a batch of finalized examples; return the (ad, segment)
        pairs whose scores changed: every segment of each ad learned from, since an ad's
        bias and element weights are shared by its segments."""
        clicks = [e for e in examples if e.kind == "click"]
        conversions = [e for e in examples if e.kind != "click"]
        touched = []
        if clicks:
            rows = self._rows(clicks)
            y = np.array([e.label for e in clicks], dtype=float)
            self.click.learn_batch(self._bag_ids(rows), y)
            self._recentre(self.click.mean)
            touched.append(rows)
        if conversions:
            rows = self._rows(conversions)
            y = np.array([e.label for e in conversions], dtype=float)
            value = np.array([e.value for e in conversions]) / self.value_scale
            sampled = np.array([e.weight for e in conversions])
            weights = np.where(y > 0, np.clip(value, 0.1, 10.0), sampled)
            self.conversion.learn_batch(self._bag_ids(rows), y, weights)
            self._recentre(self.conversion.mean)
            touched.append(rows)
        ads = {self._owners[row][0] for row in np.unique(np.concatenate(touched)).tolist()}
        return {(ad, segment) for ad in ads for segment in self._layouts[ad].segments}

    def _recentre(self, mean: np.ndarray) -> None:
        if self._centring is None:
            self._centring = centring(self._layouts.values())
        for flat, starts, sizes, targets in self._centring:
            shifts = np.add.reduceat(mean[flat], starts) / sizes
            mean[flat] -= np.repeat(shifts, sizes)
            np.add.at(mean, targets, shifts)

    def element_scores(self, ad: str, segment: str) -> list[ElementEstimate]:
        """Each catalogue element's estimate for one ad and segment (see :meth:`estimates`)."""
        keys, estimates = self.estimates([(ad, segment)])
        return [
            ElementEstimate(slot, element, *values)
            for (_, _, slot, element), values in zip(keys, estimates, strict=True)
        ]

    def estimates(
        self, pairs: Sequence[tuple[str, str]]
    ) -> tuple[list[tuple[str, str, str, str]], list[tuple[float, float, float, float]]]:
        """For every catalogue element of each (ad, segment): click probability with the
        other slots at their average element (zero after re-centring), its standard
        deviation, observations, and the value-weighted conversion probability."""
        summary = self._summary(pairs)
        click = expit(summary.base + summary.mean)
        std = click * (1 - click) * np.sqrt(summary.variance)
        columns = (click, std, summary.seen, summary.conversion)
        return summary.keys, list(zip(*(column.tolist() for column in columns), strict=True))

    def posteriors(self, pairs: Sequence[tuple[str, str]], version: str) -> list[AdPosterior]:
        """The logit-scale posterior of each (ad, segment): per catalogue element its own
        weight plus personalisation (mean, sd), observations and conversion probability as
        in :meth:`estimates`; and the ad's pairs learned from at least one click example.

        >>> model = ElementRewardModel({"ad": {"title": ["t1", "t2"], "image": ["i1"]}})
        >>> shown = (("title", "t1"), ("image", "i1"))
        >>> _ = model.learn([Example(0, "click", "r", ("ad", "all", shown), True)])
        >>> [post] = model.posteriors([("ad", "all")], "v1")
        >>> titles = post.slots["title"]
        >>> [(e.element_id, e.observations) for e in titles], titles[0].sd < titles[1].sd
        ([('t1', 1.0), ('t2', 0.0)], True)
        >>> [(p.slot_a, p.element_a, p.slot_b, p.element_b) for p in post.pairs]
        [('image', 'i1', 'title', 't1')]
        """
        summary = self._summary(pairs)
        columns = [summary.mean, np.sqrt(summary.variance), summary.seen, summary.conversion]
        rows = zip(summary.keys, *(column.tolist() for column in columns), strict=True)
        elements = iter([ElementPosterior(key[3], mu, sd, n, c) for key, mu, sd, n, c in rows])
        learned = {ad: self._learned_pairs(ad) for ad in {ad for ad, _ in pairs}}
        return [
            AdPosterior(
                ad,
                segment,
                version,
                {
                    slot: list(islice(elements, len(ids)))
                    for slot, ids in self._layouts[ad].elements.items()
                },
                learned[ad],
            )
            for ad, segment in pairs
        ]

    def _summary(self, pairs: Sequence[tuple[str, str]]) -> _Summary:
        keys: list[tuple[str, str, str, str]] = []
        base, own = [np.empty((2, 0), dtype=np.int64)], [np.empty((2, 0), dtype=np.int64)]
        for ad, segment in pairs:
            layout = self.register(ad, segment)
            pair_keys, pair_base, pair_own = layout.estimate_ids_of(ad, segment)
            keys += pair_keys
            base.append(pair_base)
            own.append(pair_own)
        own_ids, base_ids = np.concatenate(own, axis=1), np.concatenate(base, axis=1)
        return _Summary(
            keys,
            self.click.mean[base_ids].sum(0),
            self.click.mean[own_ids].sum(0),
            (1.0 / self.click.precision[own_ids]).sum(0),
            self.click.count[own_ids[0]],
            expit(self.conversion.mean[base_ids].sum(0) + self.conversion.mean[own_ids].sum(0)),
        )

    def _learned_pairs(self, ad: str) -> list[PairPosterior]:
        """The click weights of ``ad``'s pairs shown at least once, in registration order."""
        ids, names = self._layouts[ad].pair_ids()
        seen = np.flatnonzero(self.click.count[ids] > 0)
        return [
            PairPosterior(a, ea, b, eb, mean, sd)
            for (a, ea, b, eb), mean, sd in zip(
                [names[i] for i in seen.tolist()],
                self.click.mean[ids[seen]].tolist(),
                (self.click.precision[ids[seen]] ** -0.5).tolist(),
                strict=True,
            )
        ]

    def to_bytes(self) -> bytes:
        """Both heads' arrays; :attr:`registered` says how to rebuild the feature ids."""
        click = self.click.to_bytes()
        return len(click).to_bytes(8, "little") + click + self.conversion.to_bytes()

    def load_bytes(self, history: list[list[Any]], blob: bytes) -> None:
        """Replay ``history`` (as :attr:`history` recorded it: the same ids) into a new model
        and load :meth:`to_bytes` output."""
        for op in history:
            if op[0] == "ad":
                self.catalog[op[1]] = {slot: list(els) for slot, els in op[2].items()}
                self._add_ad(op[1], op[2])
            elif op[0] == "segment":
                self._add_segment(self._layouts[op[1]], op[1], op[2])
            else:
                self.catalog[op[1]][op[2]] = self.catalog[op[1]][op[2]] + op[3]
                self._extend(op[1], op[2], op[3])
        split = 8 + int.from_bytes(blob[:8], "little")
        self.click.load_bytes(blob[8:split])
        self.conversion.load_bytes(blob[split:])
