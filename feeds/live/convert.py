"""ccxt's unified structures -> FORMAT.md events. Nothing outside feeds.live ever sees a ccxt dict.

ccxt hands out the whole book on every update; the runtime wants the levels that changed. BookDiffer
keeps the top `depth` levels it last reported and emits a snapshot first (and after every resync), then
deltas with the changed levels only, carrying the exchange's nonce as `seq`.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from feeds.events import SIDES, BookEvent, Level, MarkEvent, TradeEvent

INF = math.inf
Drop = Callable[[str], None]  # called with a one-line reason when an item is malformed


def _ts(value: Any, now: float) -> float:
    """ccxt's millisecond timestamp in seconds, or `now` when the exchange gave none."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < INF:
        return value / 1000.0
    return now


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and -INF < value < INF:
        return float(value)
    return None


def _levels(side: list, depth: int) -> dict[float, float]:
    """The best `depth` levels of a ccxt book side as {price: qty}; malformed levels are left out."""
    return {level[0]: level[1] for level in side[:depth]
            if level[0] is not None and level[1] is not None and 0 < level[0] < INF and 0 <= level[1] < INF}


def _changes(before: dict[float, float], after: dict[float, float]) -> list[Level]:
    changed = [(price, qty) for price, qty in after.items() if before.get(price) != qty]
    changed.extend((price, 0.0) for price in before.keys() - after.keys())
    return changed


class BookDiffer:
    """One instrument's ccxt books in, FORMAT.md book events out."""

    def __init__(self, venue: str, symbol: str, depth: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.depth = depth
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}
        self._seq: int | None = None
        self._synced = False

    def resync(self) -> None:
        """The next book is reported as a snapshot (after a reconnect or a sequence break)."""
        self._synced = False

    def event(self, book: dict, now: float) -> BookEvent | None:
        """The event that brings our copy up to `book`, or None when nothing in the top levels changed."""
        bids, asks = _levels(book["bids"], self.depth), _levels(book["asks"], self.depth)
        nonce = book.get("nonce")
        seq = nonce if isinstance(nonce, int) and not isinstance(nonce, bool) else None
        ts = _ts(book.get("timestamp"), now)
        if not self._synced:
            event = BookEvent(ts, self.venue, self.symbol, True, sorted(bids.items(), reverse=True),
                              sorted(asks.items()), seq)
            self._synced = True
        else:
            bid_changes, ask_changes = _changes(self._bids, bids), _changes(self._asks, asks)
            if not bid_changes and not ask_changes:
                return None
            event = BookEvent(ts, self.venue, self.symbol, False, bid_changes, ask_changes, seq,
                              self._seq if seq is not None else None)
        self._bids, self._asks, self._seq = bids, asks, seq
        return event


def trade_events(venue: str, symbol: str, trades: list[dict], now: float, drop: Drop) -> list[TradeEvent]:
    events = []
    for trade in trades:
        price, qty, side = _number(trade.get("price")), _number(trade.get("amount")), trade.get("side")
        if price is None or price <= 0 or qty is None or qty < 0 or side not in SIDES:
            drop(f"{symbol}: dropped a trade with price {trade.get('price')!r}, amount {trade.get('amount')!r}, "
                 f"side {side!r}")
            continue
        trade_id = trade.get("id")
        events.append(TradeEvent(_ts(trade.get("timestamp"), now), venue, symbol, price, qty, side,
                                 None if trade_id is None else str(trade_id)))
    return events


def mark_event(venue: str, symbol: str, data: dict, now: float) -> MarkEvent | None:
    """A mark event from a ccxt ticker or funding-rate structure; None when it carries none of the fields.

    ccxt's `fundingTimestamp` is the next settlement, the one `fundingRate` applies to.
    """
    mark, index = _number(data.get("markPrice")), _number(data.get("indexPrice"))
    funding = _number(data.get("fundingRate"))
    next_ms = _number(data.get("fundingTimestamp")) or _number(data.get("nextFundingTimestamp"))
    if mark is None and index is None and funding is None:
        return None
    return MarkEvent(_ts(data.get("timestamp"), now), venue, symbol, mark, index, funding,
                     None if next_ms is None else next_ms / 1000.0)


def top_of_book(venue: str, symbol: str, ticker: dict, now: float) -> BookEvent | None:
    """A one-level book snapshot from a ticker's best bid and ask (the `ticker` channel's view of the book)."""
    quote = [_number(ticker.get(key)) for key in ("bid", "bidVolume", "ask", "askVolume")]
    if any(value is None or value <= 0 for value in quote):
        return None  # a ticker without both prices and sizes cannot stand in for the book
    bid, bid_qty, ask, ask_qty = quote
    return BookEvent(_ts(ticker.get("timestamp"), now), venue, symbol, True, [(bid, bid_qty)], [(ask, ask_qty)])
