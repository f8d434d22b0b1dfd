"""adcraft's workers and command-line entry points."""
