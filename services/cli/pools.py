"""``adcraft copy ...``: the copy pools written ahead of demand, and their review."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from adcraft.services.cli.options import Json
from adcraft.services.cli.workers import settings_or_exit

if TYPE_CHECKING:
    from adcraft.services.pools.store import PoolStore
    from adcraft.shared.contract.events import AdListed

app = typer.Typer(help="Copy pools: coverage and review.", no_args_is_help=True)
Ids = Annotated[list[str] | None, typer.Option(help="Variant id (repeat for more).")]


@app.command("status")
def status(as_json: Json = False) -> None:
    """How each listed ad's pools stand (per segment and copy style) and the coverage."""
    from adcraft.services.pools import status as pool_status

    settings = settings_or_exit()
    with _reachable() as (listings, store):
        rows = pool_status.rows(
            listings, store, settings.copywriter.review_required, settings.requests.copy_cache_min
        )
    figures = pool_status.summary(rows)
    typer.echo(f"{'ad':<12}{'segment':<9}{'style':<16}{'state':<9}{'served':>7}{'vetoed':>7}  age")
    for row in rows:
        age = "-" if row.age_s is None else f"{row.age_s:.0f}s"
        typer.echo(
            f"{row.ad_id[:11]:<12}{row.segment:<9}{row.style:<16}{row.state:<9}"
            f"{row.servable:>7}{row.rejected:>7}  {age}"
        )
    states = pool_status.counted(figures["states"])
    typer.echo(f"coverage {figures['coverage']:.0%} of {figures['pools']} pools ({states})")
    typer.echo(
        f"pools by the model version that wrote them: {pool_status.counted(figures['versions'])}"
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

    if (approve or reject) and not by.strip():
        typer.echo("say who decides: --by NAME", err=True)
        raise typer.Exit(2)
    with _reachable() as (listings, store):
        found = pool_review.pooled(listings, store)
        missing = pool_review.decide(found, store, approve or [], "approved", by, why)
        missing += pool_review.decide(found, store, reject or [], "rejected", by, why)
    if approve or reject:
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


@contextlib.contextmanager
def _reachable() -> Iterator[tuple[list[AdListed], PoolStore]]:
    """The catalogue read to its end and the pools' store; one line and exit 1 when the
    broker or Redis cannot be read."""
    import redis

    from adcraft.services.pools.store import PoolStore, listed
    from adcraft.shared.adapters import redis_client

    settings = settings_or_exit()
    try:
        yield listed(settings), PoolStore(redis_client.client(settings.redis))
    except (TimeoutError, redis.RedisError) as exc:
        typer.echo(f"cannot read the copy pools: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
