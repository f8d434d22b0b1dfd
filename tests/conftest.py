"""Fixtures that start the real services once per session, on loopback and free ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from adcraft.services.stack import Stack
from adcraft.shared.adapters.redis_client import client as redis_connection
from adcraft.shared.runtime.settings import KafkaSettings, Settings
from tests.support.stacks import running

# Tiers follow the fixtures a test uses: one that starts a real service makes it an
# integration test; worker processes (faults, hostile input, the closed loop) and long
# seeded studies make it a system test. Everything else is the fast tier (`make check`).
STARTS_SERVICES = {
    *("broker_stack", "redis_stack", "triton_stack", "stack", "plain_stack"),
    *("copy_stack", "tls_redis", "stack_dir"),
}
SYSTEM = {"worker_process", "reward_stack", "hostile", "study"}
# Modules that write copy on the CPU: under xdist they take turns, never two at once.
WRITES_COPY = {"test_copy_generator", "test_request_worker", "test_request_stalls"}
WRITES_COPY |= {"test_demo_loop", "test_copy_evaluate"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test's tier, and puts the longest work first so that, under xdist, the
    short tests fill in at the end: the modules that write copy (one long scope), then
    modules by their slowest tier (system, integration, fast), each in collection order."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & SYSTEM:
            item.add_marker(pytest.mark.system)
        elif used & STARTS_SERVICES:
            item.add_marker(pytest.mark.integration)
    rank: dict[Path, int] = {}
    for item in items:
        rank[item.path] = min(rank.get(item.path, 3), _rank(item))
    items.sort(key=lambda item: rank[item.path])


def _rank(item: pytest.Item) -> int:
    """0 for a module that writes copy; else 1, 2 or 3 for a system, integration or fast
    test."""
    if item.path.stem in WRITES_COPY:
        return 0
    tiers = ("system", "integration")
    return next((i + 1 for i, t in enumerate(tiers) if item.get_closest_marker(t)), 3)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under xdist, a module's tests run in one process (its stacks start once), and the
    modules that write copy one after another, in one process."""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # keep the order above, not "most tests first"

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "copy" if Path(module).stem in WRITES_COPY else module

    return ByModule(config, log)


def _stack(tmp_path_factory: pytest.TempPathFactory, *services: str, **kwargs) -> Iterator[Stack]:
    yield from running(tmp_path_factory.mktemp("-".join(services)), services, **kwargs)


@pytest.fixture(scope="session")
def broker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, "broker")


@pytest.fixture(scope="session")
def redis_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, "redis")


@pytest.fixture(scope="session")
def triton_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(
        tmp_path_factory, "triton", models=["element_sampler", "combination_generator"]
    )


@pytest.fixture
def kafka_settings(broker_stack: Stack) -> KafkaSettings:
    return broker_stack.settings().kafka


@pytest.fixture
def settings(broker_stack: Stack, redis_stack: Stack) -> Settings:
    """Settings pointing at the session's broker and Redis."""
    return Settings(kafka=broker_stack.settings().kafka, redis=redis_stack.settings().redis)


@pytest.fixture
def redis_client(redis_stack: Stack) -> Iterator[redis.Redis]:
    client = redis_connection(redis_stack.settings().redis)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def unique_topic() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def unique_group() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    """The run directory of a stack the test starts and stops itself."""
    return tmp_path / "stack"


@pytest.fixture
def study(one_thread: None) -> None:
    """A long seeded study (a training run, coverage over many worlds): the system tier, on
    one torch thread so that its figures do not depend on the machine's cores."""


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Torch on one thread: the generator's tensors are so small that a second thread
    costs more than it gives, many times over on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
