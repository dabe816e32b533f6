"""`stale_feed`: an instrument that stopped updating for longer than its freshness limit."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import Detector, DetectorParams, register


@dataclass(frozen=True)
class StaleFeedParams(DetectorParams):
    freshness_s: float | None = None  # None: the instrument's (or its venue's) freshness limit
    critical_multiple: float = 6.0  # critical once silent for this many times the limit

    def __post_init__(self) -> None:
        if self.freshness_s is not None and self.freshness_s <= 0:
            raise ValueError("freshness_s must be positive")
        if self.critical_multiple < 1:
            raise ValueError("critical_multiple must be at least 1")


@register
class StaleFeed(Detector):
    kind = "stale_feed"
    family = "feed"
    params_type = StaleFeedParams

    def __init__(self, instrument, params: StaleFeedParams, sink, venue_freshness_s: float = 5.0) -> None:
        super().__init__(instrument, params, sink)
        self.limit = params.freshness_s or instrument.freshness_s or venue_freshness_s
        self.last_ts: float | None = None
        self._severity: str | None = None

    def _seen(self, ts: float) -> None:
        if self._severity is not None:
            silent = ts - self.last_ts
            self._severity = None
            self.signal(ts, None, silent, self.limit, None, f"updates resumed after {silent:.1f} s")
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts

    def on_book(self, book, event) -> None:
        self._seen(event.ts)

    def on_trade(self, book, event) -> None:
        self._seen(event.ts)

    def on_bar(self, event) -> None:
        self._seen(event.ts)

    def on_tick(self, now: float) -> None:
        if self.last_ts is None:
            return
        silent = now - self.last_ts
        if silent <= self.limit:
            return
        critical_limit = self.limit * self.params.critical_multiple
        severity, threshold = ("critical", critical_limit) if silent > critical_limit else ("warning", self.limit)
        if severity != self._severity:
            self._severity = severity
            self.signal(now, severity, silent, threshold, None,
                        f"no update for {silent:.1f} s > {threshold:.1f} s", last_update_ts=self.last_ts)
