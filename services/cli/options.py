"""Option types that more than one verb group takes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, NoReturn

import orjson
import typer

RunDir = Annotated[Path, typer.Option(help="Where state and logs of the stack live.")]
Json = Annotated[bool, typer.Option("--json", help="End with one JSON object of the figures.")]


def print_figures(figures: Mapping[str, object], as_json: bool) -> None:
    """One figure per line, then (``--json``) all of them as one JSON object."""
    for key, value in figures.items():
        shown = f"{value:>14,}" if isinstance(value, int | float) else str(value)
        typer.echo(f"{key:<32} {shown}")
    if as_json:
        typer.echo(orjson.dumps(figures).decode())


def refuse(doing: str, exc: Exception) -> NoReturn:
    """Exit 2 with one line: what could not be done and the first line of why (the input's
    or the options' fault, never a traceback)."""
    why = str(exc).strip()
    typer.echo(f"cannot {doing}: {why.splitlines()[0] if why else type(exc).__name__}", err=True)
    raise typer.Exit(2)
