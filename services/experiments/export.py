"""An experiment's events as one table: what `adcraft experiment export` writes and the
report reads back (Parquet, or CSV by the file's suffix).

One row per event, in :data:`COLUMNS` order. ``kind`` is ``impression``, ``click`` or
``conversion``; a click or conversion names its impression by ``request_id``; the
experiment's fields (``experiment``, ``arm``, ``path``, ``segment``, ``copy_variants``,
``elements``, the last two JSON objects) are an impression's and left empty on the others;
``value`` is a conversion's value (0 on the others).

:func:`checked` accepts a table only whole: the first bad cell is reported by row (1 for the
first event) and column, so that a person can find it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

COLUMNS = (
    "kind",
    "event_id",
    "request_id",
    "user_id",
    "ts_ms",
    "experiment",
    "arm",
    "path",
    "segment",
    "copy_variants",
    "elements",
    "value",
)
KINDS = ("impression", "click", "conversion")
NUMERIC = ("ts_ms", "value")
REQUIRED = ("kind", "event_id", "request_id", "user_id")
OF_IMPRESSIONS = ("arm", "path", "segment")


class ExportError(ValueError):
    """A table the report cannot read, and where: ``row`` (1-based) or None, ``column``."""

    def __init__(self, row: int | None, column: str, problem: str) -> None:
        where = f"row {row}, column {column!r}" if row is not None else f"column {column!r}"
        super().__init__(f"{where}: {problem}")


class Events(NamedTuple):
    """A checked export: impressions with their outcomes, one row per impression."""

    impressions: pd.DataFrame  # COLUMNS less kind/value, plus clicks, conversions, value


def write(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` (in :data:`COLUMNS`) to Parquet, or to CSV for a ``.csv`` path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def read(path: Path) -> pd.DataFrame:
    """The table in ``path`` as text cells (a CSV's cells are never guessed at)."""
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.read_parquet(path)
    return frame.astype(str).where(frame.notna(), "")


def checked(frame: pd.DataFrame, arms: frozenset[str], experiment: str) -> Events:
    """``frame``'s events of ``experiment``, or the first problem as an :class:`ExportError`.

    >>> rows = [("impression", "i1", "r1", "u1", "5", "e", "a", "model", "all", "{}", "{}", "0"),
    ...         ("click", "c1", "r1", "u1", "9", "", "", "", "", "", "", "0")]
    >>> events = checked(pd.DataFrame(rows, columns=COLUMNS), frozenset({"a"}), "e")
    >>> events.impressions[["arm", "clicks"]].values.tolist()
    [['a', 1]]
    >>> try:
    ...     checked(pd.DataFrame(rows, columns=COLUMNS), frozenset({"b"}), "e")
    ... except ExportError as exc:
    ...     print(exc)
    row 1, column 'arm': unknown arm 'a' (arms: b)
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ExportError(None, missing[0], f"missing (an export has {', '.join(COLUMNS)})")
    frame = frame.reset_index(drop=True)
    numbers = {c: pd.to_numeric(frame[c].astype(str).str.strip(), errors="coerce") for c in NUMERIC}
    for column, values in numbers.items():
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        _first(bad, column, "not a number: {}", frame[column])
    _first(numbers["value"].to_numpy() < 0, "value", "negative: {}", frame["value"])
    for column in REQUIRED:
        _first(frame[column].astype(str).str.strip() == "", column, "empty{}", None)
    _first(
        ~frame["kind"].isin(KINDS), "kind", "not one of " + ", ".join(KINDS) + ": {}", frame["kind"]
    )
    shown = frame["kind"] == "impression"
    _first(
        shown & frame.duplicated("event_id"),
        "event_id",
        "impression id {} repeated",
        frame["event_id"],
    )
    _first(
        shown & frame.duplicated("request_id"),
        "request_id",
        "request {} shown twice",
        frame["request_id"],
    )
    _first(shown & (frame["experiment"] == ""), "experiment", "empty on an impression{}", None)
    ours = shown & (frame["experiment"] == experiment)
    for column in OF_IMPRESSIONS:
        _first(ours & (frame[column] == ""), column, "empty on an impression{}", None)
    _first(
        ours & ~frame["arm"].isin(arms),
        "arm",
        f"unknown arm {{}} (arms: {', '.join(sorted(arms))})",
        frame["arm"],
    )
    known = frame["request_id"].where(shown).dropna()
    _first(
        ~shown & ~frame["request_id"].isin(known),
        "request_id",
        "no impression for request {}",
        frame["request_id"],
    )
    frame = frame.assign(ts_ms=numbers["ts_ms"].astype("int64"), value=numbers["value"])
    return Events(_outcomes(frame, ours))


def _first(bad: np.ndarray | pd.Series, column: str, problem: str, cells: pd.Series | None) -> None:
    hits = np.flatnonzero(np.asarray(bad, dtype=bool))
    if len(hits):
        row = int(hits[0])
        shown = "" if cells is None else repr(str(cells.iloc[row])[:40])
        raise ExportError(row + 1, column, problem.format(shown))


def _outcomes(frame: pd.DataFrame, ours: pd.Series) -> pd.DataFrame:
    """Impressions of the experiment with their clicks (at most one), conversions, value."""
    outcomes = frame[frame["kind"] != "impression"].drop_duplicates("event_id")
    clicked = outcomes[outcomes["kind"] == "click"].drop_duplicates("request_id")
    converted = outcomes[outcomes["kind"] == "conversion"].groupby("request_id")["value"]
    impressions = frame[ours].drop(columns=["kind", "value"]).set_index("request_id")
    impressions["clicks"] = impressions.index.isin(clicked["request_id"]).astype(int)
    impressions["conversions"] = converted.size().reindex(impressions.index, fill_value=0)
    impressions["value"] = converted.sum().reindex(impressions.index, fill_value=0.0)
    return impressions.reset_index()
