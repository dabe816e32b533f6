"""Reconnect delays: exponential, capped, with jitter, so many feeds dropped at once do not retry in step."""

from __future__ import annotations

import random
import time
from typing import Callable


class Backoff:
    """Delay before retry n is min(cap, base x 2^n), scaled by a random factor in [0.5, 1].

    The count starts again only after a quiet spell of twice the cap without failures, so a server
    that accepts and then drops every connection keeps being retried more and more slowly.
    """

    def __init__(self, base_s: float, cap_s: float, rng: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempts = 0
        self._rng = rng
        self._clock = clock
        self._last_failure: float | None = None

    def next_delay(self) -> float:
        now = self._clock()
        if self._last_failure is not None and now - self._last_failure > 2 * self.cap_s:
            self.attempts = 0
        self._last_failure = now
        ceiling = min(self.cap_s, self.base_s * 2 ** min(self.attempts, 30))
        self.attempts += 1
        return ceiling * (0.5 + 0.5 * self._rng())
