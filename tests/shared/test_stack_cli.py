"""``adcraft stack up|status|down`` as a user runs them: separate processes, real services."""

import os
import subprocess
import sys

import orjson

from adcraft.services.stack.process import alive, port_open


def _adcraft(*args, check=True):
    return subprocess.run(
        [sys.executable, "-m", "adcraft.services.cli", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=240,
    )


def test_up_status_down_leaves_nothing_behind(stack_dir):
    run_dir = str(stack_dir)
    try:
        up = _adcraft("stack", "up", "--run-dir", run_dir, "--model", "element_sampler")
        assert "export ADCRAFT_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:" in up.stdout
        status = _adcraft("stack", "status", "--run-dir", run_dir)
        lines = status.stdout.strip().splitlines()
        assert [line.split()[:2] for line in lines] == [
            ["broker", "healthy"],
            ["redis", "healthy"],
            ["triton", "healthy"],
        ]
        state = orjson.loads((stack_dir / "state.json").read_bytes())
    finally:
        _adcraft("stack", "down", "--run-dir", run_dir)
    assert not any(alive(entry["pid"]) for entry in state.values())
    ports = [port for entry in state.values() for port in entry["ports"].values()]
    assert not any(port_open(port) for port in ports)
    assert _adcraft("stack", "status", "--run-dir", run_dir, check=False).returncode == 1
    assert not os.path.exists(stack_dir / "state.json")
