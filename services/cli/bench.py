"""``adcraft bench ...``: benchmarks that print figures."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from adcraft.services.cli.options import Json, RunDir, print_figures

app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
RUN_DIR = Path(".adcraft/bench")


@app.command("broker")
def bench_broker(
    messages: int = 200_000,
    size: int = 100,
    run_dir: RunDir = RUN_DIR,
    as_json: Json = False,
) -> None:
    """Raw produce/consume msgs/s on the local broker and the codec's events/s."""
    from adcraft.services.bench import broker

    figures = broker.run(messages, size, run_dir)
    print_figures(figures, as_json)


@app.command("rewards")
def bench_rewards(
    impressions: int = 250_000,
    load: float = 5_000.0,
    seconds: float = 15.0,
    ads: int = 40,
    run_dir: RunDir = RUN_DIR,
    as_json: Json = False,
) -> None:
    """Reward-path events/s next to raw consume; click-to-score latency at LOAD events/s."""
    from adcraft.services.bench import rewards
    from adcraft.shared.runtime import logs

    logs.configure("WARNING")  # the in-process worker's warnings as JSON lines, if any
    print_figures(rewards.run(run_dir, impressions, load, seconds, ads), as_json)


@app.command("copy")
def bench_copy(
    requests: int = 24,
    variants: int = 2,
    max_tokens: int = 40,
    run_dir: RunDir = RUN_DIR,
    as_json: Json = False,
) -> None:
    """Copy generation via Triton (1 and 8 clients) next to in-process; tokens/s."""
    from adcraft.services.bench import copy

    print_figures(copy.run(run_dir, requests, variants, max_tokens), as_json)


@app.command("combos")
def bench_combos(calls: int = 1000, run_dir: RunDir = RUN_DIR, as_json: Json = False) -> None:
    """Generator top-16 on 8 slots × 12 candidates: in-process, and via Triton (1, 8 clients)."""
    from adcraft.services.bench import combos

    print_figures(combos.run(run_dir, calls), as_json)


@app.command("requests")
def bench_requests(
    loads: str = "100,500,1000",
    seconds: float = 20.0,
    run_dir: RunDir = RUN_DIR,
    as_json: Json = False,
) -> None:
    """Request → recommendation p50/p99 at fixed offered loads (requests/s), next to the
    broker's own delivery p99 and the in-process generator call p99."""
    from adcraft.services.bench import requests

    figures = requests.run(run_dir, [float(x) for x in loads.split(",")], seconds)
    for row in figures["loads"]:  # type: ignore[attr-defined]
        typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))
    print_figures({k: v for k, v in figures.items() if k != "loads"}, as_json=False)
    if as_json:
        typer.echo(orjson.dumps(figures).decode())


@app.command("evaluate")
def bench_evaluate(
    rows: int = 1_000_000,
    policy: str = "thompson",
    run_dir: RunDir = RUN_DIR,
    as_json: Json = False,
) -> None:
    """``adcraft evaluate`` on a ROWS-row sparse slate log: seconds and peak memory."""
    from adcraft.services.bench import evaluate

    print_figures(evaluate.run(rows, run_dir, policy), as_json)
