"""Opening a ccxt.pro exchange for a venue and reading its markets: the one place that knows ccxt's set-up.

Two ccxt habits are fixed here. A websocket frame that is not valid JSON, or that makes ccxt's handler
raise, would escape ccxt's receive callback and silently stop that connection for good; a guarded client
counts and drops it instead. And every URL can be rewritten by prefix, for mirrors, proxies and test servers.
"""

from __future__ import annotations

import asyncio
import difflib
from dataclasses import dataclass, replace
from typing import Any

from feeds.live.backoff import Backoff
from feeds.live.counters import FeedCounters
from feeds.settings import InstrumentSettings, VenueSettings

MARKET_LOAD_ATTEMPTS = 3
KIND_TYPES = {"spot": ("spot",), "perp": ("swap",)}  # our instrument kind -> ccxt market types it may be


class LiveFeedError(Exception):
    """A live-venue problem the user has to fix before starting (unknown exchange, unreachable exchange)."""


class UnknownSymbolError(LiveFeedError):
    """A configured instrument the exchange does not list (or lists as another kind)."""

    def __init__(self, instrument: InstrumentSettings, problem: str) -> None:
        super().__init__(f"{instrument.key}: {problem}")
        self.instrument = instrument
        self.problem = problem


@dataclass(frozen=True)
class LiveVenue:
    """A venue checked against its exchange: instruments carry the exchange's tick and lot sizes."""

    settings: VenueSettings
    instruments: list[InstrumentSettings]
    markets: dict[str, Any]  # ccxt's markets, so the source need not load them again


def exchange_problem(exchange_id: str) -> str | None:
    """Why `exchange_id` cannot be used with ccxt.pro, or None when it can."""
    import ccxt.pro
    if exchange_id in ccxt.pro.exchanges:
        return None
    close = difflib.get_close_matches(exchange_id, ccxt.pro.exchanges, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{exchange_id!r} is not a ccxt exchange with websocket support{hint}"


def open_exchange(venue: VenueSettings, counters: FeedCounters):
    """A new ccxt.pro exchange for `venue`, its URLs rewritten and its websocket clients guarded."""
    import ccxt.pro
    problem = exchange_problem(venue.exchange or "")
    if problem:
        raise LiveFeedError(f"{venue.name}: {problem}")
    exchange = _guarded_class(getattr(ccxt.pro, venue.exchange))({"enableRateLimit": True})
    exchange.watchfloor_counters = counters
    unused = rewrite_urls(exchange.urls["api"], venue.urls)
    if unused:
        raise LiveFeedError(f"{venue.name}: urls: {', '.join(map(repr, unused))} matches none of "
                            f"{venue.exchange}'s URLs")
    return exchange


def _guarded_class(cls: type) -> type:
    class Guarded(cls):
        watchfloor_counters: FeedCounters

        def client(self, url):
            client = super().client(url)
            if not getattr(client, "watchfloor_guarded", False):
                client.handle_text_or_binary_message = _dropping_malformed(
                    client.handle_text_or_binary_message, self.watchfloor_counters)
                client.watchfloor_guarded = True
            return client

    Guarded.__name__ = Guarded.__qualname__ = cls.__name__
    return Guarded


def _dropping_malformed(handle, counters: FeedCounters):
    def guarded(data) -> None:
        try:
            handle(data)
        except Exception as exc:  # noqa: BLE001 - anything raised here would stop ccxt's receive loop
            counters.note("malformed", f"dropped a message ({type(exc).__name__}: {exc}): {str(data)[:80]}")
    return guarded


def rewrite_urls(tree: dict, prefixes: dict[str, str]) -> list[str]:
    """Replace each prefix in every URL of ccxt's nested `urls` tree; returns the prefixes that matched nothing."""
    used: set[str] = set()

    def walk(node: dict) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value)
            elif isinstance(value, str):
                for prefix, replacement in prefixes.items():
                    if value.startswith(prefix):
                        node[key] = replacement + value[len(prefix):]
                        used.add(prefix)
                        break

    walk(tree)
    return [prefix for prefix in prefixes if prefix not in used]


async def load_markets(exchange, venue: VenueSettings) -> dict[str, Any]:
    """ccxt's markets, retrying network failures a few times; LiveFeedError when the exchange stays unreachable."""
    import ccxt
    backoff = Backoff(venue.reconnect_base_s, venue.reconnect_max_s)
    for attempt in range(1, MARKET_LOAD_ATTEMPTS + 1):
        try:
            return await exchange.load_markets()
        except ccxt.InvalidNonce as exc:  # a NetworkError to ccxt, but retrying cannot fix a clock
            raise LiveFeedError(f"{venue.name}: {venue.exchange} refused the request time (check that this "
                                f"machine's clock is synchronised): {_one_line(exc)}") from None
        except ccxt.AuthenticationError as exc:  # with keys, ccxt reads private data (OKX: the wallet) here
            raise LiveFeedError(f"{venue.name}: {venue.exchange} refused the API credentials: "
                                f"{_one_line(exc)}") from None
        except ccxt.NetworkError as exc:
            if attempt == MARKET_LOAD_ATTEMPTS:
                raise LiveFeedError(f"{venue.name}: cannot load {venue.exchange} markets: {_one_line(exc)}") from None
            await asyncio.sleep(backoff.next_delay())
        except ccxt.BaseError as exc:
            raise LiveFeedError(f"{venue.name}: cannot load {venue.exchange} markets: {_one_line(exc)}") from None
    raise AssertionError("unreachable")


def market_problem(exchange, instrument: InstrumentSettings) -> str | None:
    """Why the exchange cannot serve `instrument`, or None."""
    market = exchange.markets.get(instrument.symbol) if exchange.markets else None
    if market is None:
        close = difflib.get_close_matches(instrument.symbol, list(exchange.markets or ()), n=3, cutoff=0.7)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"{exchange.id} has no market {instrument.symbol!r}{hint}"
    allowed = KIND_TYPES.get(instrument.kind)
    if allowed and market.get("type") not in allowed:
        return f"{exchange.id} lists {instrument.symbol!r} as {market.get('type')}, not {instrument.kind}"
    return None


def with_exchange_sizes(exchange, instrument: InstrumentSettings) -> InstrumentSettings:
    """The instrument with the exchange's tick and lot sizes, where ccxt knows them as steps."""
    import ccxt
    precision = exchange.markets[instrument.symbol].get("precision") or {}

    def step(value) -> float | None:
        if value is None:
            return None
        if exchange.precisionMode == ccxt.TICK_SIZE:
            return float(value)
        if exchange.precisionMode == ccxt.DECIMAL_PLACES:
            return 10.0 ** -float(value)
        return None  # significant digits: no fixed step

    tick, lot = step(precision.get("price")), step(precision.get("amount"))
    return replace(instrument, tick_size=tick or instrument.tick_size, lot_size=lot or instrument.lot_size)


async def load_venue(venue: VenueSettings, instruments: list[InstrumentSettings]) -> LiveVenue:
    """Check a venue's instruments against its exchange before starting; raises LiveFeedError subclasses."""
    exchange = open_exchange(venue, FeedCounters())
    try:
        markets = await load_markets(exchange, venue)
        resolved = []
        for instrument in instruments:
            problem = market_problem(exchange, instrument)
            if problem:
                raise UnknownSymbolError(instrument, problem)
            resolved.append(with_exchange_sizes(exchange, instrument))
        return LiveVenue(venue, resolved, markets)
    finally:
        await exchange.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
