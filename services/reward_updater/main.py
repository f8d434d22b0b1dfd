"""The reward worker as a process: logs, probes, signals, and an exit code that says how
it ended (0 stopped on request, 1 fatal error: one log line says why)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry

from services.reward_updater.app import RewardWorker
from shared import logs, topics
from shared.catalog import AdCatalog
from shared.catalog_feed import read_listings
from shared.probes import ProbeServer
from shared.settings import Settings

log = logging.getLogger("adcraft.rewards")


def serve(settings: Settings, catalog_path: Path | None) -> int:
    """Run the worker until SIGTERM/SIGINT; return the process exit code. The catalogue is
    the catalogue topic as it stands at start-up, over the file at ``catalog_path`` if given
    (a listing on the topic wins)."""
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
        catalog = _catalog(settings, catalog_path)
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


def _catalog(settings: Settings, path: Path | None) -> AdCatalog:
    """The file's ads, then the topic's listings over them; an empty catalogue is fatal."""
    ads = AdCatalog.load(path).ads if path else {}
    listed = read_listings(settings.kafka, topics.AD_CATALOG, topics.DEAD_LETTER)
    catalog = AdCatalog(ads=ads | AdCatalog.of(listed).ads)
    if not catalog.ads:
        raise RuntimeError(f"no ads: the file is empty or absent and {topics.AD_CATALOG} too")
    logs.record(log, logging.INFO, "catalogue", ads=len(catalog.ads), listed=len(listed))
    return catalog


def _hard_exit() -> None:
    logs.record(log, logging.CRITICAL, "fatal", error="shutdown did not finish in time")
    os._exit(1)
