"""``adcraft bench broker``: raw broker rates and the event codec's encode+decode rate."""

from __future__ import annotations

import os
import time
from pathlib import Path

from adcraft.services.bench.kafka_rates import consume_rate, produce_rate
from adcraft.services.stack import Stack
from adcraft.shared.adapters import kafka
from adcraft.shared.contract import codec
from adcraft.shared.contract.events import ImpressionServed


def codec_rate(count: int) -> float:
    """Events/s through encode then strict decode of impressions."""
    events = [
        ImpressionServed(
            event_id=f"e{i}",
            ts_ms=1_700_000_000_000 + i,
            ad_id=f"ad{i % 50}",
            request_id=f"r{i}",
            user_id=f"u{i % 1000}",
            elements={"title": f"t{i % 5}", "image": f"i{i % 4}", "copy": f"c{i % 3}"},
            propensity=0.25,
            segment="young",
            context={"device": "mobile"},
        )
        for i in range(count)
    ]
    start = time.perf_counter()
    for event in events:
        codec.decode(codec.encode(event), ImpressionServed)
    return count / (time.perf_counter() - start)


def run(messages: int, size: int, run_dir: Path) -> dict[str, float]:
    """Start a broker, measure, stop it; return the figures."""
    with Stack(run_dir=run_dir, services=("broker",)) as stack:
        settings = stack.settings().kafka
        topic = f"bench-raw-{os.getpid()}"
        kafka.ensure_topics(settings, [topic], partitions=4)
        produced = produce_rate(settings, topic, [os.urandom(size) for _ in range(messages)])
        consumed = consume_rate(settings, [topic], messages)
    return {
        "messages": messages,
        "message_bytes": size,
        "produce_msgs_per_s": round(produced),
        "consume_msgs_per_s": round(consumed),
        "codec_events_per_s": round(codec_rate(min(messages, 100_000))),
    }
