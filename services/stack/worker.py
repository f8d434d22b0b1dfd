"""``adcraft worker VERB`` as a child process, for demos, benchmarks and tests: started with
a stack's settings, its probes on a free port, its JSON-line log kept in a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson

from adcraft.services.stack.process import free_port, tail
from adcraft.services.stack.services import HOST
from adcraft.shared.runtime.errors import FatalError
from adcraft.shared.runtime.settings import Settings


class WorkerError(FatalError):
    """The worker did not start, exited, or stopped unclean; ``detail`` holds its log tail."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class WorkerProcess:
    """``adcraft worker VERB`` (``rewards`` or ``requests``) pointed at ``settings``, its
    probes on a free port; ``env`` adds variables. Each start appends to ``log``."""

    def __init__(self, settings: Settings, verb: str, log: Path, **env: str) -> None:
        self.verb, self.log = verb, log
        self.port = free_port()
        address = {"metrics_address": f"{HOST}:{self.port}"}
        self.env = os.environ | settings.model_copy(update=address).environment() | env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        """Start it (again, after it exited); :meth:`ready` waits for it."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "adcraft.services.cli", "worker", self.verb],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the demo, which stops it
            )
        return self

    def ready(self, timeout_s: float = 90.0) -> WorkerProcess:
        """Wait until its /readyz says ready; raise :class:`WorkerError` if it exits or
        takes longer than ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.get("/readyz", timeout_s=1.0)[0] != 200:
            self.check()
            if time.monotonic() > deadline:
                raise WorkerError(
                    f"{self.verb} worker not ready after {timeout_s:.0f}s", tail(self.log)
                )
            time.sleep(0.2)
        return self

    def check(self) -> None:
        """Raise :class:`WorkerError` if it exited."""
        if self.proc is not None and (code := self.proc.poll()) is not None:
            raise WorkerError(f"{self.verb} worker exited with {code}", tail(self.log))

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL (a paused process too) and reap it."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM and wait: the exit code (0: it flushed and stopped cleanly); past
        ``timeout_s`` it is killed (a shutdown never hangs) and the code says so."""
        if not self.running():
            return self.proc.returncode if self.proc else 0
        self.signal(signal.SIGTERM)
        try:
            return self.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.wait(10)

    def stop_cleanly(self, timeout_s: float = 60.0) -> None:
        """:meth:`stop`, raising :class:`WorkerError` unless it exited 0."""
        if (code := self.stop(timeout_s)) != 0:
            raise WorkerError(f"{self.verb} worker stopped with exit code {code}", tail(self.log))

    def get(self, path: str, timeout_s: float = 2.0) -> tuple[int, str]:
        """Status and body of one of its HTTP endpoints (status 0: no answer)."""
        url = f"http://{HOST}:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def lines(self) -> list[dict]:
        """Its JSON log lines (librdkafka's own lines are skipped)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
