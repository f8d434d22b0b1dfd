"""Services started by the stack get a minimal environment, never the caller's secrets."""

import os
from pathlib import Path

import pytest

from adcraft.services.stack import Stack, process, services

SECRET = "S3cr3t-in-the-caller-only"


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode()
    return dict(entry.split("=", 1) for entry in raw.split("\0") if entry)


@pytest.mark.parametrize("service", ["broker", "redis"])
def test_a_started_service_does_not_inherit_secrets(stack_dir, monkeypatch, service):
    monkeypatch.setenv("ADCRAFT_REDIS__PASSWORD", SECRET)
    with Stack(run_dir=stack_dir, services=(service,)) as stack:
        environ = _environ(stack.running[service].pid)
    assert set(environ) == {"PATH", "HOME"}
    assert SECRET not in "".join(environ.values())


def test_spawn_without_env_passes_only_path_and_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ADCRAFT_REDIS__PASSWORD", SECRET)
    log = tmp_path / "env.log"
    pid = process.spawn(["/usr/bin/env"], log)
    os.waitpid(pid, 0)
    names = {line.split("=", 1)[0] for line in log.read_text().splitlines()}
    assert names == {"PATH", "HOME"}


def test_triton_gets_only_what_it_needs_and_the_model_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ADCRAFT_REDIS__PASSWORD", SECRET)
    monkeypatch.setattr(services, "_python_backend", lambda cache_dir: cache_dir)
    model_env = {"ADCRAFT_COPYWRITER__MODELS_DIR": "/models"}
    launch = services.triton(tmp_path, tmp_path, tmp_path, None, False, model_env)
    assert set(launch.env) == {"PATH", "HOME", "LD_LIBRARY_PATH", *model_env}
    assert SECRET not in "".join(launch.env.values())
