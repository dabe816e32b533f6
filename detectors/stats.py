"""Streaming statistics with O(1) amortised updates: every detector's metric history lives in one of these.

Each statistic has a warm-up (`ready` is false, and scores are None, until it has seen enough samples),
a `reset()` (after a feed gap, or a session break) and refuses non-finite samples: they are counted in
`rejected` and never reach the running sums, so one bad print cannot poison a baseline.

Windows keep their sums relative to a `shift` (the first sample since the last refresh) and recompute them
exactly once per window length of samples, so float error stays bounded on long runs and large levels
(a price of 65,000 with a variance of 0.01 would otherwise cancel catastrophically).
"""

from __future__ import annotations

import math
from collections import deque

_INF = math.inf


def finite(value: float) -> bool:
    """True for a real number: NaN and the infinities fail both comparisons."""
    return -_INF < value < _INF


class _Moments:
    """Running count, sum and sum of squares of shifted values, shared by the count and time windows."""

    __slots__ = ("n", "_shift", "_sum", "_sumsq", "_since_refresh")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.n = 0
        self._shift = 0.0
        self._sum = 0.0
        self._sumsq = 0.0
        self._since_refresh = 0

    def add(self, value: float) -> None:
        if self.n == 0:
            self._shift = value
        d = value - self._shift
        self.n += 1
        self._sum += d
        self._sumsq += d * d

    def remove(self, value: float) -> None:
        d = value - self._shift
        self.n -= 1
        self._sum -= d
        self._sumsq -= d * d
        self._since_refresh += 1

    def refresh_if_due(self, values, period: int) -> None:
        """Recompute the sums exactly from `values` once every `period` removals: O(1) amortised."""
        if self._since_refresh >= period:
            self.clear()
            for value in values:
                self.add(value)

    @property
    def total(self) -> float:
        return self._sum + self.n * self._shift

    @property
    def mean(self) -> float:
        return self._shift + self._sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); 0.0 under two samples."""
        n = self.n
        if n < 2:
            return 0.0
        var = (self._sumsq - self._sum * self._sum / n) / (n - 1)
        return var if var > 0.0 else 0.0


class _Scored:
    """Mean, standard deviation and z-score for anything with `_m` moments and a `ready` flag."""

    __slots__ = ()

    @property
    def mean(self) -> float:
        return self._m.mean

    @property
    def variance(self) -> float:
        return self._m.variance

    @property
    def std(self) -> float:
        return math.sqrt(self._m.variance)

    def zscore(self, value: float, floor: float = 1e-12) -> float | None:
        """How many standard deviations `value` sits above the mean (std floored: no 0/0); None while warming up."""
        if not self.ready:
            return None
        return (value - self._m.mean) / max(self.std, floor)


class RollingWindow(_Scored):
    """The last `size` samples with a running mean and variance; no score until `warmup` samples."""

    __slots__ = ("size", "warmup", "rejected", "_values", "_m")

    def __init__(self, size: int, warmup: int | None = None) -> None:
        if size < 2:
            raise ValueError("a rolling window needs at least 2 samples")
        self.size = size
        self.warmup = max(1, min(warmup if warmup is not None else size, size))
        self.rejected = 0
        self._values: deque[float] = deque()
        self._m = _Moments()

    def add(self, value: float) -> bool:
        """Take a sample; False (and counted) when it is not a finite number."""
        if not -_INF < value < _INF:
            self.rejected += 1
            return False
        values = self._values
        values.append(value)
        self._m.add(value)
        if len(values) > self.size:
            self._m.remove(values.popleft())
            self._m.refresh_if_due(values, self.size)
        return True

    def reset(self) -> None:
        self._values.clear()
        self._m.clear()

    @property
    def count(self) -> int:
        return len(self._values)

    @property
    def ready(self) -> bool:
        return len(self._values) >= self.warmup

    @property
    def total(self) -> float:
        return self._m.total


class TimeWindow(_Scored):
    """Samples of the last `span` seconds (market time) with a running sum, mean and variance.

    Timestamps must not go backwards; an older one is stamped with the newest time seen (it still counts).
    `ready` once the window has been filled for a whole span and holds at least `warmup` samples.
    """

    __slots__ = ("span", "warmup", "rejected", "_items", "_m", "_first_ts", "_last_ts")

    def __init__(self, span: float, warmup: int = 1) -> None:
        if not span > 0:
            raise ValueError("a time window needs a positive span")
        self.span = span
        self.warmup = max(1, warmup)
        self.rejected = 0
        self._items: deque[tuple[float, float]] = deque()
        self._m = _Moments()
        self._first_ts: float | None = None
        self._last_ts = -_INF

    def add(self, ts: float, value: float = 1.0) -> bool:
        if not (-_INF < value < _INF and -_INF < ts < _INF):
            self.rejected += 1
            return False
        if ts < self._last_ts:
            ts = self._last_ts
        self._last_ts = ts
        if self._first_ts is None:
            self._first_ts = ts
        self._items.append((ts, value))
        self._m.add(value)
        self.expire(ts)
        return True

    def expire(self, now: float) -> None:
        """Drop samples older than `span` before `now` (call it on a timer when samples may stop coming)."""
        items = self._items
        limit = now - self.span
        removed = False
        while items and items[0][0] <= limit:
            self._m.remove(items.popleft()[1])
            removed = True
        if removed:
            self._m.refresh_if_due((v for _, v in items), max(len(items), 64))

    def reset(self) -> None:
        self._items.clear()
        self._m.clear()
        self._first_ts = None
        self._last_ts = -_INF

    @property
    def count(self) -> int:
        return len(self._items)

    @property
    def total(self) -> float:
        return self._m.total

    @property
    def ready(self) -> bool:
        return (self._first_ts is not None and self._last_ts - self._first_ts >= self.span
                and len(self._items) >= self.warmup)


class _Counted:
    """Ready once `count` samples reached `warmup`."""

    __slots__ = ()

    @property
    def ready(self) -> bool:
        return self.count >= self.warmup


class Ewma(_Counted):
    """Exponentially weighted mean and variance; a sample's weight halves every `half_life` (in the units
    of the `dt` given to `add`: samples by default, or seconds when the caller passes elapsed time).

    Until it has seen about a half-life of samples, the n-th sample's weight is 1/n, so the early estimate
    is the plain average rather than the first sample's value decaying slowly. The variance is the
    weighted (biased) one of the same weights, updated by West's recurrence.
    """

    __slots__ = ("half_life", "warmup", "count", "rejected", "mean", "variance", "_dt", "_decay")

    def __init__(self, half_life: float, warmup: int = 1) -> None:
        if not half_life > 0:
            raise ValueError("half_life must be positive")
        self.half_life = half_life
        self.warmup = max(1, warmup)
        self.rejected = 0
        self._dt, self._decay = 1.0, 1.0 - 0.5 ** (1.0 / half_life)  # the weight for the last dt seen
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.variance = 0.0

    def add(self, value: float, dt: float = 1.0) -> bool:
        if not -_INF < value < _INF:
            self.rejected += 1
            return False
        if self.count == 0:
            self.mean, self.variance = value, 0.0
        else:
            if dt != self._dt:  # samples usually come on a grid: the power is computed once
                self._dt, self._decay = dt, 1.0 - 0.5 ** (dt / self.half_life)
            alpha = max(self._decay, 1.0 / (self.count + 1))
            diff = value - self.mean
            incr = alpha * diff
            self.mean += incr
            self.variance = (1.0 - alpha) * (self.variance + diff * incr)
        self.count += 1
        return True

    @property
    def std(self) -> float:
        return math.sqrt(self.variance) if self.variance > 0.0 else 0.0

    def zscore(self, value: float, floor: float = 1e-12) -> float | None:
        if not self.ready:
            return None
        return (value - self.mean) / max(self.std, floor)


class Cusum(_Counted):
    """Two-sided tabular CUSUM over standardised samples: it accumulates evidence of a persistent shift.

    `add(z)` takes a sample already expressed in standard deviations from its baseline; `k` is the slack
    (half the shift to detect, in sigmas) and `h` the decision level. `score` is the larger side,
    signed (+ for an upward shift), so callers can read the direction.
    """

    __slots__ = ("k", "h", "warmup", "count", "rejected", "upper", "lower")

    def __init__(self, k: float = 0.5, h: float = 5.0, warmup: int = 1) -> None:
        if k < 0 or not h > 0:
            raise ValueError("need k >= 0 and h > 0")
        self.k, self.h = k, h
        self.warmup = max(1, warmup)
        self.rejected = 0
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.upper = 0.0
        self.lower = 0.0

    def add(self, z: float) -> bool:
        if not -_INF < z < _INF:
            self.rejected += 1
            return False
        self.upper = max(0.0, self.upper + z - self.k)
        self.lower = max(0.0, self.lower - z - self.k)
        self.count += 1
        return True

    @property
    def score(self) -> float:
        return self.upper if self.upper >= self.lower else -self.lower

    @property
    def alarm(self) -> bool:
        return self.ready and max(self.upper, self.lower) > self.h


class EveryGrid:
    """A fixed grid of market time: `due(ts)` is true once per `period`, so sampling does not depend on how
    events are batched (a replay samples at the same instants as the live run)."""

    __slots__ = ("period", "next_ts")

    def __init__(self, period: float) -> None:
        if not period > 0:
            raise ValueError("a sampling period must be positive")
        self.period = period
        self.next_ts = -_INF

    def due(self, ts: float) -> bool:
        if ts < self.next_ts:
            return False
        self.next_ts = (ts // self.period + 1.0) * self.period
        return True

    def reset(self) -> None:
        self.next_ts = -_INF


class KeyedCounter:
    """Events per key (an account, say) over the last `span` seconds of market time, O(1) amortised."""

    __slots__ = ("span", "counts", "_events")

    def __init__(self, span: float) -> None:
        if not span > 0:
            raise ValueError("a counter needs a positive span")
        self.span = span
        self.counts: dict[object, int] = {}
        self._events: deque[tuple[float, object]] = deque()

    def add(self, ts: float, key: object) -> int:
        """Count one event for `key`; its count within the span, this one included."""
        self.expire(ts)
        self._events.append((ts, key))
        count = self.counts[key] = self.counts.get(key, 0) + 1
        return count

    def expire(self, now: float) -> None:
        events, counts = self._events, self.counts
        limit = now - self.span
        while events and events[0][0] <= limit:
            key = events.popleft()[1]
            left = counts[key] - 1
            if left:
                counts[key] = left
            else:
                del counts[key]

    def reset(self) -> None:
        self.counts.clear()
        self._events.clear()
