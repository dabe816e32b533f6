"""The runtime: one object that owns the sources' tasks, the books, the detectors and the alert engine.

It never imports textual: the console holds a Runtime and reads its state on a timer, headless mode
holds one too. Everything runs on one asyncio loop, so `dispatch` needs no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from detectors import DETECTORS
from detectors.base import Detector
from detectors.engine import AlertEngine
from detectors.feed_health import StaleFeed
from detectors.settings import DetectorSettings
from feeds.book import ApplyResult, OrderBook
from feeds.events import BOOK, LABEL, STATUS, TRADE, Event, LabelEvent
from feeds.settings import InstrumentSettings, VenueSettings
from feeds.source import Source

Consumer = Callable[[list[Event]], None]
TICK_S = 0.5  # detectors' timers (stale feeds) run every TICK_S of market time
TAPE_LEN = 50


@dataclass
class InstrumentState:
    """What the console shows per instrument, kept current as events arrive."""

    settings: InstrumentSettings
    book: OrderBook
    detectors: list[Detector]
    last_price: float | None = None
    first_price: float | None = None
    last_ts: float = 0.0
    events: int = 0
    rate: float = 0.0  # events per second, refreshed by `refresh_rates`
    tape: deque = field(default_factory=lambda: deque(maxlen=TAPE_LEN))

    @property
    def change_pct(self) -> float | None:
        if self.last_price is None or not self.first_price:
            return None
        return (self.last_price / self.first_price - 1.0) * 100.0


@dataclass
class VenueHealth:
    name: str
    events: int = 0
    rate: float = 0.0  # events per second
    lag_s: float = 0.0  # wall clock minus event time at the last event (live sources only)
    last_wall: float = 0.0
    state: str = "waiting"  # waiting / connected / disconnected / gap / stale


class Runtime:
    def __init__(self, venues: Iterable[VenueSettings], instruments: Iterable[InstrumentSettings],
                 detector_settings: DetectorSettings, sources: Iterable[Source] = (), live_lag: bool = False,
                 catalogue: Iterable[InstrumentSettings] = (), speed: float = 0.0) -> None:
        self.venues = {v.name: v for v in venues}
        self.catalogue = {(i.venue, i.symbol): i for i in catalogue}  # settings for instruments met later
        self.speed = speed  # market seconds per wall second of the sources; 0 = as fast as they go
        self.detector_settings = detector_settings
        self.sources = list(sources)
        self.live_lag = live_lag  # lag is only meaningful when event times are exchange times happening now
        self.engine = AlertEngine()
        self.instruments: dict[tuple[str, str], InstrumentState] = {}
        self.health: dict[str, VenueHealth] = {name: VenueHealth(name) for name in self.venues}
        self.consumers: list[Consumer] = []
        self.labels: list[LabelEvent] = []
        self.market_time = 0.0
        self.events = 0
        self.book_gaps = 0
        self.stopped = asyncio.Event()
        self._until: float | None = None
        self._duration: float | None = None
        self._next_tick = 0.0
        self._last_dispatch_wall = time.monotonic()
        self._rate_marks: tuple[float, int, dict] | None = None
        for instrument in instruments:
            self._add_instrument(instrument)

    # -- set-up ---------------------------------------------------------------------------------
    def _add_instrument(self, settings: InstrumentSettings) -> InstrumentState:
        key = (settings.venue, settings.symbol)
        venue = self.venues.get(settings.venue)
        if venue is None:
            venue = self.venues[settings.venue] = VenueSettings(settings.venue)
            self.health[settings.venue] = VenueHealth(settings.venue)
        detectors = []
        for kind, cls in DETECTORS.items():
            params = self.detector_settings.params_for(kind, settings.key)
            if not params.enabled:
                continue
            if cls is StaleFeed:
                detectors.append(cls(settings, params, self.engine.submit, venue_freshness_s=venue.freshness_s))
            else:
                detectors.append(cls(settings, params, self.engine.submit))
        state = InstrumentState(settings, OrderBook(settings.venue, settings.symbol), detectors)
        self.instruments[key] = state
        return state

    def _instrument_for(self, venue: str, symbol: str) -> InstrumentState:
        """An instrument not in the config (e.g. found in a recording) is watched with default settings."""
        state = self.instruments.get((venue, symbol))
        if state is None and (venue, symbol) in self.catalogue:
            state = self._add_instrument(self.catalogue[(venue, symbol)])
        if state is None:
            kind = "perp" if ":" in symbol else ("spot" if "/" in symbol else "equity")
            state = self._add_instrument(InstrumentSettings(venue, symbol, kind, "crypto", tick_size=1e-8))
        return state

    # -- the hot path -----------------------------------------------------------------------------
    def dispatch(self, batch: list[Event]) -> None:
        """Apply one batch of events: books, detectors, consumers, then timers if market time moved on."""
        if not batch:
            return
        instruments = self.instruments
        for event in batch:
            if event.ts >= self._next_tick:
                self.tick(event.ts)
            t = event.t
            if t == BOOK or t == TRADE:
                state = instruments.get((event.venue, event.symbol)) or self._instrument_for(event.venue, event.symbol)
                state.events += 1
                state.last_ts = event.ts
                book = state.book
                if t == BOOK:
                    result = book.apply(event)
                    if result is ApplyResult.APPLIED:
                        for detector in state.detectors:
                            detector.on_book(book, event)
                    elif result is ApplyResult.GAP:
                        self.book_gaps += 1
                        self._reset(state)
                else:
                    if state.first_price is None:
                        state.first_price = event.price
                    state.last_price = event.price
                    state.tape.append(event)
                    for detector in state.detectors:
                        detector.on_trade(book, event)
            else:
                self._dispatch_other(event)
        last = batch[-1]
        self.events += len(batch)
        self._last_dispatch_wall = time.monotonic()
        if last.ts > self.market_time:
            self.market_time = last.ts
        self._note_venues(batch)
        for consumer in self.consumers:
            consumer(batch)
        if self._until is not None and self.market_time >= self._until:
            self.stopped.set()

    def _dispatch_other(self, event: Event) -> None:
        if event.t == LABEL:
            self.labels.append(event)
            return  # ground truth: detectors must never see it
        if event.t == STATUS:
            health = self.health.get(event.venue)
            if health is not None:
                health.state = event.state
            targets = [s for (v, sym), s in self.instruments.items()
                       if v == event.venue and (event.symbol is None or sym == event.symbol)]
            for state in targets:
                if event.state in ("disconnected", "gap"):
                    self._reset(state)
                for detector in state.detectors:
                    detector.on_status(event)
            return
        state = self._instrument_for(event.venue, event.symbol)
        state.events += 1
        state.last_ts = event.ts
        hook = {"order": "on_order", "bar": "on_bar", "mark": "on_mark"}[event.t]
        for detector in state.detectors:
            getattr(detector, hook)(event)

    def _note_venues(self, batch: list[Event]) -> None:
        """Per-venue counts, once per venue per batch rather than per event."""
        wall = time.time()
        counts: dict[str, int] = {}
        last_ts: dict[str, float] = {}
        for event in batch:
            counts[event.venue] = counts.get(event.venue, 0) + 1
            last_ts[event.venue] = event.ts
        for venue, n in counts.items():
            health = self.health.get(venue)
            if health is None:
                health = self.health[venue] = VenueHealth(venue)
            health.events += n
            health.last_wall = wall
            if health.state == "waiting":
                health.state = "connected"
            if self.live_lag:
                health.lag_s = max(wall - last_ts[venue], 0.0)

    def _reset(self, state: InstrumentState) -> None:
        for detector in state.detectors:
            detector.reset()

    def tick(self, now: float) -> None:
        """Run the detectors' timers (stale feeds) at market time `now`.

        Ticks fall on a fixed grid of market time, whatever the batching, so a replay raises its
        timer alerts at exactly the times the live run did.
        """
        self._next_tick = (now // TICK_S + 1) * TICK_S
        for state in self.instruments.values():
            for detector in state.detectors:
                detector.on_tick(now)

    # -- running ------------------------------------------------------------------------------------
    def refresh_rates(self) -> None:
        """Events/s per venue and instrument since the last call; the console calls it about once a second."""
        wall = time.monotonic()
        venue_counts = {name: h.events for name, h in self.health.items()}
        inst_counts = {key: s.events for key, s in self.instruments.items()}
        if self._rate_marks is not None:
            then, venue_then, inst_then = self._rate_marks
            elapsed = max(wall - then, 1e-6)
            for name, health in self.health.items():
                health.rate = (venue_counts[name] - venue_then.get(name, 0)) / elapsed
            for key, state in self.instruments.items():
                state.rate = (inst_counts[key] - inst_then.get(key, 0)) / elapsed
        self._rate_marks = (wall, venue_counts, inst_counts)

    async def run(self, duration: float | None = None) -> None:
        """Run every source until they all finish, `stop()` is called, or `duration` market seconds pass."""
        self.stopped.clear()
        self._until = None
        self._duration = duration
        tasks = [asyncio.create_task(self._run_source(source), name=f"source:{source.name}")
                 for source in self.sources]
        helpers = [asyncio.create_task(self._all_done(list(tasks)))]
        if self.speed > 0:
            helpers.append(asyncio.create_task(self._wall_ticker(), name="wall-ticker"))
        try:
            await self.stopped.wait()
        finally:
            for task in tasks + helpers:
                task.cancel()
            await asyncio.gather(*tasks, *helpers, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()

    async def _run_source(self, source: Source) -> None:
        def emit(batch: list[Event]) -> None:
            if self._until is None and self._duration is not None and batch:
                self._until = batch[0].ts + self._duration
            self.dispatch(batch)
        await source.run(emit)

    async def _all_done(self, tasks: list[asyncio.Task]) -> None:
        """Stop when every source has finished, or as soon as one fails."""
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        self.stopped.set()

    async def _wall_ticker(self) -> None:
        """When every feed goes quiet, market time still advances with the wall clock: keep timers running."""
        while True:
            await asyncio.sleep(TICK_S)
            quiet = time.monotonic() - self._last_dispatch_wall
            if quiet >= TICK_S and self.market_time > 0:
                self.tick(self.market_time + quiet * self.speed)

    def stop(self) -> None:
        self.stopped.set()
