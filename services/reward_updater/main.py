"""The reward worker as a process: logs, probes, signals, and an exit code that says how
it ended (0 stopped on request, 1 fatal error: one log line says why)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry

from adcraft.services.reward_updater.app import RewardWorker
from adcraft.shared.contract.catalog import AdCatalog
from adcraft.shared.runtime import logs
from adcraft.shared.runtime.probes import ProbeServer
from adcraft.shared.runtime.settings import Settings

log = logging.getLogger("adcraft.rewards")


def serve(settings: Settings, catalog_path: Path | None) -> int:
    """Run the worker until SIGTERM/SIGINT; return the process exit code. Each partition
    follows its part of the catalogue topic, starting from the file at ``catalog_path`` if
    given (listings on the topic extend it)."""
    logs.configure(settings.log_level)
    for warning in settings.plaintext_credentials():
        logs.record(log, logging.WARNING, "plaintext_credentials", detail=warning)
    stop = threading.Event()

    def on_signal(signum: int, _: object) -> None:
        logs.record(log, logging.INFO, "stopping", signal=signal.Signals(signum).name)
        stop.set()
        # Shutdown never hangs: past the grace period the process ends regardless.
        timer = threading.Timer(settings.rewards.shutdown_timeout_s, _hard_exit)
        timer.daemon = True
        timer.start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    worker: RewardWorker | None = None
    try:
        catalog = _catalog(catalog_path)
        worker = RewardWorker(settings, catalog, registry := CollectorRegistry())
        probes = ProbeServer(
            settings.metrics_address, registry, worker.health.live, worker.health.ready
        )
        probes.start()
        try:
            worker.run(stop)
        finally:
            probes.close()
    except Exception as exc:
        if not (worker and worker.failed):  # the worker said it already, before closing
            logs.record(log, logging.CRITICAL, "fatal", error=f"{type(exc).__name__}: {exc}")
        return 1
    return 0


def _catalog(path: Path | None) -> AdCatalog:
    """The file's ads (none without a file: the catalogue topic lists them)."""
    catalog = AdCatalog.load(path) if path else AdCatalog()
    logs.record(log, logging.INFO, "catalogue", file_ads=len(catalog.ads))
    return catalog


def _hard_exit() -> None:
    logs.record(log, logging.CRITICAL, "fatal", error="shutdown did not finish in time")
    os._exit(1)
