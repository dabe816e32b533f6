"""CcxtSource: one live venue through ccxt.pro, as a Source of FORMAT.md events that survives real networks.

Every feed (an instrument's book, trades, mark...) runs in its own loop. A lost connection emits a
`disconnected` status and retries after an exponential, jittered, capped delay; a sequence or checksum
break emits `gap` and resyncs the book from a fresh snapshot; the first data after either emits
`connected`. The runtime resets the instrument's detectors on `disconnected` and `gap`.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any, Callable

from feeds.events import StatusEvent
from feeds.live.backoff import Backoff
from feeds.live.counters import FeedCounters
from feeds.live.channels import Feed, plan_feeds
from feeds.live.exchange import LiveFeedError, load_markets, market_problem, open_exchange
from feeds.settings import InstrumentSettings, VenueSettings
from feeds.source import Emit


MARKET_DATA = ("book", "trades", "ticker")  # channels without which an instrument is not watched at all


class CcxtSource:
    """Live market data for one `source: ccxt` venue."""

    def __init__(self, venue: VenueSettings, instruments: list[InstrumentSettings],
                 markets: dict[str, Any] | None = None, counters: FeedCounters | None = None,
                 rng: Callable[[], float] = random.random, clock: Callable[[], float] = time.time) -> None:
        self.venue = venue
        self.instruments = list(instruments)
        self.markets = markets  # from a start-up check (feeds.live.load_venue); loaded here when None
        self.counters = counters or FeedCounters()
        self.name = f"ccxt:{venue.name}"
        self._rng = rng
        self._clock = clock

    async def run(self, emit: Emit) -> None:
        exchange = open_exchange(self.venue, self.counters)
        try:
            await self._markets(exchange, emit)
            feeds = []
            for instrument in self.instruments:
                problem = market_problem(exchange, instrument)
                if problem:
                    self._halt(emit, instrument.symbol, problem)
                    continue
                planned, missing = plan_feeds(exchange, self.venue, instrument, self._drop)
                for channel, problem in missing:
                    if channel in MARKET_DATA:
                        self._halt(emit, instrument.symbol, problem)
                    else:  # no mark or funding on this exchange: worth knowing, not a halted instrument
                        self.counters.note("errors", problem)
                feeds += planned
            await asyncio.gather(*(self._follow(feed, emit) for feed in feeds))
        finally:
            await exchange.close()

    async def _markets(self, exchange, emit: Emit) -> None:
        if self.markets is not None:
            exchange.set_markets(self.markets)
            return
        while True:  # a venue that is down at start is waited for, not given up on
            try:
                self.markets = await load_markets(exchange, self.venue)
                return
            except LiveFeedError as exc:
                self.counters.note("errors", str(exc))
                emit([self._status(None, "disconnected", f"{exc}; retrying in {self.venue.reconnect_max_s:g} s")])
                await asyncio.sleep(self.venue.reconnect_max_s)

    async def _follow(self, feed: Feed, emit: Emit) -> None:
        """Run one feed forever: convert what ccxt hands over, and recover from whatever goes wrong."""
        backoff = Backoff(self.venue.reconnect_base_s, self.venue.reconnect_max_s, self._rng)
        refused = Backoff(self.venue.reconnect_max_s, self.venue.reconnect_max_s, self._rng)
        flowing = False
        while True:
            try:
                data = await feed.fetch()
            except Exception as exc:  # noqa: BLE001 - whatever ccxt raises, this feed recovers and the others go on
                flowing = False
                feed.resync()
                state, counter = _classify(exc)
                await self._pause(emit, feed, state, counter, exc, refused if state == "halted" else backoff)
                continue
            now = self._clock()
            try:
                events = feed.convert(data, now)
            except Exception as exc:  # noqa: BLE001 - a structure ccxt filled with something unexpected
                self._drop(f"{feed.symbol} {feed.name}: dropped an update ({type(exc).__name__}: {exc})")
                events = []
            if not flowing:
                flowing = True
                emit([self._status(feed.symbol, "connected", feed.name)])
            if events:
                emit(events)
            if feed.poll_s is not None:
                await asyncio.sleep(feed.poll_s)

    async def _pause(self, emit: Emit, feed: Feed, state: str, counter: str, exc: BaseException,
                     backoff: Backoff) -> None:
        delay = backoff.next_delay()
        problem = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        self.counters.note(counter, f"{feed.symbol} {feed.name}: {problem}")
        emit([self._status(feed.symbol, state, f"{feed.name}: {problem}; retry in {delay:.2f} s")])
        await asyncio.sleep(delay)

    def _halt(self, emit: Emit, symbol: str, problem: str) -> None:
        self.counters.note("errors", problem)
        emit([self._status(symbol, "halted", problem)])

    def _drop(self, problem: str) -> None:
        self.counters.note("malformed", problem)

    def _status(self, symbol: str | None, state: str, detail: str) -> StatusEvent:
        return StatusEvent(self._clock(), self.venue.name, symbol, state, detail)


def _classify(exc: BaseException) -> tuple[str, str]:
    """(status state, counter) for an error from a ccxt call."""
    import ccxt
    if isinstance(exc, ccxt.InvalidNonce):  # also ChecksumError: the book lost sync with the exchange
        return "gap", "gaps"
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return "disconnected", "rate_limited"
    if isinstance(exc, ccxt.NetworkError):
        return "disconnected", "reconnects"
    if isinstance(exc, (ccxt.BadRequest, ccxt.NotSupported, ccxt.AuthenticationError, ccxt.PermissionDenied)):
        return "halted", "errors"  # the exchange refuses this symbol or channel: retry rarely
    return "disconnected", "errors"  # an exchange error, or a reply ccxt could not parse
