"""``adcraft worker ...``: the stream workers, each until SIGTERM."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from adcraft.shared.runtime.settings import Settings

app = typer.Typer(help="Stream workers.", no_args_is_help=True)


def settings_or_exit() -> Settings:
    """Settings from the environment, or one line naming what is wrong (never a value)."""
    from pydantic import ValidationError

    from adcraft.shared.runtime.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(map(str, error["loc"])), error["msg"]))).replace(
                "Value error, ", ""
            )
            for error in exc.errors(include_input=False, include_url=False)
        )
        typer.echo(f"invalid settings: {problems}", err=True)
        raise typer.Exit(2) from None


@app.command("rewards")
def worker_rewards(
    catalog: Annotated[
        Path | None,
        typer.Option(
            help="Ad catalogue JSON (overrides ADCRAFT_REWARDS__CATALOG_PATH) to start from; "
            "listings on the catalogue topic extend it as they arrive."
        ),
    ] = None,
) -> None:
    """Learn element rewards from impressions, clicks and conversions (until SIGTERM)."""
    from adcraft.services.reward_updater.main import serve

    settings = settings_or_exit()
    path = catalog or settings.rewards.catalog_path
    raise typer.Exit(serve(settings, Path(path) if path else None))


@app.command("requests")
def worker_requests() -> None:
    """Answer creative requests with recommendations (until SIGTERM)."""
    from adcraft.services.request_worker.main import serve

    raise typer.Exit(serve(settings_or_exit()))
