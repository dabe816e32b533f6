"""Streaming statistics with O(1) updates: every detector's metric history lives in one of these."""

from __future__ import annotations

import math
from collections import deque


class RollingWindow:
    """The last `size` samples with a running mean and variance; no score until `warmup` samples."""

    __slots__ = ("size", "warmup", "_values", "_sum", "_sumsq")

    def __init__(self, size: int, warmup: int | None = None) -> None:
        if size < 2:
            raise ValueError("a rolling window needs at least 2 samples")
        self.size = size
        self.warmup = min(warmup if warmup is not None else size, size)
        self._values: deque[float] = deque()
        self._sum = 0.0
        self._sumsq = 0.0

    def add(self, value: float) -> None:
        self._values.append(value)
        self._sum += value
        self._sumsq += value * value
        if len(self._values) > self.size:
            old = self._values.popleft()
            self._sum -= old
            self._sumsq -= old * old

    def reset(self) -> None:
        self._values.clear()
        self._sum = 0.0
        self._sumsq = 0.0

    @property
    def count(self) -> int:
        return len(self._values)

    @property
    def ready(self) -> bool:
        return len(self._values) >= self.warmup

    @property
    def mean(self) -> float:
        n = len(self._values)
        return self._sum / n if n else 0.0

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1)."""
        n = len(self._values)
        if n < 2:
            return 0.0
        var = (self._sumsq - self._sum * self._sum / n) / (n - 1)
        return math.sqrt(var) if var > 0 else 0.0

    def zscore(self, value: float, floor: float = 1e-12) -> float:
        """How many standard deviations `value` sits above the window's mean (std floored to avoid 0/0)."""
        return (value - self.mean) / max(self.std, floor)
