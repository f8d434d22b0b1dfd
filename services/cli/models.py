"""``adcraft models prepare``: the model files, converted once."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Model files.", no_args_is_help=True)


@app.command("prepare")
def models_prepare() -> None:
    """Convert the packaged base LM once and check the review data is in place."""
    from adcraft.services.copywriter import base_model, dataset
    from adcraft.services.copywriter.weights import CopyPaths
    from adcraft.shared.runtime.settings import Settings

    settings = Settings().copywriter
    typer.echo(f"base model: {base_model.prepare(CopyPaths.from_settings(settings).base)}")
    reviews = dataset.read_reviews(Path(settings.reviews))
    typer.echo(f"reviews: {len(reviews):,} rows from {settings.reviews}")
