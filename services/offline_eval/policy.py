"""What :func:`~services.offline_eval.evaluate.evaluate` needs of a target policy.

Light on purpose (typing only at run time): the CLI names the policies from here without
importing numpy, pandas or torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

    from services.offline_eval.logged import Logged

MAX_COMBINATIONS = 4_096
Combination = tuple[tuple[str, str], ...]  # (slot, element) pairs, sorted by slot
PolicyName = Literal["greedy", "generator"]


class TargetPolicy(Protocol):
    """A policy evaluated off-line: its probability of logged combinations, and its
    expected reward under any reward function of a combination."""

    name: str

    @property
    def description(self) -> str:
        """What the report calls it."""
        ...

    def probabilities(self, rows: Sequence[Logged]) -> np.ndarray:
        """π(logged combination | ad, segment) of each row."""
        ...

    def expected(self, ad: str, segment: str, reward: Callable[[Combination], float]) -> float:
        """Σ π(a)·reward(a) over the combinations a of ``ad`` shown to ``segment``."""
        ...
