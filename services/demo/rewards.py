"""The reward demo: synthetic traffic into the reward worker, watched through Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from adcraft.services.demo.view import Snapshot, render
from adcraft.services.reward_updater.app import RewardWorker
from adcraft.services.simulator.streams import SHORT_WINDOWS, live_traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.adapters import kafka, redis_client, score_store
from adcraft.shared.contract import codec
from adcraft.shared.contract.segments import SEGMENTS
from adcraft.shared.runtime.settings import Settings


class RewardDemo:
    """Synthetic traffic into the reward worker, watched through Redis."""

    def __init__(self, settings: Settings, events_per_s: float, seconds: float) -> None:
        self.settings = settings.model_copy(update={"rewards": SHORT_WINDOWS})
        self.world = SyntheticWorld.create(ads=2, seed=0)
        self.events_per_s, self.seconds = events_per_s, seconds
        self.store = score_store.ScoreStore(redis_client.client(settings.redis))
        self.history: list[Snapshot] = []
        self.stop = threading.Event()

    def run(self) -> Iterator[str]:
        """Yield a terminal view each second until the traffic ends; ``history`` keeps them."""
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
        text, snapshot = render(self.world, scores, elapsed)
        self.history.append(snapshot)
        return text
