"""The local stack: start, inspect and stop broker, Redis and Triton as one unit.

State (PIDs, ports, log paths) lives in ``<run_dir>/state.json`` so that
``adcraft stack down`` in another process stops exactly what ``stack up`` started.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from adcraft.services.stack import process, services
from adcraft.services.stack.process import StackError
from adcraft.shared.runtime.settings import KafkaSettings, RedisSettings, Settings, TritonSettings

ALL_SERVICES = ("broker", "redis", "triton")


@dataclass
class Running:
    """A started service."""

    name: str
    pid: int
    ports: dict[str, int]
    log: str


class Stack:
    """Real services on 127.0.0.1 and free ports; usable as a context manager."""

    def __init__(
        self,
        run_dir: Path = Path(".adcraft/stack"),
        model_repo: Path = Path("model_repo"),
        models: list[str] | None = None,
        services: tuple[str, ...] = ALL_SERVICES,
        gpu: bool | None = None,
        redis_persistent: bool = False,
        model_env: dict[str, str] | None = None,
    ) -> None:
        self.run_dir = run_dir.resolve()
        self.model_repo = model_repo
        self.models = models
        self.wanted = services
        self.gpu = gpu
        self.redis_persistent = redis_persistent
        self.model_env = model_env or {}
        self.running: dict[str, Running] = self._load()

    @property
    def state_file(self) -> Path:
        return self.run_dir / "state.json"

    def _load(self) -> dict[str, Running]:
        if not self.state_file.exists():
            return {}
        raw = orjson.loads(self.state_file.read_bytes())
        return {name: Running(**entry) for name, entry in raw.items()}

    def _save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        data = {name: asdict(entry) for name, entry in self.running.items()}
        self.state_file.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))

    def _launch(self, name: str, ports: dict[str, int] | None = None) -> services.Launch:
        port = next(iter(ports.values())) if ports else None
        if name == "broker":
            return services.broker(self.run_dir, port)
        if name == "redis":
            return services.redis_server(self.run_dir, self.redis_persistent, port)
        if name == "triton":
            gpu = services.gpu_available() if self.gpu is None else self.gpu
            cache = self.run_dir.parent / "cache"
            return services.triton(
                self.run_dir, cache, self.model_repo, self.models, gpu, self.model_env, ports
            )
        raise StackError(f"unknown service {name!r}; choose from {ALL_SERVICES}")

    def start(self, name: str, ports: dict[str, int] | None = None) -> Running:
        """Start one service (or return it if it already runs) and wait until it is ready,
        on ``ports`` (as :attr:`Running.ports` names them) when given."""
        current = self.running.get(name)
        if current and process.alive(current.pid):
            return current
        launch = self._launch(name, ports)
        log = self.run_dir / "logs" / f"{name}.log"
        pid = process.spawn(launch.argv, log, launch.env)
        port_name, ready = services.READY[name]
        port = launch.ports[port_name]
        process.wait_ready(name, pid, lambda: ready(port), log, launch.timeout_s)
        self.running[name] = Running(name, pid, launch.ports, str(log))
        self._save()
        return self.running[name]

    def stop(self, name: str) -> None:
        """Stop one service by PID and forget it."""
        entry = self.running.pop(name, None)
        if entry:
            process.stop(entry.pid)
        self._save()

    def restart(self, name: str) -> Running:
        """Stop a service and start it again on the same ports (in-memory services come
        back empty: what fault tests need)."""
        ports = self.running[name].ports
        self.stop(name)
        return self.start(name, ports)

    def up(self) -> Stack:
        """Start every wanted service; on failure stop what was started."""
        try:
            for name in self.wanted:
                self.start(name)
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """Stop every running service (Triton first: its clients are gone by then)."""
        for name in reversed(ALL_SERVICES):
            with contextlib.suppress(StackError):
                self.stop(name)
        self.state_file.unlink(missing_ok=True)

    def status(self) -> dict[str, dict[str, object]]:
        """PID, ports and health of each known service."""
        report: dict[str, dict[str, object]] = {}
        for name, entry in self.running.items():
            port_name, ready = services.READY[name]
            healthy = False
            if process.alive(entry.pid):
                with contextlib.suppress(Exception):
                    healthy = ready(entry.ports[port_name])
            report[name] = {
                "pid": entry.pid,
                "ports": entry.ports,
                "healthy": healthy,
                "log": entry.log,
            }
        return report

    def settings(self) -> Settings:
        """Settings that point every adapter at this stack."""
        host = services.HOST
        values: dict[str, object] = {}
        if "broker" in self.running:
            port = self.running["broker"].ports["kafka"]
            values["kafka"] = KafkaSettings(
                bootstrap_servers=f"{host}:{port}", session_timeout_ms=6000
            )
        if "redis" in self.running:
            values["redis"] = RedisSettings(port=self.running["redis"].ports["redis"])
        if "triton" in self.running:
            ports = self.running["triton"].ports
            values["triton"] = TritonSettings(
                grpc_url=f"{host}:{ports['grpc']}", http_url=f"{host}:{ports['http']}"
            )
        return Settings.model_validate(values)

    def environment(self) -> dict[str, str]:
        """``ADCRAFT_*`` variables that make ``Settings()`` point at this stack."""
        return self.settings().environment()

    def __enter__(self) -> Stack:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()
