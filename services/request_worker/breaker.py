"""A circuit breaker per model: a dead model server must not cost every request its
deadline. After ``failures`` consecutive failures the breaker opens and calls are refused
at once; every ``reset_s`` one trial call goes through, and its success closes it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Breaker:
    """Counts consecutive failures of one dependency; :meth:`allow` says whether to call it.

    >>> clock = [0.0]
    >>> breaker = Breaker(failures=2, reset_s=1.0, clock=lambda: clock[0])
    >>> breaker.failed(); breaker.failed(); breaker.state
    'open'
    >>> breaker.allow()
    False
    >>> clock[0] = 1.5
    >>> breaker.allow(), breaker.allow()  # one trial call, the next still refused
    (True, False)
    >>> breaker.succeeded(); breaker.state, breaker.allow()
    ('closed', True)
    """

    def __init__(
        self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures, self.reset_s, self._clock = failures, reset_s, clock
        self._consecutive = 0
        self._next_trial = 0.0

    @property
    def state(self) -> str:
        """``closed`` (calls go through) or ``open`` (refused but for trials)."""
        return "open" if self._consecutive >= self.failures else "closed"

    def allow(self) -> bool:
        """Whether to make the call now."""
        if self.state == "closed":
            return True
        now = self._clock()
        if now < self._next_trial:
            return False
        self._next_trial = now + self.reset_s
        return True

    def succeeded(self) -> None:
        """The call answered in time: close."""
        self._consecutive = 0

    def failed(self) -> None:
        """The call failed or missed its deadline."""
        self._consecutive += 1
        if self._consecutive == self.failures:
            self._next_trial = self._clock() + self.reset_s
