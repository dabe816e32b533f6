"""Hong Kong's volatility control mechanism (HKEX VCM, securities market): when the exchange watches a stock,
the reference price it compares trades with, when a trade starts a cooling-off, and the band that holds.

A VCM stock (a constituent of the Hang Seng Composite LargeCap, MidCap or SmallCap index) whose next trade
would print more than its tier's percentage (+-10%, +-15%, +-20%) from the reference price, the last trade 5
minutes earlier, enters a 5-minute cooling-off: trading goes on, but only within reference x (1 +- pct), the
reference fixed at the trigger. The exchange watches only during continuous trading, and neither in the first
15 minutes of a session (morning, afternoon) nor in the last 20 of the trading day (so that a cooling-off is
over by the closing auction); at most once per stock and session. Pure logic: the `price_limit` detector keeps
the state (detectors.vcm_band).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from feeds.price_limits import LimitSide, PriceBand


@dataclass(frozen=True, slots=True)
class VcmSession:
    """One continuous-trading session of a day and the stretch of it the exchange watches (epoch seconds)."""

    start: float
    end: float
    watch_from: float
    watch_until: float

    def watched(self, ts: float) -> bool:
        return self.watch_from <= ts < self.watch_until


@dataclass(frozen=True)
class VcmRules:
    """The mechanism's timing, the same for every tier."""

    reference_s: float = 300.0  # the reference price is the last trade this long before
    cooling_s: float = 300.0  # a cooling-off lasts this long (and never past the end of its session)
    quiet_open_s: float = 900.0  # not watched in the first this-long of each session ...
    quiet_close_s: float = 1200.0  # ... nor in the last this-long of the day's last one (a half day's morning)
    triggers: int = 1  # cooling-offs per stock and session (HKEX has planned to allow several)

    def sessions(self, spans: list[tuple[float, float]]) -> list[VcmSession]:
        """A trading day's continuous sessions, (start, end) in time order, with the stretches watched."""
        last = len(spans) - 1
        return [VcmSession(start, end, start + self.quiet_open_s, end - self.quiet_close_s if i == last else end)
                for i, (start, end) in enumerate(spans)]


def trigger_side(band: PriceBand, price: float) -> LimitSide | None:
    """The side a trade at `price` leaves the band around the reference on (by more than half a tick: it
    deviates from the reference by more than the tier), which starts a cooling-off; None within it."""
    side, ticks = band.nearest_limit(price)
    return side if ticks < -0.5 else None


class ReferencePrice:
    """The last price `lag_s` before a moment, from a stream of prices in time order: a queue of the price
    changes, trimmed to the one in force at the lag (O(1) per price, amortised)."""

    def __init__(self, lag_s: float) -> None:
        self.lag_s = lag_s
        self._changes: deque[tuple[float, float]] = deque()  # (ts, price), each price unlike the one before

    def add(self, ts: float, price: float) -> None:
        changes = self._changes
        if not changes or changes[-1][1] != price:
            changes.append((ts, price))

    def at(self, now: float) -> float | None:
        """The last price at or before `now - lag_s`; None if nothing traded by then. `now` must not go back."""
        cutoff, changes = now - self.lag_s, self._changes
        while len(changes) > 1 and changes[1][0] <= cutoff:
            changes.popleft()
        return changes[0][1] if changes and changes[0][0] <= cutoff else None
