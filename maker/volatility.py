"""EWMA volatility of the mid price, per second, in price units and in log returns.

Book updates arrive at irregular times, so the estimator weighs by time rather than by count: it keeps
exponentially decayed sums of squared mid changes and of the seconds they took, and their ratio is the
variance per second. Mids are sampled at most once per `sample_s` so bid-ask bounce between two updates
a millisecond apart does not read as volatility. O(1) per update.
"""

from __future__ import annotations

import math


class EwmaVolatility:
    def __init__(self, half_life_s: float, sample_s: float) -> None:
        self.tau = half_life_s / math.log(2.0)  # e-folding time of the weights
        self.sample_s = sample_s
        self.elapsed_s = 0.0  # sampled history so far (for warm-up)
        self._mid: float | None = None
        self._ts = 0.0
        self._sq_price = 0.0  # decayed sum of (mid change)^2
        self._sq_return = 0.0  # decayed sum of (log return)^2
        self._seconds = 0.0  # decayed sum of the intervals those changes took

    def update(self, mid: float, ts: float) -> None:
        """Take the mid at market time `ts`; ignored until `sample_s` has passed since the last sample."""
        if self._mid is None:
            self._mid, self._ts = mid, ts
            return
        dt = ts - self._ts
        if dt < self.sample_s:
            return
        decay = math.exp(-dt / self.tau)
        change = mid - self._mid
        log_return = math.log(mid / self._mid)
        self._sq_price = self._sq_price * decay + change * change
        self._sq_return = self._sq_return * decay + log_return * log_return
        self._seconds = self._seconds * decay + dt
        self.elapsed_s += dt
        self._mid, self._ts = mid, ts

    @property
    def sigma_price(self) -> float:
        """Standard deviation of the mid after one second, in price units (0 before two samples)."""
        return math.sqrt(self._sq_price / self._seconds) if self._seconds > 0 else 0.0

    @property
    def sigma_return(self) -> float:
        """Standard deviation of the one-second log return (0 before two samples)."""
        return math.sqrt(self._sq_return / self._seconds) if self._seconds > 0 else 0.0
