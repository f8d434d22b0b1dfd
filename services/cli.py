"""The ``adcraft`` command line: wiring only; the work lives in the modules it calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError

from shared import codec
from shared.settings import Settings
from shared.stack import Stack

app = typer.Typer(help="adcraft: real-time creative personalization.", no_args_is_help=True)
stack_app = typer.Typer(help="Local broker, Redis and Triton on 127.0.0.1.", no_args_is_help=True)
schemas_app = typer.Typer(help="Event schemas for upstream producers.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
worker_app = typer.Typer(help="Stream workers.", no_args_is_help=True)
train_app = typer.Typer(help="Train models.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate models.", no_args_is_help=True)
models_app = typer.Typer(help="Model files.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(schemas_app, name="schemas")
app.add_typer(bench_app, name="bench")
app.add_typer(worker_app, name="worker")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")

RunDir = Annotated[Path, typer.Option(help="Where state and logs of the stack live.")]
Json = Annotated[bool, typer.Option("--json", help="End with one JSON object of the figures.")]


def _settings() -> Settings:
    """Settings from the environment, or one line naming what is wrong (never a value)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        typer.echo(f"invalid settings: {problems}", err=True)
        raise typer.Exit(2) from None


def _print_status(stack: Stack) -> bool:
    healthy = True
    for name, info in stack.status().items():
        ports = " ".join(f"{k}=127.0.0.1:{v}" for k, v in info["ports"].items())  # type: ignore[union-attr]
        state = "healthy" if info["healthy"] else "UNHEALTHY"
        healthy &= bool(info["healthy"])
        typer.echo(f"{name:<7} {state:<9} pid={info['pid']:<8} {ports}  log={info['log']}")
    return healthy


@stack_app.command("up")
def stack_up(
    run_dir: RunDir = Path(".adcraft/stack"),
    model: Annotated[list[str] | None, typer.Option(help="Load only these models.")] = None,
) -> None:
    """Start broker, redis-server and tritonserver; print where they listen."""
    copy_env = Settings().copywriter.environment()
    stack = Stack(run_dir=run_dir, models=model or None, model_env=copy_env).up()
    _print_status(stack)
    typer.echo("\n# point adcraft at this stack:")
    for key, value in stack.environment().items():
        typer.echo(f"export {key}={value}")


@stack_app.command("status")
def stack_status(run_dir: RunDir = Path(".adcraft/stack")) -> None:
    """Show each service's PID, ports and health; exit 1 if any is unhealthy."""
    stack = Stack(run_dir=run_dir)
    if not stack.running:
        typer.echo("stack is down")
        raise typer.Exit(1)
    if not _print_status(stack):
        raise typer.Exit(1)


@stack_app.command("down")
def stack_down(run_dir: RunDir = Path(".adcraft/stack")) -> None:
    """Stop every service the stack started."""
    Stack(run_dir=run_dir).down()
    typer.echo("stack is down")


@worker_app.command("rewards")
def worker_rewards(
    catalog: Annotated[
        Path | None,
        typer.Option(help="Ad catalogue JSON (overrides ADCRAFT_REWARDS__CATALOG_PATH)."),
    ] = None,
) -> None:
    """Learn element rewards from impressions, clicks and conversions (until SIGTERM)."""
    from services.reward_updater.main import serve

    settings = _settings()
    path = catalog or settings.rewards.catalog_path
    if path is None:
        raise typer.BadParameter(
            "no catalogue: pass --catalog or set ADCRAFT_REWARDS__CATALOG_PATH"
        )
    raise typer.Exit(serve(settings, Path(path)))


@schemas_app.command("export")
def schemas_export(directory: Path) -> None:
    """Write one JSON Schema per event type into DIRECTORY."""
    for path in codec.export_schemas(directory):
        typer.echo(path)


@bench_app.command("broker")
def bench_broker(
    messages: int = 200_000,
    size: int = 100,
    run_dir: RunDir = Path(".adcraft/bench"),
    as_json: Json = False,
) -> None:
    """Raw produce/consume msgs/s on the local broker and the codec's events/s."""
    from services.bench import broker

    figures = broker.run(messages, size, run_dir)
    _print_figures(figures, as_json)


@bench_app.command("rewards")
def bench_rewards(
    impressions: int = 250_000,
    load: float = 5_000.0,
    seconds: float = 15.0,
    ads: int = 40,
    run_dir: RunDir = Path(".adcraft/bench"),
    as_json: Json = False,
) -> None:
    """Reward-path events/s next to raw consume; click-to-score latency at LOAD events/s."""
    from services.bench import rewards

    _print_figures(rewards.run(run_dir, impressions, load, seconds, ads), as_json)


@bench_app.command("copy")
def bench_copy(
    requests: int = 24,
    variants: int = 2,
    max_tokens: int = 40,
    run_dir: RunDir = Path(".adcraft/bench"),
    as_json: Json = False,
) -> None:
    """Copy generation via Triton (1 and 8 clients) next to in-process; tokens/s."""
    from services.bench import copy

    _print_figures(copy.run(run_dir, requests, variants, max_tokens), as_json)


@models_app.command("prepare")
def models_prepare() -> None:
    """Convert the packaged base LM once and check the review data is in place."""
    from services.copywriter import base_model, dataset
    from services.copywriter.weights import CopyPaths

    settings = Settings().copywriter
    typer.echo(f"base model: {base_model.prepare(CopyPaths.from_settings(settings).base)}")
    reviews = dataset.read_reviews(Path(settings.reviews))
    typer.echo(f"reviews: {len(reviews):,} rows from {settings.reviews}")


@train_app.command("copy")
def train_copy(
    steps: int = 80,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    sentiment_weight: float = 1.0,
    diversity_weight: float = 1.0,
    cta_weight: float = 1.0,
    sample_every: Annotated[
        int, typer.Option(help="Steps between rounds of sampled copy for the diversity term.")
    ] = 2,
    max_products: Annotated[int | None, typer.Option(help="Train on fewer products.")] = None,
) -> None:
    """LoRA fine-tuning with the multi-objective loss; exports copy/latest."""
    from services.copywriter.objectives import LossWeights
    from services.copywriter.train import TrainConfig, train

    weights = LossWeights(sentiment_weight, diversity_weight, cta_weight)
    config = TrainConfig(
        steps,
        batch_size,
        learning_rate,
        max_products=max_products,
        sample_every=sample_every,
        weights=weights,
    )
    train(Settings().copywriter, config, typer.echo)


@eval_app.command("copy")
def eval_copy(products: int = 64, seed: int = 0, as_json: Json = False) -> None:
    """Base vs fine-tuned copy on held-out products (trains first if nothing is trained)."""
    from services.copywriter.evaluate import DIAGNOSTICS, KEYS, evaluate

    report = evaluate(Settings().copywriter, products, seed, typer.echo)
    typer.echo(f"\n{'metric':<18} {'base':>10} {'tuned':>10}")
    for key in (*KEYS, *DIAGNOSTICS):
        typer.echo(f"{key:<18} {report['base'][key]:>10.4f} {report['tuned'][key]:>10.4f}")
    if as_json:
        typer.echo(orjson.dumps(report).decode())


def _print_figures(figures: dict[str, object], as_json: bool) -> None:
    for key, value in figures.items():
        shown = f"{value:>14,}" if isinstance(value, int | float) else str(value)
        typer.echo(f"{key:<32} {shown}")
    if as_json:
        typer.echo(orjson.dumps(figures).decode())


@app.command()
def evaluate(
    path: Annotated[Path | None, typer.Argument(help="Logged feedback, CSV or Parquet.")] = None,
    synthetic: Annotated[
        int,
        typer.Option(
            help="Instead of PATH, log this many impressions "
            "of the synthetic world (true value known)."
        ),
    ] = 0,
    train_fraction: float = 0.5,
    epsilon: float = 0.1,
    samples: int = 200,
    as_json: Json = False,
) -> None:
    """Offline policy evaluation: IPS, SNIPS and DR with bootstrap 95% intervals."""
    from services.offline_eval import logged
    from services.offline_eval.evaluate import evaluate as run_evaluation
    from services.simulator.logged import logged_feedback
    from services.simulator.world import SyntheticWorld

    if (path is None) == (synthetic == 0):
        raise typer.BadParameter("give a PATH or --synthetic N")
    if path is not None:
        frame = logged.read(path)
    else:
        world = SyntheticWorld.create(ads=2)
        frame = logged_feedback(world, synthetic)
    rows = logged.rows(frame)
    report = run_evaluation(rows, train_fraction, epsilon, samples)
    typer.echo(
        f"trained on {report.rows_train} rows, evaluated on {report.rows_evaluated}; "
        f"target: {epsilon}-greedy over combinations"
    )
    result: dict[str, object] = {"rows_evaluated": report.rows_evaluated}
    if synthetic:
        held_out = rows[report.rows_train :]
        contexts = ((r.ad_id, r.segment) for r in held_out)
        result["true_policy_value"] = round(world.true_value(contexts, report.policy), 5)
        typer.echo(f"{'true value (synthetic)':<24} {result['true_policy_value']:.5f}")
    for name, est in report.estimates.items():
        typer.echo(f"{name:<24} {est.value:.5f}  95% CI [{est.low:.5f}, {est.high:.5f}]")
        result[name] = {
            "value": round(est.value, 5),
            "low": round(est.low, 5),
            "high": round(est.high, 5),
        }
    if as_json:
        typer.echo(orjson.dumps(result).decode())


@app.command()
def demo(
    run_dir: RunDir = Path(".adcraft/demo"), seconds: float = 30.0, load: float = 2_000.0
) -> None:
    """The main job: local stack up, synthetic traffic through the reward worker, element
    scores converging live, a plot at the end, stack down."""
    from services import demo as demo_job

    with Stack(run_dir=run_dir, model_env=Settings().copywriter.environment()) as stack:
        _print_status(stack)
        for line in demo_job.smoke(stack.settings()):
            typer.echo(line)
        typer.echo(f"\nreward worker + {load:.0f} events/s of synthetic traffic for {seconds:.0f}s")
        job = demo_job.RewardDemo(stack.settings(), load, seconds)
        for view in job.run(run_dir / "element_scores.png"):
            typer.echo(demo_job.clear_screen() if view.startswith("t=") else "")
            typer.echo(view)
    typer.echo(json.dumps({"stack": "stopped"}))


if __name__ == "__main__":
    app()
