"""The loop demo: the ad server's requests through the request worker (a process), its
impressions and clicks through the reward worker (a thread), and back.

The loop learns from the prior: it has reward topics and a reward group of its own, and it
clears its ads' posteriors first (the reward demo learned them without copy styles).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson

from adcraft.services.demo.loop_view import LoopPoint, render
from adcraft.services.experiments import collect, export, readout, report
from adcraft.services.pools import status
from adcraft.services.pools.store import PoolStore
from adcraft.services.reward_updater.app import RewardWorker
from adcraft.services.simulator.ad_server import AdServer, Tally
from adcraft.services.simulator.listings import listings
from adcraft.services.simulator.streams import SHORT_WINDOWS
from adcraft.services.simulator.world import SEGMENTS, SyntheticWorld
from adcraft.services.stack.worker import WorkerError, WorkerProcess
from adcraft.shared.adapters import kafka, redis_client, topic_reader
from adcraft.shared.contract import codec, keys, topics
from adcraft.shared.runtime.experiment_settings import ArmSettings, ExperimentSettings
from adcraft.shared.runtime.settings import Settings

# The control is a 10 % holdout, as a shop would run one: what it serves without adcraft.
DEMO_ARMS = {
    "control": ArmSettings(share=0.1, policy="default", copy_source="template"),
    "thompson": ArmSettings(share=0.45, policy="thompson"),
    "generator": ArmSettings(share=0.45, policy="generator"),
}


class LoopError(WorkerError):
    """A part of the loop failed; the message says which, ``detail`` holds its log tail."""


class LoopDemo:
    """See the module docstring. :meth:`run` yields a view each second; ``history`` keeps
    what the plot needs, ``tally`` what the ad server sent and received."""

    def __init__(
        self,
        settings: Settings,
        run_dir: Path,
        rate: float = 100.0,
        seconds: float = 30.0,
        deadline_ms: int = 300,
        fill_s: float = 300.0,
    ) -> None:
        run = uuid.uuid4().hex[:8]  # a broker kept from an earlier run holds its topics
        self.topics = topics.RewardTopics.prefixed(f"loop-{run}")
        # The ad server, both workers and Triton share the machine: feedback batches can
        # reach the broker a second behind each other, and feedback dropped as late biased
        # what was learned (the truly-best share fell to ~3 % with the default 50 ms).
        windows = SHORT_WINDOWS.model_copy(
            update={"group_id": f"adcraft-rewards-loop-{run}", "allowed_lateness_ms": 1_000}
        )
        # An experiment of its own per run (a name may not change its arms): the catalogue's
        # default creative with template copy as the control, against both learners.
        experiment = ExperimentSettings(name=f"demo-{run}", control="control", arms=DEMO_ARMS)
        self.settings = settings.model_copy(update={"rewards": windows, "experiment": experiment})
        self.world = SyntheticWorld.create(ads=2, seed=0, copy_styles=3)
        self.log = run_dir / "logs" / "request-worker.log"
        self.rate, self.seconds, self.deadline_ms = rate, seconds, deadline_ms
        self.fill_s = fill_s
        self.history: list[LoopPoint] = []
        self.tally = Tally()
        self.stop = threading.Event()

    def run(self) -> Iterator[str]:
        """Start the loop, yield a view each second for ``seconds``, stop it: the ad server
        (draining its answers), the reward worker, the request worker (exit code checked)."""
        self._prepare()
        self.log.unlink(missing_ok=True)  # this run's log only
        worker = WorkerProcess(self.settings, "requests", self.log)
        server = AdServer(
            self.settings, self.world, self.rate, self.deadline_ms, feedback_topics=self.topics
        )
        with contextlib.ExitStack() as running:
            # Its exit code matters when all else went well; else the first failure does.
            running.push(lambda failure, *_: _stop(worker, cleanly=failure is None))
            worker.start().ready()
            yield from self._fill_pools(worker)
            rewards = RewardWorker(self.settings, self.world.catalog, topics=self.topics)
            learning = threading.Thread(target=rewards.run, args=(self.stop,), daemon=True)
            running.callback(self._stop_learning, learning)
            learning.start()
            running.callback(self._stop_serving, server)
            server.start()
            started = time.time()
            while time.time() - started < self.seconds:
                time.sleep(max(0.0, 1.0 - (time.time() - started) % 1.0))
                worker.check()
                if rewards.failed or not learning.is_alive():
                    raise LoopError("the reward worker stopped; its log line says why")
                served = server.window(started)
                text, point = render(served, time.time(), started, self.settings.experiment)
                self.history.append(point)
                yield text

    def report(self, out: Path) -> tuple[Path, dict]:
        """The experiment's report from the loop's own topics, as HTML at ``out`` and its
        readout as JSON beside it (``.json``); returns the page's path and the readout."""
        experiment = self.settings.experiment
        kinds = {
            self.topics.impressions: "impression",
            self.topics.clicks: "click",
            self.topics.conversions: "conversion",
        }
        messages = topic_reader.read_to_end(self.settings.kafka, list(kinds))
        frame, _ = collect.table(messages, kinds)
        events = export.checked(frame, frozenset(experiment.arms), experiment.name)
        result = readout.read_out(events.impressions, experiment)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.page(result))
        out.with_suffix(".json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        return out, result

    def _fill_pools(self, worker: WorkerProcess) -> Iterator[str]:
        """Wait, with a progress bar, until the request worker has written its ads' copy
        pools ahead of demand (or ``fill_s`` passed: templates then stand in)."""
        store = PoolStore(redis_client.client(self.settings.redis))
        ads = listings(self.world, 0)
        started = time.time()
        while True:
            worker.check()
            rows = status.rows(
                ads,
                store,
                self.settings.copywriter.review_required,
                self.settings.requests.copy_cache_min,
            )
            done = sum(row.state in ("hit", "no_brief") for row in rows)
            bar = "█" * round(24 * done / max(len(rows), 1))
            waited = time.time() - started
            yield f"copy pools written ahead of demand ▕{bar:<24}▏ {done}/{len(rows)} {waited:.0f}s"
            if done == len(rows) or waited > self.fill_s:
                return
            time.sleep(1.0)

    def _prepare(self) -> None:
        """Topics, the catalogue for the request worker, and no posteriors of its ads."""
        kafka.ensure_topics(self.settings.kafka, topics.ALL, compacted=topics.COMPACTED)
        producer = kafka.producer(self.settings.kafka)
        for event in listings(self.world, int(time.time() * 1000)):
            producer.produce(event.topic, key=event.key(), value=codec.encode(event))
        if producer.flush(10):
            raise LoopError("the catalogue listings did not reach the broker")
        redis = redis_client.client(self.settings.redis)
        redis.delete(
            *(
                key(ad, segment)
                for ad in self.world.catalog.ads
                for segment in SEGMENTS
                for key in (keys.posterior, keys.scores)
            )
        )
        redis.close()

    def _stop_serving(self, server: AdServer) -> None:
        self.tally = server.stop()

    def _stop_learning(self, learning: threading.Thread) -> None:
        self.stop.set()
        learning.join(30)


def _stop(worker: WorkerProcess, cleanly: bool) -> None:
    """Stop the request worker; ``cleanly`` (all else went well): it must exit 0."""
    if cleanly:
        worker.stop_cleanly()
    else:
        worker.stop()
