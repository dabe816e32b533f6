"""The L2 order book: price levels per side on SortedDicts, so an update touches only changed levels."""

from __future__ import annotations

from enum import Enum

from sortedcontainers import SortedDict

from feeds.events import BookEvent, Level

_dict_set, _dict_del = dict.__setitem__, dict.__delitem__


class ApplyResult(Enum):
    APPLIED = "applied"
    GAP = "gap"  # prev_seq did not follow the last seq: the book is out of sync until the next snapshot
    IGNORED = "ignored"  # a delta while out of sync


class OrderBook:
    """One instrument's L2 book. Quantities are absolute per level; a zero quantity deletes the level."""

    __slots__ = ("venue", "symbol", "bids", "asks", "seq", "in_sync", "last_ts", "gaps", "updates")

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.seq: int | None = None
        self.in_sync = False
        self.last_ts = 0.0
        self.gaps = 0
        self.updates = 0

    def apply(self, event: BookEvent) -> ApplyResult:
        """Apply a snapshot or delta; a delta whose prev_seq breaks the sequence is a gap and is not applied."""
        if event.snapshot:
            self.bids.clear()
            self.asks.clear()
            self.seq = event.seq  # a snapshot restarts the sequence, even one without numbers
            self.in_sync = True
        elif not self.in_sync:
            if self.seq is None and event.prev_seq is None and not self.gaps:
                self.in_sync = True  # a source without snapshots or sequence numbers: trust the deltas
            else:
                return ApplyResult.IGNORED
        elif event.prev_seq is not None and self.seq is not None and event.prev_seq != self.seq:
            self.in_sync = False
            self.gaps += 1
            return ApplyResult.GAP
        _set_levels(self.bids, event.bids)
        _set_levels(self.asks, event.asks)
        if event.seq is not None:
            self.seq = event.seq
        self.last_ts = event.ts
        self.updates += 1
        return ApplyResult.APPLIED

    def mark_gap(self) -> bool:
        """The source saw a gap this book cannot (a checksum failure): out of sync until the next snapshot.

        True when the book was in sync, so one gap is counted once.
        """
        if not self.in_sync:
            return False
        self.in_sync = False
        self.gaps += 1
        return True

    def best_bid(self) -> Level | None:
        return self.bids.peekitem(-1) if self.bids else None

    def best_ask(self) -> Level | None:
        return self.asks.peekitem(0) if self.asks else None

    def mid(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids.peekitem(-1)[0] + self.asks.peekitem(0)[0]) / 2.0

    def spread(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return self.asks.peekitem(0)[0] - self.bids.peekitem(-1)[0]

    def spread_bps(self) -> float | None:
        """Spread over mid in basis points; negative when the book is crossed."""
        if not self.bids or not self.asks:
            return None
        bid = self.bids.peekitem(-1)[0]
        ask = self.asks.peekitem(0)[0]
        return (ask - bid) / ((ask + bid) / 2.0) * 1e4

    def is_crossed(self) -> bool:
        return bool(self.bids) and bool(self.asks) and self.bids.peekitem(-1)[0] >= self.asks.peekitem(0)[0]

    def depth_within_bps(self, bps: float) -> tuple[float, float]:
        """Total bid and ask quantity priced within `bps` of mid (inclusive)."""
        mid = self.mid()
        if mid is None:
            return 0.0, 0.0
        band = mid * bps / 1e4
        bids = self.bids
        asks = self.asks
        bid_qty = sum(bids[p] for p in bids.irange(minimum=mid - band))
        ask_qty = sum(asks[p] for p in asks.irange(maximum=mid + band))
        return bid_qty, ask_qty

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """Best `n` levels per side, best first."""
        bids = self.bids
        asks = self.asks
        nb = min(n, len(bids))
        na = min(n, len(asks))
        top_bids = [bids.peekitem(-1 - i) for i in range(nb)]
        top_asks = [asks.peekitem(i) for i in range(na)]
        return top_bids, top_asks

    def imbalance(self, levels: int = 5) -> float | None:
        """(bid qty - ask qty) / total over the top `levels` per side, in [-1, 1]."""
        top_bids, top_asks = self.top(levels)
        bid_qty = sum(q for _, q in top_bids)
        ask_qty = sum(q for _, q in top_asks)
        total = bid_qty + ask_qty
        return None if total <= 0 else (bid_qty - ask_qty) / total


def _set_levels(side: SortedDict, levels: list[Level]) -> None:
    """The hot loop of every feed. Half the levels of a real diff change the size of a level the book has:
    that is a plain dict store, the sorted key list is only touched to add or remove a price (through the
    SortedDict's own bound list methods, as its __setitem__ and __delitem__ do, one call frame fewer)."""
    add, remove = side._list_add, side._list_remove
    for price, qty in levels:
        if price in side:
            if qty > 0:
                _dict_set(side, price, qty)
            else:
                _dict_del(side, price)
                remove(price)
        elif qty > 0:
            add(price)
            _dict_set(side, price, qty)
