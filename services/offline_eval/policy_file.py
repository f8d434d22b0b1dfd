"""A target policy built elsewhere, given as a file of action distributions per context.

CSV or Parquet, one row per (context, slot, element): any of the log's context columns
(``ad_id``, ``segment``, ``ctx:<name>``; a column left out means "the same for every
value"), ``slot``, ``element`` and ``probability``. Per context and slot the probabilities
sum to 1 over elements the log shows for that ad. Slots are chosen independently, so a
whole combination's probability is the product of its slots'.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adcraft.services.offline_eval.logged import Log, LogError, number_column, table, text_column
from adcraft.services.offline_eval.policies import Slates

TOLERANCE = 1e-6


class FilePolicy:
    """The per-slot distributions of a policy file, matched to a log's contexts."""

    name = "file"

    def __init__(self, path: Path, log: Log) -> None:
        self.path = path
        self.slates = Slates(log)
        try:
            keys, rows, element, probability = self._read(log)
        except LogError as exc:
            raise LogError(f"{path.name}: {exc}") from None
        self._marginals = [
            self._match(log, c, keys, rows, element, probability) for c in range(len(log.contexts))
        ]

    def _read(
        self, log: Log
    ) -> tuple[list[str], dict[tuple[str, ...], list[int]], np.ndarray, np.ndarray]:
        """The file's context columns, its rows per (context values, slot), and each row's
        element and probability."""
        frame = table(self.path, ("probability",))
        keys = [c for c in frame.columns if c not in ("slot", "element", "probability")]
        unknown = [c for c in keys if c not in log.contexts.columns]
        missing = [c for c in ("slot", "element", "probability") if c not in frame.columns]
        if unknown or missing:
            raise LogError(f"unknown columns {unknown}, missing columns {missing}")
        probability = number_column(frame, "probability", "probability")
        slot = text_column(frame, "slot").astype(str).to_numpy()
        element = text_column(frame, "element").astype(str).to_numpy()
        context = [text_column(frame, c).astype(str).to_numpy() for c in keys]
        rows: dict[tuple[str, ...], list[int]] = {}
        seen: set[tuple[str, ...]] = set()
        for i, key in enumerate(zip(*context, slot, strict=True)):
            if key[-1] not in log.slots:
                raise LogError(f"row {i + 1}: slot {key[-1]!r} is not one of the log's {log.slots}")
            if (*key, element[i]) in seen:
                raise LogError(f"row {i + 1}: a second row for element {element[i]!r} here")
            seen.add((*key, element[i]))
            rows.setdefault(key, []).append(i)
        return keys, rows, element, probability

    @property
    def description(self) -> str:
        """What the report calls it."""
        return f"the policy in {self.path.name}"

    def _match(
        self,
        log: Log,
        context: int,
        keys: list[str],
        rows: dict[tuple[str, ...], list[int]],
        element: np.ndarray,
        probability: np.ndarray,
    ) -> list[np.ndarray]:
        """Per slot, the distribution the file gives ``context``."""
        values = tuple(str(log.contexts.at[context, c]) for c in keys)
        ad = self.slates.ad(context)
        marginals = []
        for s, (name, codes) in enumerate(zip(log.slots, self.slates.candidates(ad), strict=True)):
            found = rows.get((*values, name))
            where = dict(zip(keys, values, strict=True)) | {"slot": name}
            if found is None:
                raise LogError(f"{self.path.name}: no rows for {where}, which the log has")
            code = {str(e): c for e, c in zip(log.elements[s][codes], codes, strict=True)}
            p = np.zeros(len(log.elements[s]))
            for i in found:
                if element[i] not in code:
                    raise LogError(
                        f"{self.path.name} row {i + 1}: element {element[i]!r} of slot "
                        f"{name!r} never appears in the log for ad {log.ads[ad]!r}"
                    )
                p[code[element[i]]] += probability[i]
            if abs(p.sum() - 1) > TOLERANCE:
                raise LogError(
                    f"{self.path.name} row {found[0] + 1}: probabilities for {where} "
                    f"sum to {p.sum():.6g}, not 1"
                )
            marginals.append(p)
        return marginals

    def marginals(self, context: int) -> list[np.ndarray]:
        """The file's distribution per slot for ``context``."""
        return self._marginals[context]

    def joint(self, context: int, chosen: np.ndarray) -> np.ndarray:
        """The product of the slots' probabilities."""
        marginals = self._marginals[context]
        return np.prod([m[chosen[:, s]] for s, m in enumerate(marginals)], axis=0)

    def sample(self, context: int, size: int, rng: np.random.Generator) -> np.ndarray:
        """Each slot drawn from its distribution."""
        marginals = self._marginals[context]
        return np.column_stack([rng.choice(len(m), size, p=m) for m in marginals])
