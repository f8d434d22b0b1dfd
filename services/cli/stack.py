"""``adcraft stack up|status|down``: the local broker, Redis and Triton."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from adcraft.services.cli.options import RunDir

if TYPE_CHECKING:
    from adcraft.services.stack import Stack

app = typer.Typer(help="Local broker, Redis and Triton on 127.0.0.1.", no_args_is_help=True)
RUN_DIR = Path(".adcraft/stack")


def print_status(stack: Stack) -> bool:
    """One line per service (health, PID, ports, log); whether every service is healthy."""
    healthy = True
    for name, info in stack.status().items():
        ports = cast("dict[str, int]", info["ports"])
        listening = " ".join(f"{k}=127.0.0.1:{v}" for k, v in ports.items())
        state = "healthy" if info["healthy"] else "UNHEALTHY"
        healthy &= bool(info["healthy"])
        typer.echo(f"{name:<7} {state:<9} pid={info['pid']:<8} {listening}  log={info['log']}")
    return healthy


@app.command("up")
def stack_up(
    run_dir: RunDir = RUN_DIR,
    model: Annotated[list[str] | None, typer.Option(help="Load only these models.")] = None,
) -> None:
    """Start broker, redis-server and tritonserver; print where they listen."""
    from adcraft.services.stack import Stack
    from adcraft.shared.runtime.settings import Settings

    copy_env = Settings().copywriter.environment()
    stack = Stack(run_dir=run_dir, models=model or None, model_env=copy_env).up()
    print_status(stack)
    typer.echo("\n# point adcraft at this stack:")
    for key, value in stack.environment().items():
        typer.echo(f"export {key}={value}")


@app.command("status")
def stack_status(run_dir: RunDir = RUN_DIR) -> None:
    """Show each service's PID, ports and health; exit 1 if any is unhealthy."""
    from adcraft.services.stack import Stack

    stack = Stack(run_dir=run_dir)
    if not stack.running:
        typer.echo("stack is down")
        raise typer.Exit(1)
    if not print_status(stack):
        raise typer.Exit(1)


@app.command("down")
def stack_down(run_dir: RunDir = RUN_DIR) -> None:
    """Stop every service the stack started."""
    from adcraft.services.stack import Stack

    Stack(run_dir=run_dir).down()
    typer.echo("stack is down")
