"""``adcraft schemas export``: the event contract for upstream producers."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Event schemas for upstream producers.", no_args_is_help=True)


@app.command("export")
def schemas_export(directory: Path) -> None:
    """Write one JSON Schema per event type into DIRECTORY."""
    from adcraft.shared.contract import codec

    for path in codec.export_schemas(directory):
        typer.echo(path)
