"""Per-instrument features several detectors read: the mid sampled on a one-second grid (with its
volatility) and traded volume in one-second buckets. Each is computed once per instrument, however many
detectors use it (see InstrumentContext.feature)."""

from __future__ import annotations

import math
from collections import deque
from typing import Callable

from detectors.base import InstrumentContext, Watcher
from detectors.stats import EveryGrid, Ewma
from feeds.book import OrderBook
from feeds.events import TradeEvent

SAMPLE_S = 0.5  # the mid grid: every runtime tick
KEEP_S = 120.0  # samples and buckets kept for look-backs
VOL_HALF_LIFE = 600.0  # samples (5 minutes): the volatility estimates' memory ...
VOL_WARMUP = 120  # ... and the samples (a minute) before they are trusted
CLIP_SIGMAS = 10.0  # a half-second return is clipped to this many sigmas before it enters the volatility
# estimate: a jump does not inflate it, yet a tick-bound book's rare half-tick moves (the only moves it has) count
SLOW_CLIP_SIGMAS = 4.0  # ten-second returns are rarely zero, so they can be clipped harder

SLOW_S = 10.0  # the slow volatility is measured on returns over this many seconds
Listener = Callable[[float, float, float], None]  # (ts, mid, return in bps since the previous sample)


class TopOfBook(Watcher):
    """The best bid and ask as of a tick, read from the book once however many detectors ask."""

    def __init__(self, context: InstrumentContext) -> None:
        self.book = context.book
        self._at = math.nan
        self._quote: tuple[float, float] | None = None

    def quote(self, now: float) -> tuple[float, float] | None:
        """(bid, ask) of an in-sync, two-sided book (possibly crossed); None otherwise."""
        if now != self._at:
            book = self.book
            bids, asks = book.bids, book.asks
            self._quote = (bids.peekitem(-1)[0], asks.peekitem(0)[0]) if bids and asks and book.in_sync else None
            self._at = now
        return self._quote

    def mid(self, now: float) -> float | None:
        quote = self.quote(now)
        if quote is None:
            return None
        mid = (quote[0] + quote[1]) / 2.0
        return mid if mid > 0 else None


class MidSamples(Watcher):
    """The mid twice a second (on the runtime's timer), the returns between samples, and volatilities (bps
    per root second) that jumps cannot inflate: returns are clipped at 10 sigmas before they count. A
    tick-bound book whose mid rarely moves still gets a non-zero volatility this way, unlike a MAD.

    Two horizons: `sigma_bps` from half-second returns (what bursts are measured against) and `slow_sigma_bps`
    from ten-second ones, where bid-ask bounce has averaged out: the scale a move of minutes is judged by.
    A book that has not updated since the last sample adds no sample: a stalled feed is not a calm market.
    Detectors whose alert is open `hold` the learning, so an anomaly does not become the new normal."""

    def __init__(self, context: InstrumentContext) -> None:
        self.book = context.book
        self.top = context.feature(TopOfBook)
        self.held_until = -math.inf
        self.grid = EveryGrid(SAMPLE_S)
        self.recent: deque[tuple[float, float]] = deque()  # (ts, mid), oldest first, KEEP_S of them
        self.variance = Ewma(VOL_HALF_LIFE, VOL_WARMUP)  # of (return in bps)^2 per second; mean is ~0
        self.slow_variance = Ewma(VOL_HALF_LIFE, VOL_WARMUP)  # the same over SLOW_S returns
        self.slow_from: deque[tuple[float, float]] = deque()  # samples back to the one SLOW_S ago, oldest first
        self.listeners: list[Listener] = []

    @property
    def ready(self) -> bool:
        return self.variance.ready and self.slow_variance.ready

    @property
    def sigma_bps(self) -> float:
        """Standard deviation of returns, in bps per root second."""
        return math.sqrt(max(self.variance.mean, 1e-12))

    @property
    def slow_sigma_bps(self) -> float:
        """Per root second, from ten-second returns."""
        return math.sqrt(max(self.slow_variance.mean, 1e-12))

    def on_tick(self, now: float) -> None:
        book, recent = self.book, self.recent
        if now < self.grid.next_ts or (recent and book.last_ts <= recent[-1][0]):
            return
        mid = self.top.mid(now)
        if mid is None:
            return
        self.grid.due(now)  # only a sample moves the grid on: a replay samples at the same times
        ts = now
        if recent:
            last_ts, last_mid = recent[-1]
            r = math.log(mid / last_mid) * 1e4
            slow_from = self.slow_from
            while len(slow_from) > 1 and slow_from[1][0] <= ts - SLOW_S:
                slow_from.popleft()
            if ts >= self.held_until:
                _learn(self.variance, r, max(ts - last_ts, SAMPLE_S))
                before = slow_from[0] if slow_from and slow_from[0][0] <= ts - SLOW_S else None
                if before is not None:
                    _learn(self.slow_variance, math.log(mid / before[1]) * 1e4, ts - before[0], SLOW_CLIP_SIGMAS)
        else:
            r = 0.0
        recent.append((ts, mid))
        self.slow_from.append((ts, mid))
        while recent[0][0] < ts - KEEP_S:
            recent.popleft()
        for listener in self.listeners:
            listener(ts, mid, r)

    def hold(self, until: float) -> None:
        """Learn nothing until `until` (market time): an open alert's anomaly is not the new normal."""
        self.held_until = max(self.held_until, until)

    def mid_at(self, ts: float) -> tuple[float, float] | None:
        """The latest sample taken at or before `ts`: (sample ts, mid). Look-backs are short, so the walk
        from the newest sample is a step or two."""
        recent = self.recent
        for i in range(len(recent) - 1, -1, -1):
            sample = recent[i]
            if sample[0] <= ts:
                return sample
        return None

    def reset(self) -> None:
        self.grid.reset()
        self.recent.clear()
        self.slow_from.clear()
        self.variance.reset()
        self.slow_variance.reset()
        self.held_until = -math.inf


def _learn(variance: Ewma, r: float, dt: float, clip: float = CLIP_SIGMAS) -> None:
    """One return of `r` bps over `dt` seconds into a per-second variance, clipped once it is warm."""
    per_s = r * r / dt
    if variance.ready:
        per_s = min(per_s, clip * clip * variance.mean)
    variance.add(per_s)


class TradeFlow(Watcher):
    """Traded quantity in one-second buckets, split by aggressor side, for volume over any recent span."""

    def __init__(self, context: InstrumentContext) -> None:
        self.buckets: deque[list] = deque()  # [second, buy qty, sell qty, trades], oldest first
        self.trades = 0  # every trade seen

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        second = int(event.ts)
        buckets = self.buckets
        if not buckets or buckets[-1][0] < second:
            buckets.append([second, 0.0, 0.0, 0])
            while buckets[0][0] < second - KEEP_S:
                buckets.popleft()
        bucket = buckets[-1]
        if event.side == "buy":
            bucket[1] += event.qty
        else:
            bucket[2] += event.qty
        bucket[3] += 1
        self.trades += 1

    def window(self, now: float, span: float) -> tuple[float, float, int]:
        """(buy qty, sell qty, trades) from the whole second `span` seconds before `now` up to now: O(span).
        (So a window asked for at the top of a second still holds `span` full seconds.)"""
        start = math.floor(now - span)
        buy = sell = 0.0
        trades = 0
        for second, b, s, n in reversed(self.buckets):
            if second < start:
                break
            buy += b
            sell += s
            trades += n
        return buy, sell, trades

    def volume(self, now: float, span: float) -> float:
        buy, sell, _ = self.window(now, span)
        return buy + sell

    def rate(self, now: float, span: float) -> float:
        """Volume per second over `window(now, span)` (which covers a little more than `span`)."""
        return self.volume(now, span) / max(now - math.floor(now - span), 1e-9)

    def reset(self) -> None:
        self.buckets.clear()


class NearDepth(Watcher):
    """Quote-currency depth of the thinner book side within a band of mid, computed once per tick and band
    however many detectors ask (it costs O(levels in the band))."""

    def __init__(self, context: InstrumentContext) -> None:
        self.book = context.book
        self.top = context.feature(TopOfBook)
        self._last: tuple[float, float, float | None] = (math.nan, math.nan, None)  # (now, band, depth)

    def thinner_side(self, now: float, band_bps: float) -> float | None:
        """None for a one-sided or out-of-sync book."""
        last_now, last_band, depth = self._last
        if now == last_now and band_bps == last_band:
            return depth
        bids, asks = self.book.bids, self.book.asks
        mid = self.top.mid(now)
        depth = None
        if mid is not None:
            band = mid * band_bps / 1e4
            bid_qty = sum(map(bids.__getitem__, bids.keys()[bids.bisect_left(mid - band):]))
            ask_qty = sum(map(asks.__getitem__, asks.keys()[:asks.bisect_right(mid + band)]))
            depth = min(bid_qty, ask_qty) * mid
        self._last = (now, band_bps, depth)
        return depth
