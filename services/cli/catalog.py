"""``adcraft catalog ...``: the ad catalogue topic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adcraft.services.cli.workers import settings_or_exit

app = typer.Typer(help="The ad catalogue topic.", no_args_is_help=True)


@app.command("publish")
def publish(
    file: Annotated[Path, typer.Argument(help="Catalogue JSON: {'ads': {ad_id: listing}}.")],
) -> None:
    """Publish every listing of FILE to the catalogue topic (the latest per ad wins)."""
    import time

    from adcraft.shared.adapters import kafka
    from adcraft.shared.contract import codec, topics
    from adcraft.shared.contract.catalog import listings

    settings = settings_or_exit()
    try:
        found = listings(file, int(time.time() * 1000))
    except (OSError, ValueError) as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2) from None
    kafka.ensure_topics(settings.kafka, [topics.AD_CATALOG], compacted=[topics.AD_CATALOG])
    producer = kafka.producer(settings.kafka)
    for listing in found:
        kafka.produce(producer, topics.AD_CATALOG, listing.key(), codec.encode(listing))
    if producer.flush(30):
        typer.echo("the broker did not acknowledge every listing", err=True)
        raise typer.Exit(1)
    typer.echo(f"published {len(found)} listings to {topics.AD_CATALOG}")
