"""Workers as processes for tests: pointed at a test's stack, quick to give up partitions
when killed, a catalogue file when the test hands one."""

from __future__ import annotations

from pathlib import Path

import orjson

from adcraft.services.stack.process import free_port
from adcraft.services.stack.worker import WorkerProcess
from adcraft.shared.contract.catalog import AdCatalog
from adcraft.shared.runtime.settings import Settings


def launch(
    settings: Settings,
    run_dir: Path,
    verb: str = "rewards",
    catalog: AdCatalog | None = None,
    **env: str,
) -> WorkerProcess:
    """``adcraft worker VERB`` for ``settings`` (not started); the reward worker reads
    ``catalog`` from a file, else the catalogue topic's listings at start-up."""
    name = f"{verb}-{free_port()}"
    catalog_path = None
    if catalog is not None:
        catalog_path = run_dir / f"catalog-{name}.json"
        catalog_path.write_bytes(orjson.dumps(catalog.model_dump()))
    process = settings.model_copy(
        update={
            # A killed member holds its partitions until its session expires.
            "kafka": settings.kafka.model_copy(update={"session_timeout_ms": 3_000}),
            "rewards": settings.rewards.model_copy(
                update={"catalog_path": catalog_path and str(catalog_path)}
            ),
        }
    )
    return WorkerProcess(process, verb, run_dir / f"worker-{name}.log", **env)


def assignments(worker: WorkerProcess) -> int:
    """How many times a process of ``worker`` was given partitions."""
    return sum(1 for line in worker.lines() if line["event"] == "assigned")


def rss_peak_mb(worker: WorkerProcess) -> float:
    """The peak resident memory of ``worker``'s running process."""
    assert worker.proc is not None
    status = Path(f"/proc/{worker.proc.pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024
