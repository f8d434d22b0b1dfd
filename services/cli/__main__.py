"""``python -m services.cli``: the ``adcraft`` command line, as tests launch the worker."""

from services.cli import app

app()
