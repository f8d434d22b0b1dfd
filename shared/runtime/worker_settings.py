"""The two workers' own settings: the reward stream's windows, checkpoints and limits;
the request path's deadlines, breaker and caches."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from adcraft.shared.runtime.sections import Section


class RewardSettings(Section):
    """The reward stream worker: attribution windows, learning cadence, publishing."""

    group_id: str = "adcraft-rewards"
    catalog_path: str | None = None
    click_window_ms: int = Field(default=30 * 60_000, gt=0)
    conversion_window_ms: int = Field(default=24 * 3_600_000, gt=0)
    hold_ms: int = Field(
        default=60_000, ge=0, description="How long feedback waits for its impression."
    )
    allowed_lateness_ms: int = Field(default=50, ge=0)
    catalog_grace_ms: int = Field(
        default=2_000,
        ge=0,
        description="How long an event naming an ad or element not listed yet holds event "
        "time while the catalogue is caught up: a listing produced with the traffic it "
        "allows may be fetched a moment after it.",
    )
    learn_interval_ms: int = Field(
        default=50, gt=0, description="Event-time width of a learning batch."
    )
    conversion_learn_interval_ms: int = Field(
        default=1_000,
        gt=0,
        description="Event-time width of a conversion learning batch (conversions are rare "
        "and their window long: coarser batches amortise the per-batch cost).",
    )
    flush_interval_ms: int = Field(default=100, gt=0, description="Bound on score staleness.")
    checkpoint_interval_ms: int = Field(
        default=1_000,
        gt=0,
        description="How often state and offsets are checkpointed and committed.",
    )
    flush_max_events: int = Field(default=200_000, gt=0)
    snapshot_every: int = Field(
        default=300,
        gt=0,
        description="Flushes between full snapshots of the join state (a changelog in between).",
    )
    consume_batch: int = Field(default=1_000, gt=0)
    fetch_wait_max_ms: int = Field(
        default=100,
        ge=0,
        description="How long the broker may "
        "hold a fetch waiting for data (latency vs idle requests).",
    )
    prior_variance: float = Field(default=1.0, gt=0)
    pair_prior_variance: float = Field(default=0.25, gt=0)
    forgetting: float = Field(default=0.0, ge=0, lt=1)
    value_scale: float = Field(default=50.0, gt=0)
    conversion_negative_rate: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Share of "
        "unconverted impressions the conversion head "
        "learns from (re-weighted).",
    )
    max_future_skew_ms: int = Field(
        default=300_000,
        ge=0,
        description="An event stamped further ahead of the wall clock is dead-lettered "
        "(`future`): one bad clock must not drag a partition's event time forward.",
    )
    max_segments_per_ad: int = Field(
        default=64,
        gt=0,
        description="Distinct segments learned per ad; impressions for more are "
        "dead-lettered (`segment_limit`), so memory stays bounded.",
    )
    dead_letter_max_bytes: int = Field(
        default=100_000,
        gt=0,
        le=900_000,  # under librdkafka's and Kafka's default 1,000,000-byte message limit
        description="A rejected message larger than this goes to the dead-letter topic by "
        "reference: truncated, with its size and offset in headers.",
    )
    on_state_loss: Literal["rebuild", "fail"] = Field(
        default="rebuild",
        description="When Redis lost a partition's checkpoint that Kafka offsets say existed: "
        "replay the partition from its first offset (only where the log still starts at "
        "0), or refuse to start.",
    )
    rewind_alarm_ms: int = Field(
        default=5_000,
        gt=0,
        description="How long a partition's log may end below the applied offset before "
        "the worker stops (a broker that lost data; brief after a leader change).",
    )
    shutdown_timeout_s: float = Field(
        default=45.0,
        gt=0,
        description="After SIGTERM, the process exits non-zero if flushing has not finished.",
    )
    ready_max_lag: int = Field(
        default=10_000, ge=0, description="/readyz holds until lag per input is within this."
    )
    live_max_stall_s: float = Field(
        default=5.0, gt=0, description="/healthz fails once the loop has not polled for this."
    )

    @model_validator(mode="after")
    def _windows_nest(self) -> RewardSettings:
        if self.conversion_window_ms < self.click_window_ms + self.learn_interval_ms:
            raise ValueError(
                "conversion_window_ms must exceed click_window_ms by at least learn_interval_ms"
            )
        return self


class RequestSettings(Section):
    """The request worker: concurrency, deadlines, copy cache, breaker."""

    group_id: str = "adcraft-requests"
    concurrency: int = Field(
        default=64, ge=1, description="Requests in flight per process (faust agent concurrency)."
    )
    copy_concurrency: int = Field(
        default=2, ge=1, description="Copy cache refills in flight per process."
    )
    refill_queue: int = Field(
        default=256,
        ge=1,
        description="Refills waiting for the copy model, at most; past it an ask is dropped "
        "(counted) and asked again by a later request: answering never waits on copy.",
    )
    answers_kept_s: int = Field(
        default=300,
        ge=0,
        description="How long past its deadline a request's answer is kept in Redis: a "
        "redelivered request within it is published the same bytes.",
    )
    live_max_stall_s: float = Field(
        default=5.0,
        gt=0,
        description="/healthz fails when requests are in flight and none was answered for "
        "this long (or the event loop stalled).",
    )
    fetch_wait_max_ms: int = Field(
        default=10,
        ge=0,
        description="How long the broker may hold an empty fetch (request latency at low "
        "rates vs idle fetches).",
    )
    copy_mode: Literal["pool", "fresh"] = Field(
        default="pool",
        description="pool: copy from the pools, written ahead of demand off the critical "
        "path; fresh: written per request when the deadline leaves room (GPU).",
    )
    copy_variants: int = Field(default=4, ge=1, le=8, description="Variants per pool.")
    copy_cache_min: int = Field(
        default=2, ge=1, description="Fewer servable pooled variants than this: rewrite it."
    )
    pool_sweep_s: float = Field(
        default=5.0,
        gt=0,
        description="How often every listed ad's pools are checked and the missing, thin or "
        "stale ones (facts changed) asked for: copy is written ahead of demand.",
    )
    model_check_s: float = Field(
        default=60.0,
        gt=0,
        description="With no pool written for this long, the sweep asks the copy model "
        "which version it serves (one token): pools another version wrote are rewritten.",
    )
    refill_retry_s: float = Field(
        default=10.0, gt=0, description="A failed refill is not asked again for this long."
    )
    fresh_min_ms: int = Field(
        default=250, ge=0, description="Deadline room copy_mode=fresh needs to write inline."
    )
    thompson_draws: int = Field(default=256, ge=16, le=4_096)
    deadline_margin_ms: int = Field(
        default=20,
        ge=0,
        description="Kept back from each deadline for the fallback and publishing: the "
        "generator gets what is left of the deadline less this.",
    )
    breaker_failures: int = Field(
        default=3, ge=1, description="Consecutive failures that open a model's breaker."
    )
    breaker_reset_s: float = Field(
        default=1.0, gt=0, description="An open breaker lets one trial call through after."
    )
    shutdown_timeout_s: float = Field(default=20.0, gt=0)
