"""The runtime's books grouped by underlying, for the detectors that compare instruments with each other.

A cross-instrument detector is still one detector per instrument (its alerts, thresholds and radar cell are
that instrument's); it reads its siblings' books through this view on its timer, so it costs O(siblings)
per tick and nothing per event.
"""

from __future__ import annotations

from feeds.book import OrderBook
from feeds.settings import InstrumentSettings

Listing = tuple[InstrumentSettings, OrderBook]


def underlying(symbol: str) -> str:
    """BTC/USDT:USDT (a perpetual) and BTC/USDT (spot) share the underlying BTC/USDT, as in the simulator."""
    return symbol.split(":", 1)[0]


class MarketView:
    """Every watched instrument with its live book, by underlying; instruments join as the runtime meets them."""

    def __init__(self) -> None:
        self.by_underlying: dict[str, list[Listing]] = {}
        self._siblings: dict[str, list[Listing]] = {}  # instrument key -> its siblings, rebuilt on every add
        self._elsewhere: dict[str, bool] = {}  # instrument key -> its symbol is listed on another venue
        self._mids: dict[int, tuple[float, float | None]] = {}  # id(book) -> (tick time, mid then)

    def add(self, instrument: InstrumentSettings, book: OrderBook) -> None:
        self.by_underlying.setdefault(underlying(instrument.symbol), []).append((instrument, book))
        self._siblings.clear()
        self._elsewhere.clear()

    def siblings(self, instrument: InstrumentSettings) -> list[Listing]:
        """The other instruments on the same underlying (any venue, any kind)."""
        key = instrument.key
        found = self._siblings.get(key)
        if found is None:
            found = self._siblings[key] = [listing for listing in
                                           self.by_underlying.get(underlying(instrument.symbol), ())
                                           if listing[0].key != key]
        return found

    def mid(self, book: OrderBook, now: float, stale_s: float) -> float | None:
        """A live book's mid as of tick `now`, computed once however many siblings ask; None when the book is
        out of sync, one-sided or has not updated for `stale_s` (a frozen price is not a price)."""
        cached = self._mids.get(id(book))
        if cached is not None and cached[0] == now:
            return cached[1]
        mid = book.mid() if book.in_sync and now - book.last_ts <= stale_s else None
        if mid is not None and not mid > 0:
            mid = None
        self._mids[id(book)] = (now, mid)
        return mid

    def listed_elsewhere(self, instrument: InstrumentSettings) -> bool:
        """The same symbol trades on another venue too."""
        found = self._elsewhere.get(instrument.key)
        if found is None:
            found = self._elsewhere[instrument.key] = any(
                other.symbol == instrument.symbol for other, _ in self.siblings(instrument))
        return found
