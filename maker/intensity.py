"""Order-arrival intensity: fit lambda(delta) = A exp(-k delta) from trades versus their distance from mid.

A resting quote at distance delta from mid is filled by every trade that prints at least that far away, so
the arrival rate at depth delta is the (decayed) count of trades with distance >= delta per (decayed) second.
On a grid of depths spanning the observed distances, a weighted least-squares line through ln(rate) against
depth gives ln A (intercept) and -k (slope). The grid follows the data, so the same settings fit a 1-tick
equity book and a crypto book whose sweeps reach hundreds of ticks. Trades older than a few half-lives
are dropped. Until enough recent trades are in, a prior stands in: `prior_rate` trades a second, and a mean
trade distance of half the market spread (k = 1 / half-spread).
"""

from __future__ import annotations

import math

import numpy as np

REFIT_S = 1.0  # the regression reruns at most once per market second
MAX_TRADES = 20_000  # memory bound per instrument (a ring buffer); the oldest go first
_HORIZON_HALF_LIVES = 8.0  # a trade this many half-lives old weighs 1/256: dropped


def fit_intensity(distances: np.ndarray, weights: np.ndarray, exposure_s: float, points: int,
                  min_step: float) -> tuple[float, float] | None:
    """(A per second, k per price unit) from trade distances and their weights, or None if the data cannot say.

    Depths run evenly from the smallest distance (every trade reaches it) to the weighted 99th percentile,
    `points` of them; fewer than three distinct depths at least `min_step` apart cannot fit a line. Each depth
    is weighted by its tail weight, the Poisson precision of its log rate.
    """
    if len(distances) == 0 or exposure_s <= 0:
        return None
    order = np.argsort(distances)
    d, w = distances[order], weights[order]
    tails = np.cumsum(w[::-1])[::-1]  # tails[j] = weight of trades j.. (distance >= d[j])
    top = d[np.count_nonzero(tails >= 0.01 * tails[0]) - 1]  # tails never increase with depth
    span = top - d[0]
    if span < 2 * min_step:
        return None
    depths = np.linspace(d[0], top, min(points, int(span / min_step) + 1))
    tail = tails[np.searchsorted(d, depths, side="left")]
    x, y = depths, np.log(tail / exposure_s)
    x_mean, y_mean = np.average(x, weights=tail), np.average(y, weights=tail)
    sxx = np.sum(tail * (x - x_mean) ** 2)
    k = -float(np.sum(tail * (x - x_mean) * (y - y_mean)) / sxx)
    if not k > 0:
        return None
    return math.exp(float(y_mean) + k * float(x_mean)), k


class IntensityEstimator:
    """Recent trades' distances from mid plus the fit above, refreshed at most once per REFIT_S."""

    def __init__(self, half_life_s: float, points: int, tick_size: float, min_trades: int, prior_rate: float) -> None:
        self.tau = half_life_s / math.log(2.0)
        self.keep_s = half_life_s * _HORIZON_HALF_LIVES
        self.points = points
        self.min_step = tick_size / 2.0  # distances from a mid come in half ticks
        self.min_trades = min_trades
        self.prior_rate = prior_rate
        self.fitted = False  # whether (A, k) come from the data rather than the prior
        self._ts = np.empty(MAX_TRADES)  # ring buffers, one arrival per slot: the fit reads them without copying
        self._distance = np.empty(MAX_TRADES)
        self._head = self._count = 0
        self._last_ts, self._last_side = -math.inf, ""
        self._start_ts: float | None = None
        self._fit: tuple[float, float] | None = None
        self._fit_ts = -math.inf

    def start(self, ts: float) -> None:
        """Begin counting time (the first book): quiet seconds before the first trade count as no arrivals."""
        if self._start_ts is None:
            self._start_ts = ts

    def add(self, distance: float, ts: float, side: str) -> None:
        """One print `distance` (price units, >= 0) from the mid it met, by an aggressor on `side`.

        The prints of one sweep share a time and side: they are one arrival that reached the deepest of them
        (a quote anywhere up to there would have been filled), not many arrivals. O(1) amortised.
        """
        self.start(ts)
        if self._count and ts == self._last_ts and side == self._last_side:
            last = (self._head + self._count - 1) % MAX_TRADES
            self._distance[last] = max(distance, self._distance[last])
            return
        self._last_ts, self._last_side = ts, side
        if self._count == MAX_TRADES:
            self._head = (self._head + 1) % MAX_TRADES
            self._count -= 1
        slot = (self._head + self._count) % MAX_TRADES
        self._ts[slot], self._distance[slot] = ts, distance
        self._count += 1
        while self._ts[self._head] < ts - self.keep_s:
            self._head = (self._head + 1) % MAX_TRADES
            self._count -= 1

    def _arrivals(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, distances) of the kept arrivals, oldest first."""
        end = self._head + self._count
        if end <= MAX_TRADES:
            return self._ts[self._head:end], self._distance[self._head:end]
        wrap = end - MAX_TRADES
        return (np.concatenate((self._ts[self._head:], self._ts[:wrap])),
                np.concatenate((self._distance[self._head:], self._distance[:wrap])))

    def estimate(self, now: float, half_spread: float) -> tuple[float, float]:
        """(A, k) at market time `now`: the fit when there is enough recent data, else the prior."""
        if now - self._fit_ts >= REFIT_S:
            self._fit_ts = now
            self._fit = self._refit(now)
        self.fitted = self._fit is not None
        if self._fit is not None:
            return self._fit
        return self.prior_rate, 1.0 / max(half_spread, self.min_step)

    def _refit(self, now: float) -> tuple[float, float] | None:
        if self._start_ts is None or not self._count:
            return None
        ts, distances = self._arrivals()
        weights = np.exp(-np.maximum(now - ts, 0.0) / self.tau)
        if weights.sum() < self.min_trades:
            return None
        watched = min(now - self._start_ts, self.keep_s)
        exposure = self.tau * (1.0 - math.exp(-watched / self.tau))  # decayed seconds watched
        return fit_intensity(distances, weights, exposure, self.points, self.min_step)
