"""``adcraft demo``: the local stack, the smoke round-trip and the reward demo, wired."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from services.cli.options import RunDir
from services.cli.stack import print_status


def demo(
    run_dir: RunDir = Path(".adcraft/demo"), seconds: float = 30.0, load: float = 2_000.0
) -> None:
    """The main job: local stack up, synthetic traffic through the reward worker, element
    scores converging live, a plot at the end, stack down."""
    from services.demo.plot import plot
    from services.demo.rewards import RewardDemo
    from services.demo.smoke import smoke
    from services.demo.view import clear_screen
    from shared import logs
    from shared.settings import Settings
    from shared.stack import Stack

    logs.configure("WARNING")  # the worker's warnings, as JSON lines, beside the live view
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
    typer.echo(json.dumps({"stack": "stopped"}))
