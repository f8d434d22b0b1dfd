"""The pools' writer takes what requests ask for first, even a job the sweep queued before,
and rewrites, in the background, the pools another version of the copy model wrote."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from adcraft.services.copywriter.weights import version
from adcraft.services.request_worker import copy_choice
from adcraft.services.request_worker.metrics import RequestMetrics
from adcraft.services.request_worker.parts import Parts
from adcraft.services.request_worker.refill import Refiller
from adcraft.services.request_worker.responder import Refill
from adcraft.shared.adapters.catalog_feed import Listings
from adcraft.shared.adapters.copy_client import WrittenCopy
from adcraft.shared.contract.copy_pool import Pool, Pooled, facts
from adcraft.shared.contract.events import AdListed
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


AD = AdListed(
    event_id="e",
    ts_ms=0,
    ad_id="ad0",
    product_id="p",
    product="dress",
    department="Dresses",
    attributes=["soft"],
    slots={"copy": ["warm/direct"]},
)


class _Model:
    """The copy model behind the gateway: answers as ``version``, one token or a pool."""

    def __init__(self, serving: str) -> None:
        self.version, self.asked = serving, []

    async def write(self, briefs, variants, seeds, timeout_s, max_tokens=40):
        self.asked.append(max_tokens)
        text = f"Our soft dress, by {self.version}. Shop now." if max_tokens > 1 else ""
        return [WrittenCopy([text] if text else [], [], max_tokens, self.version)]


class _Pools:
    """Redis: every pool of ``AD`` full, written by ``model``."""

    def __init__(self, model: str) -> None:
        self.kept: dict[Refill, Pool] = {}
        for segment in ("young", "adult", "senior"):
            brief = copy_choice.brief(AD, segment, "warm/direct")
            variants = [("v-1", "A soft dress. Shop now."), ("v-2", "Our dress. Buy it.")]
            self.kept["ad0", segment, "warm/direct"] = Pool(model, facts(brief), 0, variants)

    async def pools(self, ad_id, segments, styles) -> list[Pooled]:
        return [(self.kept.get((ad_id, g, s)), {}) for g in segments for s in styles]

    async def write_pool(self, ad_id, segment, style, pool) -> None:
        self.kept[ad_id, segment, style] = pool


def test_pools_another_model_version_wrote_are_rewritten_in_the_background(tmp_path):
    served = ("adapter_config.json", "adapter_model.safetensors", "corpus.txt", "phrases.txt")
    for name in served:
        (tmp_path / name).write_text(name)
    old = version(tmp_path)
    (tmp_path / "adapter_model.safetensors").write_text("retrained")
    assert version(tmp_path) != old and version(tmp_path).startswith("adapter-")
    model, store = _Model(version(tmp_path)), _Pools(old)
    metrics = RequestMetrics(CollectorRegistry(), lambda: 0.0)
    settings = Settings(requests={"pool_sweep_s": 0.01, "model_check_s": 3600})
    refiller = Refiller(settings, Parts(Listings([AD]), store, model, metrics))  # type: ignore[arg-type]

    outdated = metrics.pools_due.labels("outdated")
    seen: set[float] = set()

    async def run() -> None:
        tasks = [asyncio.create_task(refiller.sweep()), asyncio.create_task(refiller.run())]
        # Until a sweep found the three pools outdated, and a later one none.
        while 3.0 not in seen or outdated._value.get() > 0:
            await asyncio.sleep(0.01)
            seen.add(outdated._value.get())
        for task in tasks:
            task.cancel()

    asyncio.run(asyncio.wait_for(run(), 10))
    assert {p.model for p in store.kept.values()} == {model.version}
    assert all("by adapter-" in p.variants[0][1] for p in store.kept.values())
    # It asked the model its version (one token) once, then wrote each pool once.
    assert model.asked == [1, 40, 40, 40]
