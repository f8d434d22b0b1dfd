"""Start, probe and stop server processes by PID, with logs captured to files."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from adcraft.shared.runtime.errors import FatalError


class StackError(FatalError):
    """A service failed to start or to become ready in time."""


# Kept until they exit: a dropped Popen of a running child joins subprocess's list of
# orphans, which the next Popen made by any thread reaps, so a caller's waitpid on the PID
# would find no child.
_children: dict[int, subprocess.Popen[bytes]] = {}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def minimal_env() -> dict[str, str]:
    """PATH and HOME only: a service must not inherit its caller's secrets."""
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(Path.home())}


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start ``argv`` in its own session (so it outlives the caller); return its PID.

    The process gets exactly ``env`` (:func:`minimal_env` when None), never the caller's
    environment.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=minimal_env() if env is None else env,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    return proc.pid


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (reaping it first if it is our exited child)."""
    if (child := _children.get(pid)) is not None:
        if child.poll() is None:
            return True
        del _children[pid]
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_ready(
    name: str, pid: int, ready: Callable[[], bool], log_path: Path, timeout_s: float
) -> None:
    """Poll ``ready`` until it holds; raise with the log tail if the process dies or stalls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            raise StackError(f"{name} exited during start-up:\n{tail(log_path)}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.05)
    stop(pid)
    raise StackError(f"{name} not ready after {timeout_s:.0f}s:\n{tail(log_path)}")


def stop(pid: int, timeout_s: float = 15.0) -> None:
    """SIGTERM the process group of ``pid``; SIGKILL it if it outlives ``timeout_s``."""
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)
    raise StackError(f"process {pid} survived SIGKILL")


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
