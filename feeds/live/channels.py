"""Which ccxt calls serve which channel of an instrument: websocket watches, or REST polling where there are none.

A Feed is one stream of one instrument: a ccxt call that returns the next structure, and a converter to
FORMAT.md events. The source runs every feed in its own loop, so one failing feed never stops another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from feeds.events import Event
from feeds.live.convert import BookDiffer, Drop, mark_event, top_of_book, trade_events
from feeds.settings import InstrumentSettings, VenueSettings


@dataclass
class Feed:
    name: str  # book / trades / ticker / mark / funding
    symbol: str
    fetch: Callable[[], Awaitable[Any]]  # the ccxt call giving the next structure
    convert: Callable[[Any, float], list[Event]]  # (structure, wall time) -> events
    poll_s: float | None = None  # REST polling: wait this long between calls; None for a websocket watch
    resync: Callable[[], None] = lambda: None  # forget state after a gap or reconnect (the book's differ)


class _NewTrades:
    """REST trades come as the latest N each time: pass on only those not seen yet (none on the first call)."""

    def __init__(self, venue: str, symbol: str, drop: Drop) -> None:
        self.venue, self.symbol, self.drop = venue, symbol, drop
        self._last_ms: float | None = None
        self._ids_at_last: set = set()

    def __call__(self, trades: list[dict], now: float) -> list[Event]:
        seen_before = self._last_ms
        fresh = [trade for trade in trades if seen_before is not None and self._is_new(trade, seen_before)]
        for trade in trades:
            stamp = trade.get("timestamp") or 0
            if self._last_ms is None or stamp > self._last_ms:
                self._last_ms, self._ids_at_last = stamp, set()
            if stamp == self._last_ms:
                self._ids_at_last.add(trade.get("id"))
        return trade_events(self.venue, self.symbol, fresh, now, self.drop)

    def _is_new(self, trade: dict, last_ms: float) -> bool:
        stamp = trade.get("timestamp") or 0
        return stamp > last_ms or (stamp == last_ms and trade.get("id") not in self._ids_at_last)


class _Planner:
    """Builds one instrument's feeds, preferring websocket watches and falling back to REST polling."""

    def __init__(self, exchange, venue: VenueSettings, instrument: InstrumentSettings) -> None:
        self.exchange, self.venue, self.symbol = exchange, venue, instrument.symbol
        self.feeds: list[Feed] = []
        self.missing: list[tuple[str, str]] = []  # (channel, problem)

    def add(self, channel: str, watch: str, fetch: str, convert, poll_convert=None, resync=lambda: None,
            poll_s: float | None = None) -> None:
        has, symbol = self.exchange.has, self.symbol
        if not self.venue.rest_only and has.get(watch):
            method = getattr(self.exchange, _snake(watch))
            self.feeds.append(Feed(channel, symbol, lambda: method(symbol), convert, None, resync))
        elif has.get(fetch):
            method = getattr(self.exchange, _snake(fetch))
            self.feeds.append(Feed(channel, symbol, lambda: method(symbol), poll_convert or convert,
                                   poll_s or self.venue.rest_poll_s, resync))
        else:
            problem = f"{self.exchange.id} has neither {watch} nor {fetch}: no {channel} for {symbol}"
            self.missing.append((channel, problem))


def plan_feeds(exchange, venue: VenueSettings, instrument: InstrumentSettings,
               drop: Drop) -> tuple[list[Feed], list[tuple[str, str]]]:
    """The feeds serving `instrument`'s configured channels, and (channel, problem) for those the exchange lacks."""
    name, symbol = venue.name, instrument.symbol
    plan = _Planner(exchange, venue, instrument)
    if "book" in venue.channels:
        differ = BookDiffer(name, symbol, venue.book_depth)
        plan.add("book", "watchOrderBook", "fetchOrderBook", lambda book, now: _some(differ.event(book, now)),
                 resync=differ.resync)
    if "trades" in venue.channels:
        plan.add("trades", "watchTrades", "fetchTrades",
                 lambda trades, now: trade_events(name, symbol, trades, now, drop),
                 poll_convert=_NewTrades(name, symbol, drop))
    if "ticker" in venue.channels:
        if exchange.has.get("watchBidsAsks") and not venue.rest_only:  # the best quote stream, where there is one
            plan.feeds.append(Feed("ticker", symbol, lambda: exchange.watch_bids_asks([symbol]),
                                   lambda quotes, now: _some(top_of_book(name, symbol, quotes.get(symbol) or {}, now))))
        else:
            plan.add("ticker", "watchTicker", "fetchTicker", lambda ticker, now: _some(
                top_of_book(name, symbol, ticker, now), mark_event(name, symbol, ticker, now)))
    if "mark" in venue.channels and instrument.kind == "perp":
        def to_mark(data, now):
            return _some(mark_event(name, symbol, data, now))
        if exchange.has.get("watchMarkPrice") and not venue.rest_only:
            plan.add("mark", "watchMarkPrice", "fetchMarkPrice", to_mark)
        plan.add("funding", "watchFundingRate", "fetchFundingRate", to_mark, poll_s=venue.funding_poll_s)
    return plan.feeds, plan.missing


def _some(*events: Event | None) -> list[Event]:
    return [event for event in events if event is not None]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
