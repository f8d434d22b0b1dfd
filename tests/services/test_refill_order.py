"""The pools' writer takes what requests ask for first, even a job the sweep queued before."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from adcraft.services.request_worker.metrics import RequestMetrics
from adcraft.services.request_worker.parts import Parts
from adcraft.services.request_worker.refill import Refiller
from adcraft.services.request_worker.responder import Refill
from adcraft.shared.runtime.settings import Settings


class _Recorded(Refiller):
    """Writes nothing: records the order jobs are taken in."""

    def __init__(self) -> None:
        metrics = RequestMetrics(CollectorRegistry(), lambda: 0.0)
        super().__init__(Settings(), Parts(None, None, None, metrics))  # type: ignore[arg-type]
        self.written: list[Refill] = []

    async def refill(self, job: Refill) -> None:
        self.written.append(job)


def _drain(refiller: Refiller) -> None:
    async def run() -> None:
        task = asyncio.create_task(refiller.run())
        while refiller.pending:
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(run())


def test_a_request_moves_a_swept_job_to_the_front_and_it_is_written_once():
    refiller = _Recorded()
    swept = [("ad0", "adult", "warm"), ("ad0", "young", "warm"), ("ad1", "adult", "warm")]
    for job in swept:
        refiller.ask(job, sweep=True)
    refiller.ask(swept[2])  # a request found this pool thin
    refiller.ask(swept[2])  # ... and another: coalesced
    refiller.ask(swept[0], sweep=True)  # the sweep again: already queued
    _drain(refiller)
    assert refiller.written == [swept[2], swept[0], swept[1]]
