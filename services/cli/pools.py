"""``adcraft copy ...``: the copy pools written ahead of demand, and their review."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from adcraft.services.cli.options import Json
from adcraft.services.cli.workers import settings_or_exit

if TYPE_CHECKING:
    from adcraft.shared.contract.events import AdListed
    from adcraft.shared.runtime.settings import Settings

app = typer.Typer(help="Copy pools: coverage and review.", no_args_is_help=True)
Ids = Annotated[list[str] | None, typer.Option(help="Variant id (repeat for more).")]


@app.command("status")
def status(as_json: Json = False) -> None:
    """How each listed ad's pools stand (per segment and copy style) and the coverage."""
    from adcraft.services.pools import status as pool_status
    from adcraft.services.pools.store import PoolStore
    from adcraft.shared.adapters import redis_client

    settings = settings_or_exit()
    store = PoolStore(redis_client.client(settings.redis))
    rows = pool_status.rows(
        _listed(settings),
        store,
        settings.copywriter.review_required,
        settings.requests.copy_cache_min,
    )
    figures = pool_status.summary(rows)
    typer.echo(f"{'ad':<12}{'segment':<9}{'style':<16}{'state':<9}{'served':>7}{'vetoed':>7}  age")
    for row in rows:
        age = "-" if row.age_s is None else f"{row.age_s:.0f}s"
        typer.echo(
            f"{row.ad_id[:11]:<12}{row.segment:<9}{row.style:<16}{row.state:<9}"
            f"{row.servable:>7}{row.rejected:>7}  {age}"
        )
    typer.echo(
        f"coverage {figures['coverage']:.0%} of {figures['pools']} pools: {figures['states']}"
    )
    if as_json:
        typer.echo(orjson.dumps(figures).decode())


@app.command("review")
def review(
    approve: Ids = None,
    reject: Ids = None,
    by: Annotated[str, typer.Option(help="Who decides (required to decide).")] = "",
    why: Annotated[str, typer.Option(help="Why, in a few words.")] = "",
    every: Annotated[bool, typer.Option("--all", help="List decided variants too.")] = False,
) -> None:
    """List pooled variants awaiting a decision, or approve/reject some by id (logged)."""
    from adcraft.services.pools import review as pool_review
    from adcraft.services.pools.store import PoolStore
    from adcraft.shared.adapters import redis_client

    settings = settings_or_exit()
    store = PoolStore(redis_client.client(settings.redis))
    found = pool_review.pooled(_listed(settings), store)
    if approve or reject:
        if not by.strip():
            typer.echo("say who decides: --by NAME", err=True)
            raise typer.Exit(2)
        missing = pool_review.decide(found, store, approve or [], "approved", by, why)
        missing += pool_review.decide(found, store, reject or [], "rejected", by, why)
        typer.echo(f"{len(approve or []) + len(reject or []) - len(missing)} decided")
        if missing:
            typer.echo(f"in no pool: {', '.join(missing)}", err=True)
            raise typer.Exit(2)
        return
    for held in found:
        if held.decision is None or every:
            verdict = "pending" if held.decision is None else held.decision.status
            ad, segment, style = held.slot
            typer.echo(f"{held.variant}  {verdict:<9}{ad} {segment} {style}: {held.text}")


def _listed(settings: Settings) -> list[AdListed]:
    """The catalogue read to its end, or one line and exit 1."""
    from adcraft.services.pools.store import listed

    try:
        return listed(settings)
    except TimeoutError as exc:
        typer.echo(f"catalogue: {exc}", err=True)
        raise typer.Exit(1) from None
