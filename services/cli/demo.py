"""``adcraft demo``: the local stack, the smoke round-trip, the reward demo and the loop,
wired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from adcraft.services.cli.options import RunDir
from adcraft.services.cli.stack import print_status

if TYPE_CHECKING:
    from adcraft.shared.runtime.settings import Settings


def demo(
    run_dir: RunDir = Path(".adcraft/demo"),
    seconds: float = 30.0,
    load: float = 2_000.0,
    requests: float = 100.0,
    loop_seconds: float = 30.0,
) -> None:
    """The main job: local stack up, synthetic traffic through the reward worker, element
    scores converging live, then the whole loop (ad server, request worker, reward worker)
    learning live, a plot after each, stack down."""
    from adcraft.services.demo.plot import plot
    from adcraft.services.demo.rewards import RewardDemo
    from adcraft.services.demo.smoke import smoke
    from adcraft.services.demo.view import clear_screen
    from adcraft.services.stack import Stack
    from adcraft.services.stack.worker import WorkerError
    from adcraft.shared.runtime import logs
    from adcraft.shared.runtime.settings import Settings

    logs.configure("WARNING")  # the worker's warnings, as JSON lines, beside the live view
    failed = ""
    with Stack(run_dir=run_dir, model_env=Settings().copywriter.environment()) as stack:
        print_status(stack)
        for line in smoke(stack.settings()):
            typer.echo(line)
        typer.echo(f"\nreward worker + {load:.0f} events/s of synthetic traffic for {seconds:.0f}s")
        job = RewardDemo(stack.settings(), load, seconds)
        for view in job.run():
            typer.echo(clear_screen())
            typer.echo(view)
        typer.echo("")
        typer.echo(f"plot    {plot(job.history, run_dir / 'element_scores.png')}")
        try:
            _loop(stack.settings(), run_dir, requests, loop_seconds)
        except WorkerError as exc:  # the stack still goes down; one line says what failed
            typer.echo(f"{exc.detail}\n" if exc.detail else "", err=True)
            failed = f"demo failed in the loop: {exc}"
        except Exception as exc:
            failed = f"demo failed in the loop: {type(exc).__name__}: {exc}"
    typer.echo(json.dumps({"stack": "stopped"}))
    if failed:
        typer.echo(failed, err=True)
        raise typer.Exit(1)


def _loop(settings: Settings, run_dir: Path, requests: float, seconds: float) -> None:
    """The loop demo: its live view each second, then its plot."""
    from adcraft.services.demo.loop import LoopDemo
    from adcraft.services.demo.loop_view import model_copy_share
    from adcraft.services.demo.plot import plot_loop
    from adcraft.services.demo.view import clear_screen
    from adcraft.services.experiments import report

    typer.echo(
        f"\nrequest worker + reward worker + ad server at {requests:.0f} requests/s "
        f"for {seconds:.0f}s (starting the request worker...)"
    )
    job = LoopDemo(settings, run_dir, requests, seconds)
    for view in job.run():
        typer.echo(clear_screen())
        typer.echo(view)
    answered = len(job.tally.served)
    typer.echo(f"\nanswered {answered} of {len(job.tally.sent)} requests; request worker stopped")
    end = max((s.received_s for s in job.tally.served.values()), default=0.0)
    last = job.tally.window(end - 20, end + 1)
    typer.echo(
        f"model copy in the last 20 s: {model_copy_share(last):.0%} of the answers "
        "(the control's answers carry templates)"
    )
    typer.echo(f"plot    {plot_loop(job.history, run_dir / 'loop.png')}")
    page, result = job.report(run_dir / "experiment.html")
    typer.echo(f"\n{report.table(result)}")
    typer.echo(f"report  {page} (readout as JSON: {page.with_suffix('.json')})")
