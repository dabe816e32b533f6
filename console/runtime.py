"""The runtime: one object that owns the sources' tasks, the books, the detectors and the alert engine.

It never imports textual: the console holds a Runtime and reads its state on a timer, headless mode
holds one too. Everything runs on one asyncio loop, so `dispatch` needs no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Protocol

from detectors.base import Detector, InstrumentContext
from detectors.dispatch import DetectorSet, build_detectors
from detectors.engine import AlertEngine
from detectors.market import MarketView
from detectors.sessions import SessionGate
from detectors.settings import DetectorSettings
from feeds.book import ApplyResult, OrderBook
from feeds.calendars import Calendars, SessionStatus
from feeds.events import BOOK, LABEL, ORDER, STATUS, TRADE, Event, LabelEvent, StatusEvent
from feeds.live.counters import FeedCounters
from feeds.settings import InstrumentSettings, MarketsSettings, VenueSettings
from feeds.source import Source

if TYPE_CHECKING:
    from detectors.notify import Notifier
    from detectors.store import AlertStore

Consumer = Callable[[list[Event]], None]
TICK_S = 0.5  # detectors' timers (stale feeds) run every TICK_S of market time
_INF = float("inf")
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
    watchers: list = field(default_factory=list)  # on_book/on_trade hooks run after the detectors: the maker
    hooks: DetectorSet | None = None  # the detectors' hooks by event type: only those they override
    bad_events: int = 0  # malformed events dropped before the detectors (non-finite or negative price/size)
    out_of_order: int = 0  # events older than the instrument's last one: the book decides, detectors skip them
    gate: SessionGate = field(default_factory=lambda: SessionGate("crypto", None))  # its market's session

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
    feed: FeedCounters | None = None  # a live venue's malformed / reconnect / gap / rate-limit counts


class Service(Protocol):
    """Runs beside the sources: started before the first event, stopped after the last (alert store, notifier)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class Runtime:
    def __init__(self, venues: Iterable[VenueSettings], instruments: Iterable[InstrumentSettings],
                 detector_settings: DetectorSettings, sources: Iterable[Source] = (), live_lag: bool = False,
                 catalogue: Iterable[InstrumentSettings] = (), speed: float = 0.0,
                 markets: MarketsSettings | None = None) -> None:
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
        self.maker = None  # the MakerEngine when maker.instruments is set (console.maker_runtime attaches it)
        self.services: list[Service] = []  # in start order; console.alert_services adds the two below
        self.alert_store: AlertStore | None = None  # its status() is the store's health (red when it cannot write)
        self.notifier: Notifier | None = None  # its status() and dead_letters: undelivered notifications
        self.labels: list[LabelEvent] = []
        self.market = MarketView()  # every instrument's book by underlying, for cross-instrument detectors
        # one session gate per market (detectors.sessions); without `markets` every market is always open
        self.gates = {c.name: SessionGate(c.name, c) for c in Calendars(markets)} if markets is not None else {}
        self.market_time = 0.0
        self.events = 0
        self.book_gaps = 0
        self.bad_events = 0
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
        book = OrderBook(settings.venue, settings.symbol)
        gate = self.gates.get(settings.market)
        if gate is None:  # no calendar for this market (a runtime built without `markets`): always open
            gate = self.gates[settings.market] = SessionGate(settings.market, None)
        context = InstrumentContext(settings, book, self.engine.submit, venue.freshness_s, self.market,
                                    calendar=gate.calendar)
        hooks = build_detectors(context, self.detector_settings)
        self.market.add(settings, book)
        state = InstrumentState(settings, book, hooks.detectors, hooks=hooks, gate=gate)
        gate.members.append(hooks)
        context.last_event = lambda: state.last_ts
        context.event_count = lambda: state.events
        context.ticks_seen = lambda: book.updates > 0 or state.first_price is not None
        context.session_opened = lambda: gate.opened
        self.instruments[key] = state
        return state

    def instrument(self, settings: InstrumentSettings) -> InstrumentState:
        """A configured instrument's state, watched from now on if it was not yet (the maker's, in a replay)."""
        return self.instruments.get((settings.venue, settings.symbol)) or self._add_instrument(settings)

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
        next_tick, inf = self._next_tick, _INF
        for event in batch:
            ts = event.ts
            if ts >= next_tick:
                self.tick(ts)
                next_tick = self._next_tick
            t = event.t
            if t == ORDER or t == BOOK or t == TRADE:  # orders first: most of a feed with L3 data
                state = instruments.get((event.venue, event.symbol)) or self._instrument_for(event.venue, event.symbol)
                state.events += 1
                gate = state.gate  # _session_live inlined: this runs for every event
                if ts >= gate.end:
                    gate.move(ts)  # the market's session changed: detectors pause, resume or start a new day
                in_order = ts >= state.last_ts
                if in_order:
                    state.last_ts = ts
                else:
                    state.out_of_order += 1
                detect = in_order and gate.live  # detectors see in-order events of an open market
                book = state.book
                if t == ORDER:
                    if not (0.0 <= event.price < inf and 0.0 <= event.qty < inf):
                        self._bad(state, event, "order")
                    elif detect:
                        for hook in state.hooks.order:
                            hook(book, event)
                elif t == BOOK:
                    result = book.apply(event)
                    if result is ApplyResult.APPLIED:
                        if detect:
                            for hook in state.hooks.book:
                                hook(book, event)
                        for watcher in state.watchers:
                            watcher.on_book(book, event)
                    elif result is ApplyResult.GAP:
                        self.book_gaps += 1
                        self._reset(state)
                        self._status_hooks(state, StatusEvent(
                            event.ts, event.venue, event.symbol, "gap",
                            f"sequence gap: prev_seq {event.prev_seq} after seq {book.seq}"))
                elif not (0.0 < event.price < inf and 0.0 < event.qty < inf):
                    self._bad(state, event, "trade")
                else:
                    if state.first_price is None:
                        state.first_price = event.price
                    state.last_price = event.price
                    state.tape.append(event)
                    if detect:
                        for hook in state.hooks.trade:
                            hook(book, event)
                    for watcher in state.watchers:
                        watcher.on_trade(book, event)
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
                if event.state == "gap" and state.book.mark_gap():
                    self.book_gaps += 1
                if event.state in ("disconnected", "gap"):
                    self._reset(state)
                self._status_hooks(state, event)
            return
        state = self._instrument_for(event.venue, event.symbol)
        state.events += 1
        state.last_ts = max(state.last_ts, event.ts)
        if self._session_live(state, event.ts):
            for hook in state.hooks.bar if event.t == "bar" else state.hooks.mark:
                hook(event)

    @staticmethod
    def _session_live(state: InstrumentState, ts: float) -> bool:
        """Whether the instrument's market is open at `ts`, moving its session gate on if `ts` left its segment."""
        gate = state.gate
        if ts >= gate.end:
            gate.move(ts)
        return gate.live

    def _status_hooks(self, state: InstrumentState, event: StatusEvent) -> None:
        """Feed status to the detectors, open markets only: the book and the health row take it in any case."""
        if self._session_live(state, event.ts):
            for hook in state.hooks.status:
                hook(event)

    def _bad(self, state: InstrumentState, event: Event, what: str) -> None:
        """A malformed event: counted, kept from the detectors, and reported to the feed_gap detector."""
        state.bad_events += 1
        self.bad_events += 1
        if self._session_live(state, state.last_ts):
            for hook in state.hooks.bad_data:
                hook(state.last_ts, f"{what} price {event.price!r} qty {event.qty!r}")

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
        state.hooks.reset()

    def tick(self, now: float) -> None:
        """Run the detectors' timers (stale feeds) at market time `now`.

        Ticks fall on a fixed grid of market time, whatever the batching, so a replay raises its
        timer alerts at exactly the times the live run did.
        """
        self._next_tick = (now // TICK_S + 1) * TICK_S
        for state in self.instruments.values():
            if self._session_live(state, now):  # closed markets' timers rest: a night is not a stale feed
                for hook in state.hooks.tick:
                    hook(now)

    def market_sessions(self, now: float) -> list[SessionStatus]:
        """Each watched market's session at `now`, when it changes and when it next opens (the status bar)."""
        markets = dict.fromkeys(state.settings.market for state in self.instruments.values())
        return [self.gates[market].status(now) for market in markets]

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
        await self._start_services()
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
            await self._stop_services(self.services)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()

    async def _start_services(self) -> None:
        started = []
        try:
            for service in self.services:
                await service.start()
                started.append(service)
        except BaseException:
            await self._stop_services(started)
            raise

    @staticmethod
    async def _stop_services(services: list[Service]) -> None:
        for service in reversed(services):
            await service.stop()

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
                now = self.market_time + quiet * self.speed
                self.tick(now)
                if self._until is not None and now >= self._until:
                    self.stopped.set()  # --duration ends a run whose feeds went silent, too

    def stop(self) -> None:
        self.stopped.set()
