"""Benchmarks: scripts that print figures (``adcraft bench <name>``); never tests."""
