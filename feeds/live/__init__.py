"""Live market data through ccxt.pro: every ccxt quirk stays in this package; the rest sees FORMAT.md events."""

from feeds.live.counters import FeedCounters
from feeds.live.exchange import LiveFeedError, LiveVenue, UnknownSymbolError, exchange_problem, load_venue
from feeds.live.source import CcxtSource

__all__ = ["CcxtSource", "FeedCounters", "LiveFeedError", "LiveVenue", "UnknownSymbolError", "exchange_problem",
           "load_venue"]
