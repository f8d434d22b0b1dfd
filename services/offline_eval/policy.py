"""What :func:`~adcraft.services.offline_eval.evaluate.evaluate` needs of a target policy.

Light on purpose (typing only at run time): the CLI names the policies from here without
importing numpy, pandas or torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

PolicyName = Literal["thompson", "greedy", "generator"]


class TargetPolicy(Protocol):
    """A slate policy evaluated off-line, asked per context of the log (an index into
    :attr:`Log.contexts <adcraft.services.offline_eval.logged.Log.contexts>`)."""

    name: str

    @property
    def description(self) -> str:
        """What the report calls it."""
        ...

    def marginals(self, context: int) -> list[np.ndarray]:
        """Per slot, the probability of each element code of that slot."""
        ...

    def joint(self, context: int, chosen: np.ndarray) -> np.ndarray:
        """The probability of each whole combination ``chosen`` [N, S] of element codes."""
        ...

    def sample(self, context: int, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` combinations [size, S] drawn from the policy."""
        ...
