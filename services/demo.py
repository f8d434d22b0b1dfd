"""The local demo: real services, the reward worker, synthetic traffic, converging scores."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from services.reward_updater.app import RewardWorker
from services.simulator.streams import live_traffic
from services.simulator.world import SyntheticWorld
from shared import codec, kafka, score_store, topics
from shared.copy_client import CopyBrief, CopyClient, WrittenCopy
from shared.events import ClickRecorded, ElementScored
from shared.segments import SEGMENTS
from shared.settings import RewardSettings, Settings
from shared.triton_client import TritonClient

DEMO_BRIEF = CopyBrief(
    "dress",
    "Dresses",
    ("flowy", "soft"),
    "adult",
    "warm",
    "urgent",
    "description",
    "The fabric is light and it moves beautifully.",
)
# Attribution windows short enough for negatives to appear within a demo's seconds.
DEMO_REWARDS = RewardSettings(click_window_ms=2_000, conversion_window_ms=10_000, hold_ms=2_000)


def smoke(settings: Settings) -> Iterator[str]:
    """Round-trip an event through Kafka, a score through Redis and a call through Triton."""
    kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
    now = int(time.time() * 1000)
    click = ClickRecorded(
        event_id=uuid.uuid4().hex, ts_ms=now, ad_id="ad-demo", request_id="req-1", user_id="user-1"
    )
    producer = kafka.producer(settings.kafka)
    producer.produce(topics.CLICKS, key=click.key(), value=codec.encode(click))
    producer.flush(10)
    consumer = kafka.consumer(settings.kafka, f"demo-{uuid.uuid4().hex[:6]}")
    consumer.subscribe([topics.CLICKS])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            echoed = codec.decode(message.value(), ClickRecorded)
            yield f"kafka   {topics.CLICKS} round-trip ok: {echoed.event_id == click.event_id}"
            break
    consumer.close()
    store = score_store.ScoreStore(score_store.client(settings.redis))
    score = ElementScored(
        event_id="s1",
        ts_ms=now,
        ad_id="ad-demo",
        segment="all",
        slot="title",
        element_id="t1",
        score=0.12,
        uncertainty=0.03,
        observations=40,
        model_version="demo",
    )
    store.write([score])
    yield f"redis   score round-trip ok: {store.read('ad-demo', 'all')[('title', 't1')] == score}"
    rank = asyncio.run(_sample(settings))
    yield f"triton  element_sampler ranked [0.1, 0.9, 0.5] as {rank}"
    written = asyncio.run(_write_copy(settings))
    yield f"triton  copy_generator wrote: {' | '.join(written.texts)}"


async def _sample(settings: Settings) -> list[int]:
    client = TritonClient(settings.triton)
    try:
        mean = np.array([[0.1, 0.9, 0.5]], np.float32)
        out = await client.infer(
            "element_sampler", {"MEAN": mean, "STD": np.zeros_like(mean)}, ["RANK"]
        )
        return out["RANK"][0].tolist()
    finally:
        await client.close()


async def _write_copy(settings: Settings) -> WrittenCopy:
    client = TritonClient(settings.triton)
    try:
        copy = CopyClient(client, settings.triton.copy_timeout_s)
        (written,) = await copy.write([DEMO_BRIEF], variants=2)
        return written
    finally:
        await client.close()


class RewardDemo:
    """Synthetic traffic into the reward worker, watched through Redis."""

    def __init__(self, settings: Settings, events_per_s: float, seconds: float) -> None:
        self.settings = settings.model_copy(update={"rewards": DEMO_REWARDS})
        self.world = SyntheticWorld.create(ads=2, seed=0)
        self.events_per_s, self.seconds = events_per_s, seconds
        self.store = score_store.ScoreStore(score_store.client(settings.redis))
        self.history: list[tuple[float, float, dict[str, float]]] = []
        self.stop = threading.Event()

    def run(self, out: Path) -> Iterator[str]:
        """Yield a terminal view each second; write the convergence plot at the end."""
        worker = RewardWorker(self.settings, self.world.catalog)
        threads = [
            threading.Thread(target=worker.run, args=(self.stop,)),
            threading.Thread(target=self._produce, daemon=True),
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        try:
            while threads[1].is_alive():
                time.sleep(1.0)
                yield self._view(time.monotonic() - started)
        finally:
            self.stop.set()
            threads[0].join(30)
        yield f"plot    {plot(self.history, out)}"

    def _produce(self) -> None:
        producer = kafka.producer(self.settings.kafka, **{"linger.ms": 5})
        for event in live_traffic(self.world, self.events_per_s, self.seconds):
            if self.stop.is_set():
                break
            producer.produce(event.topic, key=event.key(), value=codec.encode(event))
            producer.poll(0)
        producer.flush(10)

    def _view(self, elapsed: float) -> str:
        scores = {
            (ad, segment): self.store.read(ad, segment)
            for ad in self.world.catalog.ads
            for segment in SEGMENTS
        }
        rho = self.world.ranking_agreement(
            lambda ad, segment: {key: s.score for key, s in scores[ad, segment].items()}
        )
        lines = []
        titles: dict[str, float] = {}
        watched = scores["ad0", "young"]
        for slot, elements in self.world.catalog.ads["ad0"].items():
            if not all((slot, e) in watched for e in elements):
                continue
            ranked = sorted(elements, key=lambda e: -watched[slot, e].score)
            best = max(elements, key=lambda e: self.world.element_effect("ad0", "young", slot, e))
            shown = "  ".join(
                f"{e}:{watched[slot, e].score:.3f}±{watched[slot, e].uncertainty:.3f}"
                for e in ranked
            )
            lines.append(f"  {slot:<9} {shown}   (truly best: {best})")
            if slot == "title":
                titles = {e: watched[slot, e].score for e in elements}
        self.history.append((elapsed, rho, titles))
        header = f"t={elapsed:5.1f}s  Spearman(learned, true element effects) = {rho:.3f}"
        return "\n".join([header, "  ad0 / segment young, elements by learned score:", *lines])


def plot(history: list[tuple[float, float, dict[str, float]]], out: Path) -> Path:
    """Spearman over time and ad0/young title scores over time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    times = [t for t, _, _ in history]
    left.plot(times, [rho for _, rho, _ in history], marker="o")
    left.set(
        title="Ranking vs ground truth", xlabel="seconds", ylabel="Spearman rho", ylim=(-0.2, 1.05)
    )
    left.axhline(0.9, linestyle="--", color="grey")
    for element in sorted({e for _, _, titles in history for e in titles}):
        right.plot(times, [titles.get(element, np.nan) for _, _, titles in history], label=element)
    right.set(title="ad0 / young: title scores", xlabel="seconds", ylabel="P(click)")
    right.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def clear_screen() -> str:
    """ANSI clear when writing to a terminal, else a separator."""
    return "\x1b[2J\x1b[H" if sys.stdout.isatty() else "-" * 72
