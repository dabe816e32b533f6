"""`spread_wide`: the spread is both above an absolute level and anomalous against its own history."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import Detector, DetectorParams, register
from detectors.stats import RollingWindow
from feeds.book import OrderBook
from feeds.events import BookEvent


@dataclass(frozen=True)
class SpreadWideParams(DetectorParams):
    threshold_bps: float = 5.0  # warning needs the spread above this ...
    zscore: float = 3.0  # ... and this many standard deviations above its rolling mean
    critical_bps: float = 20.0  # critical needs the spread above this (and the z condition)
    window: int = 300  # samples of history (one sample per `sample_s` of market time)
    warmup: int = 30  # samples before the z-score is trusted
    sample_s: float = 1.0
    clear_ratio: float = 0.8  # hysteresis: clears once the spread is below threshold x this ratio

    def __post_init__(self) -> None:
        if self.threshold_bps <= 0 or self.critical_bps < self.threshold_bps:
            raise ValueError("need 0 < threshold_bps <= critical_bps")
        if not 0 < self.clear_ratio <= 1:
            raise ValueError("clear_ratio must be in (0, 1]")
        if self.window < 2 or not 1 <= self.warmup <= self.window:
            raise ValueError("need window >= 2 and 1 <= warmup <= window")


@register
class SpreadWide(Detector):
    kind = "spread_wide"
    family = "quality"
    params_type = SpreadWideParams

    def __init__(self, instrument, params: SpreadWideParams, sink) -> None:
        super().__init__(instrument, params, sink)
        self.history = RollingWindow(params.window, params.warmup)
        self._next_sample = 0.0
        self._alerting = False

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def reset(self) -> None:
        self.history.reset()
        self._next_sample = 0.0

    def on_book(self, book: OrderBook, event: BookEvent) -> None:
        spread = book.spread_bps()
        if spread is None or spread < 0:
            return  # one-sided or crossed: other detectors' business
        p = self.params
        history = self.history
        if not history.ready:
            self.skipped_warmup += 1
            self._sample(event.ts, spread)
            return
        z = history.zscore(spread, floor=max(0.05 * history.mean, 1e-9))
        if spread > p.threshold_bps and z > p.zscore:
            severity = "critical" if spread > p.critical_bps else "warning"
            threshold = p.critical_bps if severity == "critical" else p.threshold_bps
            self._alerting = True
            self.signal(event.ts, severity, spread, threshold, z,
                        f"spread {spread:.1f} bps > {threshold:.1f} bps, z {z:.1f}",
                        mean_bps=history.mean, std_bps=history.std)
        elif self._alerting and spread < p.threshold_bps * p.clear_ratio:
            self._alerting = False
            self.signal(event.ts, None, spread, p.threshold_bps, z, f"spread back to {spread:.1f} bps")
        if not self._alerting:
            self._sample(event.ts, spread)  # an anomaly must not teach the baseline that it is normal

    def _sample(self, ts: float, spread: float) -> None:
        if ts >= self._next_sample:
            self.history.add(spread)
            self._next_sample = ts + self.params.sample_s
