"""Feed-health detectors: an instrument that went silent, and one whose data can no longer be trusted
(a sequence gap, a disconnect, a checksum failure, or a run of malformed events)."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import Detector, DetectorParams, register
from detectors.rules import Rule
from detectors.stats import TimeWindow
from feeds.events import StatusEvent

BROKEN = ("gap", "disconnected")  # status states after which the book is not trusted until it resyncs
RECOVERED = ("connected", "resumed")


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
    """No update for longer than the freshness limit; the silence itself is the metric, read on the timer
    from the runtime's record of the instrument's last event (so it costs nothing per event). The timer runs
    only while the market is open, and silence counts from the opening at the earliest (detectors.sessions)."""

    kind = "stale_feed"
    family = "feed"
    any_feed = True
    params_type = StaleFeedParams

    def __init__(self, context, params: StaleFeedParams) -> None:
        super().__init__(context, params)
        self.limit = params.freshness_s or context.instrument.freshness_s or context.venue_freshness_s
        # silence only grows until an update resets it to zero, which clears the alert at once
        self.rule = Rule(self.signal, self.describe, self.limit, self.limit * params.critical_multiple,
                         clear_ratio=1.0, inclusive=False, update_s=5.0)
        self._last = self._silent = 0.0

    def describe(self, silent: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return f"updates resumed after {self._silent:.1f} s", {}
        return f"no update for {silent:.1f} s > {threshold:.1f} s", {"last_update_ts": self._last}

    def on_tick(self, now: float) -> None:
        if not self.context.last_event_ts():
            return  # nothing arrived yet
        last = self.context.fresh_since()  # the freshness clock restarts when the market opens
        if self.rule.active and last > self._last:
            self._silent = last - self._last  # the silence that just ended
        self._last = last
        self.rule.update(now, now - last)


@dataclass(frozen=True)
class FeedGapParams(DetectorParams):
    critical_s: float = 10.0  # critical when the book is still out of sync (or the feed down) after this long
    bad_events: int = 5  # a data-quality alert once this many malformed events were dropped ...
    bad_window_s: float = 60.0  # ... within this many market seconds

    def __post_init__(self) -> None:
        if self.critical_s <= 0 or self.bad_window_s <= 0:
            raise ValueError("critical_s and bad_window_s must be positive")
        if self.bad_events < 1:
            raise ValueError("bad_events must be at least 1")


@register
class FeedGap(Detector):
    """A sequence gap, disconnect or checksum failure (the book is out of sync until the next snapshot), or
    malformed events arriving. Metric: seconds since the feed broke (0 at the break, -1 when healthy)."""

    kind = "feed_gap"
    family = "feed"
    any_feed = True
    params_type = FeedGapParams

    def __init__(self, context, params: FeedGapParams) -> None:
        super().__init__(context, params)
        self.broken_since: float | None = None
        self.detail = ""
        self.bad = TimeWindow(params.bad_window_s)
        self.last_problem = ""
        self.rule = Rule(self.signal, self.describe, 0.0, params.critical_s, clear_ratio=1.0, update_s=5.0)

    def describe(self, broken_s: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "feed back in sync", {}
        if self.broken_since is None:
            return (f"data quality: {self.bad.count} malformed events dropped in {self.params.bad_window_s:g} s "
                    f"(last: {self.last_problem})", {"dropped": self.bad.count})
        return (f"feed broken for {broken_s:.1f} s: {self.detail}", {"since": self.broken_since})

    def _metric(self, now: float) -> float:
        if self.broken_since is not None:
            return now - self.broken_since
        self.bad.expire(now)
        return 0.0 if self.bad.count >= self.params.bad_events else -1.0

    def on_status(self, event: StatusEvent) -> None:
        if event.state in BROKEN:
            if self.broken_since is None:
                self.broken_since = event.ts
            self.detail = event.detail or event.state
            self.rule.update(event.ts, self._metric(event.ts))
        elif event.state in RECOVERED and self.broken_since is not None and self.context.book.in_sync:
            self._recovered(event.ts)  # reconnected, and the book never lost its sequence

    def _recovered(self, ts: float) -> None:
        self.broken_since = None
        self.rule.update(ts, self._metric(ts))

    def on_bad_data(self, ts: float, problem: str) -> None:
        self.bad.add(ts)
        self.last_problem = problem
        self.rule.update(ts, self._metric(ts))

    def on_tick(self, now: float) -> None:
        book = self.context.book
        if self.broken_since is not None and book.in_sync and book.last_ts > self.broken_since:
            self._recovered(now)  # a snapshot resynced the book, or updates flow again after a disconnect
        elif self.rule.active:
            self.rule.update(now, self._metric(now))
