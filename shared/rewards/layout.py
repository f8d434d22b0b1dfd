"""An ad's feature ids, arranged for the reward model: per slot, per pair, per segment,
and the stages that re-centre them (see :mod:`adcraft.shared.rewards.reward_model`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Slots = dict[str, list[str]]


@dataclass
class Layout:
    """Feature ids of one ad, arranged for re-centring, and its elements in id order."""

    names: Slots
    bias: int
    elements: dict[str, np.ndarray]
    pairs: dict[tuple[str, str], np.ndarray]
    segments: dict[str, int] = field(default_factory=dict)
    personal: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    estimate_ids: dict[str, tuple[list, np.ndarray, np.ndarray]] = field(default_factory=dict)
    pair_index: tuple[np.ndarray, list[tuple[str, str, str, str]]] | None = None

    def estimate_ids_of(self, ad: str, segment: str) -> tuple[list, np.ndarray, np.ndarray]:
        """Per catalogue element of ``segment``: its key, its bias ids and its own ids
        (weight and personalisation), built once."""
        if segment not in self.estimate_ids:
            self.estimate_ids[segment] = (
                [(ad, segment, slot, e) for slot in self.elements for e in self.names[slot]],
                np.tile(
                    [[self.bias], [self.segments[segment]]],
                    sum(map(len, self.elements.values())),
                ),
                np.concatenate(
                    [
                        np.stack([ids, self.personal[slot, segment]])
                        for slot, ids in self.elements.items()
                    ],
                    axis=1,
                ),
            )
        return self.estimate_ids[segment]

    def pair_ids(self) -> tuple[np.ndarray, list[tuple[str, str, str, str]]]:
        """Every pair's feature id and names (slot, element, slot, element), built once."""
        if self.pair_index is None:
            slots = self.names
            self.pair_index = (
                np.concatenate(
                    [np.empty(0, dtype=np.int64)] + [g.ravel() for g in self.pairs.values()]
                ),
                [(a, ea, b, eb) for a, b in self.pairs for ea in slots[a] for eb in slots[b]],
            )
        return self.pair_index

    def grow_pairs(self, ad: str, slot: str, new_ids: Callable[[list[str]], np.ndarray]) -> None:
        """Give each pair cell of ``slot``'s grown elements a feature id, ``new_ids(feature
        names)``; the learned cells keep theirs."""
        names = self.names  # grown already
        for (a, b), grid in list(self.pairs.items()):
            if slot not in (a, b):
                continue
            grown = np.full((len(names[a]), len(names[b])), -1, dtype=np.int64)
            grown[: grid.shape[0], : grid.shape[1]] = grid
            cells = np.argwhere(grown < 0)
            grown[cells[:, 0], cells[:, 1]] = new_ids(
                [f"{ad}|{a}={names[a][i]}&{b}={names[b][j]}" for i, j in cells.tolist()]
            )
            self.pairs[a, b] = grown

    def forget_indexes(self) -> None:
        """Drop the cached indexes: the ad's elements changed."""
        self.estimate_ids.clear()
        self.pair_index = None


class Rows(dict):
    """A dict that adds a missing key's value with ``add(key)`` on first lookup."""

    def __init__(self, add: Callable[[Any], int]) -> None:
        super().__init__()
        self.add = add

    def __missing__(self, key: Any) -> int:
        value = self[key] = self.add(key)
        return value


Stage = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def centring(layouts: Iterable[Layout]) -> list[Stage]:
    """Re-centring as stages of (member ids, group starts, group sizes, target ids): each
    group's mean moves from its members to its target. Pairs go first (rows into the first
    slot's elements, then columns into the second's), then personalisation into segment
    biases, elements into the bias, and segment biases into the bias."""
    stages: list[list[tuple[np.ndarray, int]]] = [[], [], [], [], []]
    for layout in layouts:
        for (a, b), grid in layout.pairs.items():
            stages[0] += [(grid[i], layout.elements[a][i]) for i in range(grid.shape[0])]
            stages[1] += [(grid[:, j], layout.elements[b][j]) for j in range(grid.shape[1])]
        stages[2] += [
            (ids, layout.segments[segment]) for (_, segment), ids in layout.personal.items()
        ]
        stages[3] += [(ids, layout.bias) for ids in layout.elements.values()]
        stages[4].append((np.fromiter(layout.segments.values(), dtype=np.int64), layout.bias))
    packed = []
    for groups in stages:
        if groups:
            sizes = np.array([len(ids) for ids, _ in groups])
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            packed.append(
                (
                    np.concatenate([ids for ids, _ in groups]),
                    starts,
                    sizes,
                    np.array([target for _, target in groups], dtype=np.int64),
                )
            )
    return packed
