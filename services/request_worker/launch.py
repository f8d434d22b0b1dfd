"""``adcraft worker requests`` as a child process of a demo or a benchmark: started with a
stack's settings, ready when its /readyz says so, stopped with SIGTERM (exit code checked)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.settings import Settings
from shared.stack.process import free_port, tail

READY_S = 90.0


class WorkerError(RuntimeError):
    """The worker did not start, exited, or stopped unclean; ``detail`` holds its log tail."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class RequestWorkerProcess:
    """``adcraft worker requests`` as a child process, its log in ``log``."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        address = {"metrics_address": f"127.0.0.1:{self.port}"}
        self.env = os.environ | settings.model_copy(update=address).environment()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RequestWorkerProcess:
        """Start it and wait until it is ready (its catalogue read, Kafka joined)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:  # this run's log only
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "worker", "requests"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the demo, which stops it
            )
        deadline = time.monotonic() + READY_S
        while not self._ready():
            self.check()
            if time.monotonic() > deadline:
                raise WorkerError(f"request worker not ready after {READY_S:.0f}s", self.tail())
            time.sleep(0.2)
        return self

    def check(self) -> None:
        """Raise if it exited."""
        if self.proc is not None and (code := self.proc.poll()) is not None:
            raise WorkerError(f"request worker exited with {code}", self.tail())

    def stop(self, check: bool = True, timeout_s: float = 60.0) -> None:
        """SIGTERM and wait; with ``check``, raise unless it stopped cleanly (exit 0)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        if check and code != 0:
            raise WorkerError(f"request worker stopped with exit code {code}", self.tail())

    def tail(self) -> str:
        return tail(self.log)

    def metrics(self) -> str:
        """Its Prometheus text."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as page:
            return str(page.read().decode())

    def _ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return bool(response.status == 200)
        except OSError:
            return False
