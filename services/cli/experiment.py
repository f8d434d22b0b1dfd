"""``adcraft experiment ...``: is an arm winning, and can the readout be trusted?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from adcraft.services.cli.options import Json, print_figures, refuse
from adcraft.services.cli.workers import settings_or_exit

if TYPE_CHECKING:
    import pandas as pd

    from adcraft.shared.runtime.settings import Settings

app = typer.Typer(
    help="Experiments: readout, export and the readout's checks.", no_args_is_help=True
)
Runs = Annotated[int, typer.Option(min=1, help="Seeded simulated experiments.")]
Alpha = Annotated[float, typer.Option(min=1e-6, max=0.5, help="Error rate of the intervals.")]
Tau = Annotated[float, typer.Option(min=1e-6, help="mSPRT mixture scale (relative lift).")]


Prefix = Annotated[
    str, typer.Option(help="Topic-name prefix of the event topics (a test's or demo's own).")
]
REPORT = Path(".adcraft/experiment/report.html")


@app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="The file to write: .parquet, or .csv.")],
    prefix: Prefix = "",
) -> None:
    """Write the events on the four topics (impressions, clicks, conversions,
    recommendations) as one table the report can read with --export."""
    from adcraft.services.experiments import export as table

    frame = _from_topics(settings_or_exit(), prefix)
    table.write(frame, out)
    typer.echo(f"{len(frame)} events written to {out}")


@app.command("report")
def report(
    export: Annotated[
        Path | None, typer.Option("--export", help="Read this export instead of the topics.")
    ] = None,
    prefix: Prefix = "",
    html: Annotated[Path, typer.Option(help="Where to write the HTML report.")] = REPORT,
    as_json: Json = False,
) -> None:
    """Per arm: users, impressions, clicks, CTR, conversions, CVR, value per impression;
    each arm's lift over the control (always valid), SRM, segments, variants, elements."""
    from adcraft.services.experiments import export as table
    from adcraft.services.experiments import readout, report

    settings = settings_or_exit()
    experiment = settings.experiment
    if export is None:
        frame = _from_topics(settings, prefix)
    else:
        try:
            frame = table.read(export)
        except (OSError, ValueError) as exc:
            refuse(f"read {export}", exc)
    try:
        events = table.checked(frame, frozenset(experiment.arms), experiment.name)
    except table.ExportError as exc:
        refuse(f"report on {export or 'the topics'}", exc)
    if events.impressions.empty:
        typer.echo(
            f"no impressions of experiment {experiment.name!r} in {export or 'the topics'}: "
            "nothing to report (is ADCRAFT_EXPERIMENT__NAME the experiment that ran?)",
            err=True,
        )
        raise typer.Exit(2)
    result = readout.read_out(events.impressions, experiment)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(report.page(result))
    typer.echo(report.table(result))
    typer.echo(f"report written to {html}")
    if as_json:
        typer.echo(orjson.dumps(result).decode())


def _from_topics(settings: Settings, prefix: str) -> pd.DataFrame:
    """The export of the topics, or exit 2 with one line when they cannot be read."""
    from adcraft.services.experiments import collect
    from adcraft.shared.adapters import topic_reader
    from adcraft.shared.contract import topics

    kinds = {
        topics.IMPRESSIONS: "impression",
        topics.CLICKS: "click",
        topics.CONVERSIONS: "conversion",
        topics.RECOMMENDATIONS: "recommendation",
    }
    named = {f"{prefix}.{topic}" if prefix else topic: kind for topic, kind in kinds.items()}
    try:
        messages = topic_reader.read_to_end(settings.kafka, list(named))
        frame, skipped = collect.table(messages, named)
    except Exception as exc:  # the broker out of reach or too slow: one line, exit 2
        refuse("read the topics", exc)
    if skipped:
        typer.echo(f"skipped: {dict(skipped)}", err=True)
    return frame


@app.command("aa")
def aa(
    runs: Runs = 200,
    users: Annotated[int, typer.Option(min=100, help="Users per arm.")] = 20_000,
    batch: Annotated[int, typer.Option(min=10, help="Users per arm between looks.")] = 250,
    alpha: Alpha = 0.05,
    tau: Tau = 0.1,
    as_json: Json = False,
) -> None:
    """A/A under peeking: two identical arms, looked at after every batch."""
    from adcraft.services.experiments import simulate

    result = simulate.peeking(simulate.World(), 0.0, runs, users, batch, alpha, tau)
    looks = users // batch
    print_figures(
        {
            "runs": runs,
            "users_per_arm": users,
            "looks": looks,
            "alpha": alpha,
            "false_positive_rate": result.always_valid,
            "naive_false_positive_rate": result.naive,
        },
        as_json,
    )


@app.command("power")
def power(
    lift: Annotated[float, typer.Option(min=0.001, help="True relative CTR lift.")] = 0.10,
    runs: Runs = 200,
    users: Annotated[int, typer.Option(min=100, help="Users per arm, at most.")] = 40_000,
    batch: Annotated[int, typer.Option(min=10, help="Users per arm between looks.")] = 500,
    alpha: Alpha = 0.05,
    tau: Tau = 0.1,
    as_json: Json = False,
) -> None:
    """How often the always-valid readout finds a true lift, and after how many users."""
    from adcraft.services.experiments import simulate

    result = simulate.peeking(simulate.World(), lift, runs, users, batch, alpha, tau)
    print_figures(
        {
            "runs": runs,
            "lift": lift,
            "max_users": 2 * users,
            "power": result.always_valid,
            "users": _whole(simulate.users_needed(result.detected_at, 0.8)),
            "median_users_to_detect": _whole(simulate.users_needed(result.detected_at, 0.5)),
        },
        as_json,
    )


@app.command("coverage")
def coverage(
    runs: Runs = 200,
    users: Annotated[int, typer.Option(min=100, help="Users per arm.")] = 20_000,
    lift: float = 0.10,
    alpha: Alpha = 0.05,
    tau: Tau = 0.1,
    as_json: Json = False,
) -> None:
    """Clustered users (each with their own propensity, ~10 impressions): how often each
    lift interval covers the true lift."""
    from adcraft.services.experiments import simulate

    world = simulate.World(concentration=2.0, impressions=10.0)
    result = simulate.coverage(world, lift, runs, users, alpha, tau)
    print_figures(
        {
            "runs": runs,
            "always_valid_coverage": result.always_valid,
            "user_level_coverage": result.user_level,
            "per_impression_coverage": result.per_impression,
        },
        as_json,
    )


@app.command("srm")
def srm(
    runs: Runs = 200,
    users: Annotated[int, typer.Option(min=100, help="Users in the experiment.")] = 50_000,
    as_json: Json = False,
) -> None:
    """How often the sample-ratio check flags a 52/48 split, and a true 50/50 one."""
    from adcraft.services.experiments import simulate

    print_figures(
        {
            "runs": runs,
            "users": users,
            "flagged_52_48": simulate.srm_flag_rate(0.52, users, runs),
            "flagged_50_50": simulate.srm_flag_rate(0.50, users, runs),
        },
        as_json,
    )


def _whole(users: float | None) -> int | None:
    return None if users is None else int(users)
