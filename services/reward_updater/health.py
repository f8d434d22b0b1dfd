"""What the worker's probes answer: ``/healthz`` (the loop is alive) and ``/readyz`` (in
the group and caught up). Read from the probe server's thread; the loop only writes."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from adcraft.shared.runtime.settings import RewardSettings


class Health:
    """Liveness from the loop's last sign of life, readiness from the assignment and lag."""

    def __init__(
        self,
        config: RewardSettings,
        inputs: tuple[str, ...],
        owned: Callable[[], Collection[int]],
        lag: dict[tuple[str, int], int],
    ) -> None:
        self.config, self.inputs, self.owned, self.lag = config, inputs, owned, lag
        self.joined = False
        self.last_sign = time.monotonic()

    def alive(self) -> None:
        """The loop polled, or is busy on behalf of the group (assigning, revoking)."""
        self.last_sign = time.monotonic()

    def live(self) -> tuple[bool, str]:
        """Liveness: the loop showed life within ``live_max_stall_s``."""
        stalled = time.monotonic() - self.last_sign
        return stalled < self.config.live_max_stall_s, f"last poll {stalled:.1f} s ago"

    def ready(self) -> tuple[bool, str]:
        """Readiness: in the group, with every owned input's lag known and within bound."""
        if not self.joined:
            return False, "not assigned yet"
        lag = self.lag.copy()
        owned = list(self.owned())
        unknown = [(t, p) for p in owned for t in self.inputs if (t, p) not in lag]
        if unknown:
            return False, f"lag unknown for {len(unknown)} inputs"
        worst, bound = max(lag.values(), default=0), self.config.ready_max_lag
        return worst <= bound, f"lag {worst} (bound {bound})"
