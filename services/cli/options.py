"""Option types that more than one verb group takes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

RunDir = Annotated[Path, typer.Option(help="Where state and logs of the stack live.")]
Json = Annotated[bool, typer.Option("--json", help="End with one JSON object of the figures.")]


def refuse(doing: str, exc: Exception) -> NoReturn:
    """Exit 2 with one line: what could not be done and the first line of why (the input's
    or the options' fault, never a traceback)."""
    why = str(exc).strip()
    typer.echo(f"cannot {doing}: {why.splitlines()[0] if why else type(exc).__name__}", err=True)
    raise typer.Exit(2)
