"""The ``adcraft`` command tree: every verb wired into its group, and a start-up that loads
none of the services behind the commands."""

import subprocess
import sys

import typer
from typer.testing import CliRunner

from adcraft.services.cli import app

COMMANDS = {
    "evaluate": None,
    "demo": None,
    "stack": ["up", "status", "down"],
    "schemas": ["export"],
    "bench": ["broker", "rewards", "copy", "combos", "requests", "evaluate"],
    "worker": ["rewards", "requests"],
    "catalog": ["publish"],
    "copy": ["status", "review"],
    "train": ["copy", "combos"],
    "eval": ["copy", "combos"],
    "models": ["prepare"],
    "experiment": ["export", "report", "aa", "power", "coverage", "srm"],
}
HEAVY = (
    "pandas",
    "torch",
    "confluent_kafka",
    "redis",
    "adcraft.services.stack",
    "adcraft.shared.runtime.settings",
)


def test_every_group_lists_its_verbs_in_order():
    root = typer.main.get_command(app)
    context = typer.Context(root)
    assert root.list_commands(context) == list(COMMANDS)
    for name, verbs in COMMANDS.items():
        command = root.get_command(context, name)
        if verbs is not None:
            assert command.list_commands(context) == verbs, name
        result = CliRunner().invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_start_up_loads_no_service():
    code = (
        "import sys, adcraft.services.cli;"
        " print(' '.join(m for m in sys.argv[1:] if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code, *HEAVY], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.split() == []
