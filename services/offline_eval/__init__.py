"""Offline policy evaluation from logged bandit feedback (``adcraft evaluate``)."""
