"""Rolling order statistics: quantiles, median, MAD and robust z over the last N samples, O(log N) per sample.

A sorted list (sortedcontainers) beside the arrival deque gives any quantile by index. The MAD is the
median of |x - median|: those deviations are two sorted runs (below the median, read backwards, and
above it), so their median is the k-th smallest of two sorted sequences, found by binary search
without building them. Results equal numpy's (`np.quantile` linear interpolation, `np.median`).
"""

from __future__ import annotations

from collections import deque

from sortedcontainers import SortedList

from detectors.stats import finite

MAD_TO_SIGMA = 1.4826  # a normal distribution's standard deviation is 1.4826 MADs


class RollingQuantile:
    """The last `size` samples, sorted; `quantile(q)` is numpy's default (linear) quantile."""

    __slots__ = ("size", "warmup", "rejected", "_arrivals", "_sorted")

    def __init__(self, size: int, warmup: int | None = None) -> None:
        if size < 2:
            raise ValueError("a rolling quantile needs at least 2 samples")
        self.size = size
        self.warmup = max(1, min(warmup if warmup is not None else size, size))
        self.rejected = 0
        self._arrivals: deque[float] = deque()
        self._sorted = SortedList()

    def add(self, value: float) -> bool:
        if not finite(value):
            self.rejected += 1
            return False
        self._arrivals.append(value)
        self._sorted.add(value)
        if len(self._arrivals) > self.size:
            self._sorted.remove(self._arrivals.popleft())
        return True

    def reset(self) -> None:
        self._arrivals.clear()
        self._sorted.clear()

    @property
    def count(self) -> int:
        return len(self._arrivals)

    @property
    def ready(self) -> bool:
        return len(self._arrivals) >= self.warmup

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 <= q <= 1) with linear interpolation; None while empty."""
        values = self._sorted
        n = len(values)
        if n == 0:
            return None
        position = q * (n - 1)
        low = int(position)
        if low >= n - 1:
            return values[n - 1]
        fraction = position - low
        return values[low] + (values[low + 1] - values[low]) * fraction

    def median(self) -> float | None:
        return self.quantile(0.5)

    def robust_z(self, value: float, floor: float) -> float | None:
        """(value - median) / (1.4826 x MAD), the scale floored so a flat history (MAD 0, common for
        tick-bound spreads or quiet volume) does not turn every move into infinity; None while warming up."""
        if not self.ready:
            return None
        return (value - self.median()) / max(MAD_TO_SIGMA * self.mad(), floor)

    def mad(self) -> float | None:
        """Median absolute deviation from the median (unscaled); None while empty."""
        values = self._sorted
        n = len(values)
        if n == 0:
            return None
        m = self.median()
        below = values.bisect_left(m)  # values[:below] are under the median, the rest at or above it

        def left(i: int) -> float:  # i-th smallest deviation among values under the median
            return m - values[below - 1 - i]

        def right(j: int) -> float:  # j-th smallest deviation among values at or above it
            return values[below + j] - m

        sizes = (below, n - below)
        if n % 2:
            return _kth_of_two(left, right, sizes, n // 2)
        return (_kth_of_two(left, right, sizes, n // 2 - 1) + _kth_of_two(left, right, sizes, n // 2)) / 2.0


def _kth_of_two(a, b, sizes: tuple[int, int], k: int) -> float:
    """The k-th smallest (0-based) of two ascending sequences given as index functions, in O(log) probes.

    Binary search for how many of the first k+1 come from `a`: i from a and k+1-i from b is right when
    a[i-1] <= b[k+1-i] and b[k-i] <= a[i].
    """
    len_a, len_b = sizes
    lo, hi = max(0, k + 1 - len_b), min(k + 1, len_a)
    while lo < hi:
        i = (lo + hi) // 2  # candidate count taken from a
        j = k + 1 - i
        if j > 0 and i < len_a and b(j - 1) > a(i):
            lo = i + 1  # b's last taken is too big: take more from a
        else:
            hi = i
    i = lo
    j = k + 1 - i
    candidates = []
    if i > 0:
        candidates.append(a(i - 1))
    if j > 0:
        candidates.append(b(j - 1))
    return max(candidates)
