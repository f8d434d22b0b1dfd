"""Option types that more than one verb group takes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RunDir = Annotated[Path, typer.Option(help="Where state and logs of the stack live.")]
Json = Annotated[bool, typer.Option("--json", help="End with one JSON object of the figures.")]
