"""``adcraft train copy``: fine-tune the copy model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adcraft.services.cli.options import refuse

app = typer.Typer(help="Train models.", no_args_is_help=True)


@app.command("copy")
def train_copy(
    steps: int = 160,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    sentiment_weight: float = 1.0,
    diversity_weight: float = 1.0,
    cta_weight: float = 1.0,
    sample_every: Annotated[
        int, typer.Option(help="Steps between rounds of sampled copy for the diversity term.")
    ] = 2,
    max_products: Annotated[int | None, typer.Option(help="Train on fewer products.")] = None,
    seed: int = 0,
    name: Annotated[
        str, typer.Option(help="What the run is called: latest (served) or an ablation's name.")
    ] = "latest",
) -> None:
    """LoRA fine-tuning with the multi-objective loss; exports copy/<name>."""
    from adcraft.services.copywriter.objectives import LossWeights
    from adcraft.services.copywriter.train import TrainConfig, train
    from adcraft.shared.runtime.settings import Settings

    weights = LossWeights(sentiment_weight, diversity_weight, cta_weight)
    config = TrainConfig(
        steps,
        batch_size,
        learning_rate,
        max_products=max_products,
        seed=seed,
        sample_every=sample_every,
        weights=weights,
    )
    train(Settings().copywriter, config, typer.echo, name)


@app.command("combos")
def train_combos(
    steps: int = 1_500,
    seed: int = 0,
    snapshot: Annotated[
        bool, typer.Option(help="Also train on the live reward model's posteriors in Redis.")
    ] = False,
    model_dir: Annotated[Path, typer.Option(help="The Triton model's folder.")] = Path(
        "model_repo/combination_generator"
    ),
) -> None:
    """RL against the reward model's posterior; exports the generator's next version."""
    from adcraft.services.combinations.reinforce import TrainConfig
    from adcraft.services.combinations.training_run import run
    from adcraft.shared.runtime.settings import Settings

    try:
        folder = run(
            TrainConfig(steps=steps, seed=seed),
            Settings() if snapshot else None,
            model_dir,
            typer.echo,
        )
    except ValueError as exc:
        refuse("train", exc)
    typer.echo(f"exported {folder}")
