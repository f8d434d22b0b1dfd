"""``python -m adcraft.services.cli``: the ``adcraft`` command line, as tests launch the worker."""

from adcraft.services.cli import app

app()
