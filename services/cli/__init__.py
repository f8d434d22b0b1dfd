"""The ``adcraft`` command line: wiring only; the work lives in the modules it calls.

One module per verb group. Commands import what they run inside their bodies, so that
``adcraft --help`` and every command start without loading the services behind the others.
"""

from __future__ import annotations

import typer

from adcraft.services.cli import (
    bench,
    catalog,
    demo,
    evaluate,
    experiment,
    models,
    pools,
    schemas,
    stack,
    train,
    workers,
)

app = typer.Typer(help="adcraft: real-time creative personalization.", no_args_is_help=True)
app.command()(evaluate.evaluate)
app.command()(demo.demo)
app.add_typer(stack.app, name="stack")
app.add_typer(schemas.app, name="schemas")
app.add_typer(bench.app, name="bench")
app.add_typer(workers.app, name="worker")
app.add_typer(catalog.app, name="catalog")
app.add_typer(pools.app, name="copy")
app.add_typer(train.app, name="train")
app.add_typer(evaluate.app, name="eval")
app.add_typer(models.app, name="models")
app.add_typer(experiment.app, name="experiment")
