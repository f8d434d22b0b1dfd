"""What every adcraft process runs on: settings read once, structured logs, probes, and
the error types."""
