"""Logged bandit feedback: the documented file format, read into columns.

*Wide*, one row per impression: a ``slot:<name>`` column per slot names the element shown.
Rewards are either per slot, ``reward:<name>`` and ``propensity:<name>`` for every slot
(the VW slates / CCB shape; the propensity is the probability with which the logging
policy put that element in that slot), or for the whole combination, ``reward`` and
``propensity``. *Long*, one row per slot: ``impression_id``, ``slot``, ``element`` and that
slot's ``reward`` and ``propensity``. Context, all optional: ``ad_id``, ``segment`` and
``ctx:<name>`` columns. Rewards lie in [0, 1], propensities in (0, 1]; anything else is a
:class:`LogError` naming the row (counted from 1 after the header) and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from adcraft.shared.runtime.errors import InputError

LONG = ("impression_id", "slot", "element")
NUMERIC_BINS = 4  # a numeric context column with many values becomes its quartiles
MANY_VALUES = 32
EMPTY = ("", "nan", "none", "null", "na", "n/a", "#n/a")  # any case: a cell naming nothing
SMALLEST = np.finfo(float).tiny  # below this, 1 / propensity is no longer a number


class LogError(InputError):
    """A log that cannot be evaluated; the message is one line a user can act on."""


@dataclass(frozen=True)
class Log:
    """Logged slates as columns: per row its context, its element per slot, and its
    reward and propensity per slot (``per_slot``) or for the whole combination."""

    slots: tuple[str, ...]
    contexts: pd.DataFrame  # one row per distinct context: ad_id, segment, ctx:*
    context: np.ndarray  # [N] index into contexts
    elements: tuple[np.ndarray, ...]  # per slot: the element name of each code
    element_ad: tuple[np.ndarray, ...]  # per slot: the ad (index into ads) of each code
    ads: tuple[str, ...]
    chosen: np.ndarray  # [N, S] element codes
    reward: np.ndarray  # [N, S] per slot, else [N, 1]
    propensity: np.ndarray  # same shape as reward
    per_slot: bool

    def __len__(self) -> int:
        return len(self.context)

    @property
    def context_ad(self) -> np.ndarray:
        """The ad (index into :attr:`ads`) of each context."""
        return pd.Index(self.ads).get_indexer(self.contexts["ad_id"])

    def rows(self, part: slice) -> Log:
        """The rows in ``part``, with the same contexts and element codes."""
        return Log(
            self.slots,
            self.contexts,
            self.context[part],
            self.elements,
            self.element_ad,
            self.ads,
            self.chosen[part],
            self.reward[part],
            self.propensity[part],
            self.per_slot,
        )


def read(path: Path) -> Log:
    """Read a CSV or Parquet log; :class:`LogError` for anything it cannot use."""
    return of_frame(table(path, ("reward", "propensity")))


def table(path: Path, numeric: tuple[str, ...]) -> pd.DataFrame:
    """A CSV or Parquet file (told apart by content); CSV columns not starting with one of
    ``numeric`` are read as categories (compact for a million rows)."""
    if not path.exists():
        raise LogError(f"no such file: {path}")
    try:
        with path.open("rb") as file:
            parquet = file.read(4) == b"PAR1"
        frame = _parquet(path) if parquet else _csv(path, numeric)
    except (OSError, pa.ArrowException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
        raise LogError(f"cannot read {path}: {reason}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "empty"
        raise LogError(f"{path.name}: not a CSV file this can read ({first})") from None
    if len(frame.columns) == 1 and not parquet:
        raise LogError(f"{path.name} has one column {frame.columns[0]!r}: is it comma-separated?")
    return frame


def _csv(path: Path, numeric: tuple[str, ...]) -> pd.DataFrame:
    with path.open(newline="", encoding="utf-8-sig") as file:
        header = next(csv.reader(file), [])
    _unique(header)
    text = {c: "category" for c in header if not c.startswith(numeric)}
    return pd.read_csv(path, dtype=text, keep_default_na=False, encoding="utf-8-sig")


def _parquet(path: Path) -> pd.DataFrame:
    schema = pq.read_schema(path)
    _unique(schema.names)
    nested = [f.name for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise LogError(f"{path.name}: columns {nested} hold lists or records, not one value each")
    frame = pd.read_parquet(path)
    named = [n for n in frame.index.names if n is not None]
    return frame.reset_index() if named else frame.reset_index(drop=True)


def _unique(columns: list[str]) -> None:
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise LogError(f"column {column!r} appears twice")
        seen.add(column)


def of_frame(frame: pd.DataFrame) -> Log:
    """Normalise a wide or long frame (see the module docstring)."""
    frame = frame.reset_index(drop=True)
    if set(LONG) <= set(frame.columns):
        return _long(frame)
    slots = [c.removeprefix("slot:") for c in frame.columns if c.startswith("slot:")]
    if not slots:
        raise LogError("no slot:<name> columns (or impression_id, slot, element for long logs)")
    per_slot_columns = [c for c in frame.columns if c.startswith(("reward:", "propensity:"))]
    for column in per_slot_columns:
        if column.partition(":")[2] not in slots:
            raise LogError(f"column {column} has no slot:{column.partition(':')[2]} column")
    per_slot = bool(per_slot_columns)
    if per_slot:
        rewards = [f"reward:{s}" for s in slots]
        propensities = [f"propensity:{s}" for s in slots]
        if {"reward", "propensity"} & set(frame.columns):
            raise LogError("give per-slot reward:<slot> columns or one reward column, not both")
    else:
        rewards, propensities = ["reward"], ["propensity"]
    _require(frame, [*rewards, *propensities])
    chosen = {s: text_column(frame, f"slot:{s}") for s in slots}
    reward = np.column_stack([number_column(frame, c, "reward") for c in rewards])
    propensity = np.column_stack([number_column(frame, c, "propensity") for c in propensities])
    return _build(frame, chosen, reward, propensity, per_slot)


def _long(frame: pd.DataFrame) -> Log:
    """One row per (impression, slot), its reward and propensity that slot's."""
    _require(frame, ["reward", "propensity"])
    reward = number_column(frame, "reward", "reward")
    propensity = number_column(frame, "propensity", "propensity")
    element = np.asarray(text_column(frame, "element"), object)
    impression, _ = pd.factorize(text_column(frame, "impression_id").cat.codes.to_numpy())
    slot, slots = _labels(text_column(frame, "slot"))
    first = _first(impression)
    for column in (c for c in frame.columns if c in ("ad_id", "segment") or c.startswith("ctx:")):
        codes = pd.factorize(frame[column])[0]
        differs = codes != codes[first[impression]]
        if differs.any():
            row = int(np.argmax(differs))
            raise LogError(
                f"row {row + 1}, column {column}: differs from its impression's first row"
            )
    cell = impression * len(slots) + slot
    order = np.argsort(cell, kind="stable")
    again = order[1:][cell[order][1:] == cell[order][:-1]]
    if len(again):
        row = int(again.min())
        raise LogError(f"row {row + 1}, column slot: a second row for slot {slots[slot[row]]!r}")
    shape = (len(first), len(slots))
    filled = np.zeros(shape, bool)
    filled[impression, slot] = True
    if not filled.all():
        missing, s = np.argwhere(~filled)[0]
        raise LogError(
            f"row {first[missing] + 1}, column slot: impression "
            f"{frame['impression_id'].iat[first[missing]]!r} has no row for slot {slots[s]!r}"
        )
    names, per_slot_reward, per_slot_propensity = (
        np.empty(shape, t) for t in (object, float, float)
    )
    names[impression, slot] = element
    per_slot_reward[impression, slot] = reward
    per_slot_propensity[impression, slot] = propensity
    context = frame.iloc[first].drop(columns=[*LONG, "reward", "propensity"])
    chosen = {str(s): names[:, i] for i, s in enumerate(slots)}
    return _build(
        context.reset_index(drop=True), chosen, per_slot_reward, per_slot_propensity, True
    )


def _build(
    frame: pd.DataFrame,
    chosen: dict[str, np.ndarray | pd.Series],
    reward: np.ndarray,
    propensity: np.ndarray,
    per_slot: bool,
) -> Log:
    """Codes for contexts and elements (an element belongs to its ad)."""
    n = len(reward)
    columns = {
        "ad_id": text_column(frame, "ad_id") if "ad_id" in frame else np.full(n, "ad", object),
        "segment": text_column(frame, "segment")
        if "segment" in frame
        else np.full(n, "all", object),
    }
    for name in (c for c in frame.columns if c.startswith("ctx:")):
        columns[name] = _context_values(text_column(frame, name))
    ad, ads = _labels(columns["ad_id"])
    key = np.zeros(n, np.int64)
    for values in columns.values():
        value, labels = _labels(values)
        key, _ = _labels(key * len(labels) + value)
    context, _ = _labels(key)
    first = _first(context)
    contexts = pd.DataFrame({k: np.asarray(v, object)[first] for k, v in columns.items()})
    codes: list[np.ndarray] = []
    elements: list[np.ndarray] = []
    element_ad: list[np.ndarray] = []
    for names in chosen.values():
        element, labels = _labels(names)
        code, _ = _labels(ad * len(labels) + element)
        first = _first(code)
        codes.append(code)
        elements.append(np.asarray(labels, object)[element[first]])
        element_ad.append(ad[first])
    return Log(
        tuple(chosen),
        contexts,
        context,
        tuple(elements),
        tuple(element_ad),
        tuple(str(a) for a in ads),
        np.column_stack(codes),
        reward,
        propensity,
        per_slot,
    )


def _require(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LogError(f"missing columns: {missing}")


def text_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """A text column in which every row names something."""
    values = frame[column].astype("category")
    empty = values.cat.categories.astype(str).str.strip().str.lower().isin(EMPTY)
    codes = values.cat.codes.to_numpy()
    blank = (codes < 0) | np.isin(codes, np.flatnonzero(empty))
    if blank.any():
        raise LogError(f"row {int(np.argmax(blank)) + 1}, column {column}: empty")
    return values


def number_column(frame: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    """A numeric column, every value finite and in [0, 1], or (0, 1] for a
    ``"propensity"`` ``kind``."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise LogError(f"row {row + 1}, column {column}: {raw.iat[row]!r} is not a number")
    low, allowed = (0.0, "(0, 1]") if kind == "propensity" else (0.0, "[0, 1]")
    bad = (values < low) | (values > 1) | ((values == 0) & (kind == "propensity"))
    if bad.any():
        row = int(np.argmax(bad))
        raise LogError(f"row {row + 1}, column {column}: {raw.iat[row]} is not in {allowed}")
    tiny = (values < SMALLEST) & (kind == "propensity")
    if tiny.any():
        row = int(np.argmax(tiny))
        raise LogError(f"row {row + 1}, column {column}: {raw.iat[row]} is too small to divide by")
    return values


def _context_values(values: pd.Series) -> pd.Series:
    """A context column as labels: numbers with many distinct values become quartiles."""
    if len(values.cat.categories) <= MANY_VALUES:
        return values
    numbers = pd.to_numeric(values.astype(str), errors="coerce")
    if not np.isfinite(numbers).all():
        return values
    return pd.qcut(numbers, NUMERIC_BINS, duplicates="drop").astype(str).astype("category")


def _labels(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the label of each code."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.remove_unused_categories()
        return values.cat.codes.to_numpy().astype(np.int64), values.cat.categories.to_numpy()
    codes, labels = pd.factorize(np.asarray(values))
    return codes.astype(np.int64), np.asarray(labels)


def _first(codes: np.ndarray) -> np.ndarray:
    """The first row of each code."""
    first = np.full(int(codes.max()) + 1 if len(codes) else 0, len(codes))
    np.minimum.at(first, codes, np.arange(len(codes)))
    return first
