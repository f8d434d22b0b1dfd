"""The request worker as a process: logs, probes, signals, and an exit code that says how it
ended (0 stopped on request, 1 fatal: one log line says why)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from prometheus_client import CollectorRegistry

from adcraft.services.request_worker.app import build
from adcraft.services.request_worker.worker import RequestWorker
from adcraft.shared.adapters import experiment_registry
from adcraft.shared.contract.topics import RequestTopics
from adcraft.shared.runtime import logs
from adcraft.shared.runtime.errors import FatalError
from adcraft.shared.runtime.probes import ProbeServer
from adcraft.shared.runtime.settings import Settings

log = logging.getLogger("adcraft.requests")
CATALOG_WAIT_S = 60.0


def serve(settings: Settings) -> int:
    """Run the worker until SIGTERM/SIGINT; return the process exit code."""
    logs.configure(settings.log_level)
    for warning in settings.plaintext_credentials():
        logs.record(log, logging.WARNING, "plaintext_credentials", detail=warning)
    try:
        return asyncio.run(_run(settings, RequestTopics()))
    except Exception as exc:
        logs.record(log, logging.CRITICAL, "fatal", error=f"{type(exc).__name__}: {exc}")
        return 1


async def _run(settings: Settings, topics: RequestTopics) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = RequestWorker(settings, topics, registry := CollectorRegistry())
    probes = ProbeServer(settings.metrics_address, registry, worker.live, worker.ready).start()
    try:
        worker.start()
        # Requests for an ad the feed has not read yet would be dead-lettered as unknown.
        waited = 0.0
        while not worker.feed.caught_up.is_set() and not stop.is_set():
            if worker.feed.error or waited > CATALOG_WAIT_S:
                raise FatalError(f"catalogue not read: {worker.feed.error or 'timed out'}")
            await asyncio.sleep(0.1)
            waited += 0.1
        if not await experiment_registry.register(worker.redis, settings.experiment):
            logs.record(log, logging.WARNING, "experiment_unchecked", name=settings.experiment.name)
        await worker.warm_up()
        app = build(settings, worker)
        await app.start()
        # Start-up objects (torch-free, but faust, gRPC and pydantic) leave the collector's
        # view: a full collection walking them stalls requests (see bench combos).
        gc.freeze()
        logs.record(log, logging.INFO, "serving", ads=len(worker.listings))
        while not stop.is_set() and worker.failed is None and not app.should_stop:
            await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=0.5)
        logs.record(log, logging.INFO, "stopping")
        await asyncio.wait_for(app.stop(), settings.requests.shutdown_timeout_s)
    finally:
        probes.close()
        await asyncio.wait_for(worker.close(), 10)
    if worker.failed:
        logs.record(log, logging.CRITICAL, "fatal", error=worker.failed)
        return 1
    return 0
