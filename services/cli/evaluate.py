"""``adcraft eval copy`` (the copy model) and ``adcraft evaluate`` (policies, off-line)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from adcraft.services.cli.options import Json, refuse
from adcraft.services.offline_eval.policy import PolicyName

if TYPE_CHECKING:
    from adcraft.services.offline_eval.evaluate import Options

SparseCheck = Annotated[
    bool,
    typer.Option(
        "--synthetic-sparse",
        help="Instead of PATH, check the estimators on seeded sparse slate worlds "
        "(80 items, 3 positions, click rates 0.1-1 %): interval coverage and ranking.",
    ),
]

app = typer.Typer(help="Evaluate models.", no_args_is_help=True)


@app.command("copy")
def eval_copy(
    products: int = 64,
    seeds: Annotated[int, typer.Option(help="Evaluate seeds 0 .. SEEDS-1 and average.")] = 3,
    variants: int = 4,
    read: Annotated[
        int,
        typer.Option(
            help="Instead, print this many served variants of the shipped model for held-out "
            "briefs drawn by --read-seed, one JSON line each, for a blind read."
        ),
    ] = 0,
    read_seed: int = 7,
    model: Annotated[
        list[str] | None,
        typer.Option(help="Evaluate only these (base, shipped, no_diversity); repeat."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Served copy of the base, shipped and no-diversity models on held-out products (trains
    whichever is missing first)."""
    from adcraft.services.copywriter.evaluate import (
        DIAGNOSTICS,
        KEYS,
        MODELS,
        evaluate,
        served_samples,
    )
    from adcraft.shared.runtime.settings import Settings

    if read:
        for sample in served_samples(Settings().copywriter, read, read_seed):
            typer.echo(orjson.dumps(sample).decode())
        return
    names = tuple(model or MODELS)
    if set(names) - set(MODELS):
        refuse("evaluate", ValueError(f"--model must be among {', '.join(MODELS)}"))
    report = evaluate(
        Settings().copywriter, products, tuple(range(seeds)), variants, typer.echo, names
    )
    typer.echo(f"\n{'metric':<24}" + "".join(f"{name:>20}" for name in names))
    rows = dict.fromkeys([*KEYS, *DIAGNOSTICS, *(k for m in names for k in report[m])])
    for key in rows:
        typer.echo(f"{key:<24}" + "".join(f"{report[m].get(key, 0.0):>20.4f}" for m in names))
    if as_json:
        typer.echo(orjson.dumps(report).decode())


def evaluate(
    path: Annotated[Path | None, typer.Argument(help="Logged feedback, CSV or Parquet.")] = None,
    synthetic: Annotated[
        int,
        typer.Option(
            help="Instead of PATH, log this many impressions "
            "of the synthetic world (true value known)."
        ),
    ] = 0,
    synthetic_sparse: SparseCheck = False,
    seeds: Annotated[int, typer.Option(min=1, help="Sparse worlds for the coverage check.")] = 200,
    rows: Annotated[int, typer.Option(min=10, help="Rows per sparse log for coverage.")] = 10_000,
    ranking_seeds: Annotated[int, typer.Option(min=0, help="Sparse worlds for ranking.")] = 50,
    ranking_rows: Annotated[
        int, typer.Option(min=10, help="Rows per sparse log for ranking.")
    ] = 200_000,
    train_fraction: float = 0.5,
    policy: Annotated[
        PolicyName | None,
        typer.Option(
            help="The target: Thompson sampling or epsilon-greedy on the reward model's "
            "posterior, or the exported combination generator (default thompson)."
        ),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option(help="Evaluate this file's action distributions per context instead."),
    ] = None,
    epsilon: float = 0.1,
    draws: Annotated[
        int, typer.Option(help="Slates drawn per context (sampled policies).")
    ] = 1_000,
    seed: int = 0,
    min_context_clicks: Annotated[
        int, typer.Option(help="Training clicks a context needs for estimates of its own.")
    ] = 100,
    as_json: Json = False,
) -> None:
    """Offline policy evaluation: IPS, SNIPS, DR and SNDR with intervals that hold when
    clicks are rare, diagnostics, and the reward model's calibration."""
    from adcraft.services.offline_eval.evaluate import Options

    if sum((path is not None, synthetic > 0, synthetic_sparse)) != 1:
        raise typer.BadParameter("give a PATH, --synthetic N or --synthetic-sparse")
    if policy is not None and policy_file is not None:
        raise typer.BadParameter("give --policy or --policy-file, not both")
    target = policy_file or policy or "thompson"
    sparse = (seeds, rows, ranking_seeds, ranking_rows) if synthetic_sparse else None
    try:
        options = Options(train_fraction, target, epsilon, draws, seed, min_context_clicks)
        lines, figures = _evaluation(path, synthetic, sparse, options)
    except ValueError as exc:
        refuse("evaluate", exc)
    for line in lines:
        typer.echo(line)
    if as_json:
        typer.echo(orjson.dumps(figures).decode())


def _evaluation(
    path: Path | None, synthetic: int, sparse: tuple[int, int, int, int] | None, options: Options
) -> tuple[list[str], dict]:
    """The report's lines and figures: of the log at ``path``, of ``synthetic`` logged
    impressions, or of the sparse check (seeds, rows, ranking seeds, ranking rows)."""
    from adcraft.services.offline_eval import summary

    if sparse is not None:
        return summary.sparse_check(*sparse, options)
    if path is not None:
        result = summary.of_log(path, options)
    else:
        result = summary.of_synthetic(synthetic, options)
    return result.lines(), result.figures()


@app.command("combos")
def eval_combos(
    ads: int = 32,
    rounds: int = 30,
    impressions: int = 40,
    seed: Annotated[int, typer.Option(help="Held-out worlds (training never uses it).")] = 10_000,
    as_json: Json = False,
) -> None:
    """The exported generator vs per-slot Thompson sampling and the additive argmax:
    top-1 quality on held-out ads and regret over a simulated online run."""
    from adcraft.services.combinations import export
    from adcraft.services.combinations.evaluation import report
    from adcraft.services.combinations.online import OnlineConfig

    model, version = export.load()
    figures = report(model, OnlineConfig(ads, rounds, impressions, seed))
    typer.echo(f"generator version {version}")
    for key, value in figures.items():
        typer.echo(f"{key:<24} {value:>10.4f}")
    if as_json:
        typer.echo(orjson.dumps(figures).decode())
