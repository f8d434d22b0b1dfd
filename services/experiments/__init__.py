"""Experiments: arm assignment for serving (pure); analysis comes with the reports."""
