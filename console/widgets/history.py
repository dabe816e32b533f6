"""What the console remembers that the runtime does not: short histories for its charts and audit trails.

The runtime keeps the present (books, open alerts, positions); the charts need the recent past. One
History listens to the runtime from before its first event: once per market second it samples each
instrument's mid and spread, and each quoted instrument's PnL and position; it keeps every alert's metric
as its signals arrive and every alert's audit entries of this session. Between samples a batch costs one
comparison; each series keeps at most `SAMPLES` points.
"""

from __future__ import annotations

import math
from collections import deque

from console.runtime import Runtime
from detectors.alerts import Alert, AuditEntry
from detectors.stats import RollingWindow

Key = tuple[str, str]
SAMPLE_S = 1.0  # market seconds between samples
SAMPLES = 900  # 15 minutes of samples per series
VOL_RETURNS = 60  # one-second returns in the volatility estimate ...
VOL_WARMUP = 10  # ... and how many it needs before it says anything
SECONDS_PER_YEAR = 365.0 * 86400.0  # volatility is annualised on a 24/7 calendar, like the simulator's
ALERT_CHANGES = ("opened", "escalated", "updated")  # the changes that carry a new metric value


class Series:
    """Times (market seconds) and values, oldest first, bounded."""

    __slots__ = ("ts", "values")

    def __init__(self, maxlen: int = SAMPLES) -> None:
        self.ts: deque[float] = deque(maxlen=maxlen)
        self.values: deque[float] = deque(maxlen=maxlen)

    def add(self, ts: float, value: float) -> None:
        self.ts.append(ts)
        self.values.append(value)

    def between(self, start: float, end: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The points with start <= ts <= end."""
        points = [(t, v) for t, v in zip(self.ts, self.values) if start <= t <= end]
        return tuple(t for t, _ in points), tuple(v for _, v in points)

    def __len__(self) -> int:
        return len(self.ts)


class MakerSeries:
    """One quoted instrument's PnL (after fees), position and mid over time."""

    __slots__ = ("pnl", "position", "mid")

    def __init__(self) -> None:
        self.pnl, self.position, self.mid = Series(), Series(), Series()


class History:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.mids: dict[Key, Series] = {}
        self.spreads: dict[Key, Series] = {}
        self.maker: dict[Key, MakerSeries] = {}
        self.alert_values: dict[str, Series] = {}  # alert id -> its metric, one point per signal
        self.audit: dict[str, list[AuditEntry]] = {}  # alert id -> this session's audit entries
        self.samples = 0  # sampling rounds so far: views redraw charts when it moves
        self._returns: dict[Key, RollingWindow] = {}
        self._last_mid: dict[Key, float] = {}
        self._next = 0.0

    def attach(self) -> None:
        runtime = self.runtime
        runtime.consumers.append(self.on_batch)
        runtime.engine.listeners.append(self.on_alert)
        runtime.engine.audit_listeners.append(self.on_audit)

    def detach(self) -> None:
        runtime = self.runtime
        for hooks, hook in ((runtime.consumers, self.on_batch), (runtime.engine.listeners, self.on_alert),
                            (runtime.engine.audit_listeners, self.on_audit)):
            if hook in hooks:
                hooks.remove(hook)

    # -- listeners ------------------------------------------------------------------------------------
    def on_batch(self, batch: list) -> None:
        now = self.runtime.market_time
        if now >= self._next:
            self._next = (now // SAMPLE_S + 1) * SAMPLE_S
            self.sample(now)

    def on_alert(self, alert: Alert, change: str) -> None:
        if change in ALERT_CHANGES:
            series = self.alert_values.get(alert.id)
            if series is None:
                series = self.alert_values[alert.id] = Series()
            series.add(alert.last_ts, alert.value)

    def on_audit(self, entry: AuditEntry) -> None:
        self.audit.setdefault(entry.alert_id, []).append(entry)

    # -- sampling -------------------------------------------------------------------------------------
    def sample(self, now: float) -> None:
        """One round: every instrument's mid and spread, every quoted instrument's PnL and position."""
        self.samples += 1
        for key, state in self.runtime.instruments.items():
            book = state.book
            mid = book.mid()
            if mid is None:
                continue
            _series(self.mids, key).add(now, mid)
            _series(self.spreads, key).add(now, book.spread_bps())
            last = self._last_mid.get(key)
            self._last_mid[key] = mid
            if last is not None and last > 0 and mid > 0:
                window = self._returns.get(key)
                if window is None:
                    window = self._returns[key] = RollingWindow(VOL_RETURNS, VOL_WARMUP)
                window.add(math.log(mid / last))
        maker = self.runtime.maker
        if maker is None:
            return
        for key, quoted in maker.quoted.items():
            series = self.maker.get(key)
            if series is None:
                series = self.maker[key] = MakerSeries()
            position = maker.inventory.positions.get(key)
            series.pnl.add(now, 0.0 if position is None else position.total)
            series.position.add(now, 0.0 if position is None else position.qty)
            if quoted.book is not None and quoted.book.mid() is not None:
                series.mid.add(now, quoted.book.mid())

    # -- queries --------------------------------------------------------------------------------------
    def volatility(self, key: Key) -> float | None:
        """Annualised volatility of the mid from the last minute of one-second returns, or None while warming."""
        window = self._returns.get(key)
        if window is None or not window.ready:
            return None
        return window.std * math.sqrt(SECONDS_PER_YEAR / SAMPLE_S)


def _series(table: dict[Key, Series], key: Key) -> Series:
    series = table.get(key)
    if series is None:
        series = table[key] = Series()
    return series
