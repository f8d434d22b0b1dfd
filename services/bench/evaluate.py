"""``adcraft bench evaluate``: a million-row sparse slate log through ``adcraft evaluate``
as a user runs it, in a child process, timed, with its peak memory."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from adcraft.services.simulator.sparse import SparseWorld


def run(rows: int, run_dir: Path, policy: str) -> dict[str, object]:
    """Write a ``rows``-row log (CSV) of a sparse world and evaluate it; wall seconds of
    reading and evaluating, and the child's peak resident memory."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"sparse-{rows}.csv"
    started = time.perf_counter()
    SparseWorld.create(seed=0).log(rows, seed=0).to_csv(path, index=False)
    written = time.perf_counter() - started
    adcraft = str(Path(sys.executable).with_name("adcraft"))
    command = [adcraft, "evaluate", str(path), "--policy", policy]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"adcraft evaluate failed: {result.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return {
        "rows": rows,
        "log_mb": round(path.stat().st_size / 2**20, 1),
        "write_seconds": round(written, 2),
        "evaluate_seconds": round(seconds, 2),
        "peak_rss_mb": round(peak, 1),
        "first_line": result.stdout.splitlines()[0],
    }
