"""OrderBook against a naive reference book (plain dicts, max/min/sorted), over random event sequences.

The reference is deliberately slow and obvious, so that a disagreement points at the SortedDict book.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.book import ApplyResult, OrderBook
from feeds.events import BookEvent

TICK = 0.01
BPS_BANDS = (0.0, 1.0, 5.0, 25.0, 200.0)
TOP_NS = (0, 1, 3, 10)
IMBALANCE_LEVELS = (1, 3, 5)


class ReferenceBook:
    """What the book should show: levels in dicts, sequencing as FORMAT.md section 1 words it."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.seq: int | None = None
        self.in_sync = False

    def apply(self, event: BookEvent) -> ApplyResult:
        if event.snapshot:
            self.bids, self.asks, self.in_sync = {}, {}, True
        elif not self.in_sync:
            return ApplyResult.IGNORED
        elif event.prev_seq != self.seq:
            self.in_sync = False
            return ApplyResult.GAP
        for side, levels in ((self.bids, event.bids), (self.asks, event.asks)):
            for price, qty in levels:
                if qty > 0:
                    side[price] = qty
                else:
                    side.pop(price, None)
        self.seq = event.seq
        return ApplyResult.APPLIED

    def best_bid(self):
        return (max(self.bids), self.bids[max(self.bids)]) if self.bids else None

    def best_ask(self):
        return (min(self.asks), self.asks[min(self.asks)]) if self.asks else None

    def mid(self):
        return (max(self.bids) + min(self.asks)) / 2 if self.bids and self.asks else None

    def spread(self):
        return min(self.asks) - max(self.bids) if self.bids and self.asks else None

    def spread_bps(self):
        return self.spread() / self.mid() * 1e4 if self.bids and self.asks else None

    def is_crossed(self):
        return bool(self.bids and self.asks) and max(self.bids) >= min(self.asks)

    def depth_within_bps(self, bps):
        """A bid counts when it is at most `bps` below mid, an ask at most `bps` above (bounds inclusive)."""
        mid = self.mid()
        if mid is None:
            return 0.0, 0.0
        band = mid * bps / 1e4
        return (sum(q for p, q in self.bids.items() if p >= mid - band),
                sum(q for p, q in self.asks.items() if p <= mid + band))

    def top(self, n):
        bids = sorted(self.bids.items(), reverse=True)[:n]
        asks = sorted(self.asks.items())[:n]
        return bids, asks

    def imbalance(self, levels):
        bids, asks = self.top(levels)
        bid_qty, ask_qty = sum(q for _, q in bids), sum(q for _, q in asks)
        total = bid_qty + ask_qty
        return None if total == 0 else (bid_qty - ask_qty) / total


def price(ticks: int) -> float:
    """A price on the tick grid, computed the same way every time so equal ticks give equal float keys."""
    return round(ticks * TICK, 2)


# Bid and ask ticks overlap around 100.00, so crossed and locked books come up as well as normal ones.
qty = st.one_of(st.just(0.0), st.floats(min_value=0.001, max_value=500, allow_nan=False))
bid_levels = st.lists(st.tuples(st.integers(9_960, 10_005).map(price), qty), max_size=8)
ask_levels = st.lists(st.tuples(st.integers(9_995, 10_040).map(price), qty), max_size=8)
# A step is what reaches the book: a snapshot, a delta, or a message lost on the way (a gap in the chain).
step = st.tuples(st.sampled_from(["snapshot", "delta", "delta", "delta", "delta", "lost"]), bid_levels, ask_levels)


def events_from(steps) -> list[BookEvent]:
    """Number the exchange's messages 1, 2, 3...; each delta's prev_seq is the message before it."""
    events, seq = [], 0
    for i, (kind, bids, asks) in enumerate(steps):
        seq += 1
        if kind != "lost":
            events.append(BookEvent(float(i), "sim", "TEST", kind == "snapshot", bids, asks, seq, seq - 1))
    return events


def assert_same(book: OrderBook, ref: ReferenceBook) -> None:
    assert book.best_bid() == ref.best_bid()
    assert book.best_ask() == ref.best_ask()
    assert book.mid() == pytest.approx(ref.mid())
    assert book.spread() == pytest.approx(ref.spread())
    assert book.spread_bps() == pytest.approx(ref.spread_bps())
    assert book.is_crossed() == ref.is_crossed()
    for bps in BPS_BANDS:
        assert book.depth_within_bps(bps) == pytest.approx(ref.depth_within_bps(bps))
    for n in TOP_NS:
        assert book.top(n) == ref.top(n)
    for levels in IMBALANCE_LEVELS:
        assert book.imbalance(levels) == pytest.approx(ref.imbalance(levels))


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_book_matches_reference_after_every_event(steps):
    book, ref = OrderBook("sim", "TEST"), ReferenceBook()
    for event in events_from(steps):
        assert book.apply(event) == ref.apply(event)
        assert book.in_sync == ref.in_sync
        assert_same(book, ref)


def book_event(bids=(), asks=(), *, snapshot=False, seq=None, prev_seq=None, ts=1.0) -> BookEvent:
    return BookEvent(ts, "sim", "TEST", snapshot, list(bids), list(asks), seq, prev_seq)


def test_gap_leaves_book_unchanged_and_ignores_deltas_until_a_snapshot():
    book = OrderBook("sim", "TEST")
    assert book.apply(book_event([(99.0, 1.0)], [(101.0, 2.0)], snapshot=True, seq=10)) is ApplyResult.APPLIED
    assert book.apply(book_event([(99.5, 3.0)], seq=11, prev_seq=10)) is ApplyResult.APPLIED
    before = book.top(10)

    assert book.apply(book_event([(100.0, 5.0)], seq=13, prev_seq=12, ts=2.0)) is ApplyResult.GAP
    assert book.gaps == 1
    assert not book.in_sync
    assert book.top(10) == before
    assert book.seq == 11
    assert book.last_ts == 1.0

    # Even a delta that chains from the last applied seq is ignored: the missing message may have touched any level.
    assert book.apply(book_event([(100.0, 5.0)], seq=14, prev_seq=13)) is ApplyResult.IGNORED
    assert book.apply(book_event([(100.0, 5.0)], seq=12, prev_seq=11)) is ApplyResult.IGNORED
    assert book.top(10) == before
    assert book.gaps == 1

    assert book.apply(book_event([(98.0, 1.0)], [(102.0, 1.0)], snapshot=True, seq=20)) is ApplyResult.APPLIED
    assert book.in_sync
    assert book.apply(book_event([(98.5, 2.0)], seq=21, prev_seq=20)) is ApplyResult.APPLIED
    assert book.top(10) == ([(98.5, 2.0), (98.0, 1.0)], [(102.0, 1.0)])


def test_deltas_before_the_first_snapshot_are_ignored_when_sequenced():
    book = OrderBook("sim", "TEST")
    assert book.apply(book_event([(99.0, 1.0)], seq=5, prev_seq=4)) is ApplyResult.IGNORED
    assert book.best_bid() is None
    assert book.gaps == 0


def test_unsequenced_deltas_are_trusted_without_a_snapshot():
    book = OrderBook("sim", "TEST")
    assert book.apply(book_event([(99.0, 1.0)], [(101.0, 1.0)])) is ApplyResult.APPLIED
    assert book.mid() == 100.0


def test_empty_book_has_no_prices():
    book = OrderBook("sim", "TEST")
    assert book.best_bid() is None and book.best_ask() is None
    assert book.mid() is None and book.spread() is None and book.spread_bps() is None
    assert book.imbalance() is None
    assert book.depth_within_bps(10) == (0.0, 0.0)
    assert book.top(5) == ([], [])
    assert not book.is_crossed()


@pytest.mark.parametrize("bids, asks, imbalance", [([(99.0, 2.0)], [], 1.0), ([], [(101.0, 2.0)], -1.0)])
def test_one_sided_book_has_no_mid_or_spread(bids, asks, imbalance):
    book = OrderBook("sim", "TEST")
    book.apply(book_event(bids, asks, snapshot=True, seq=1))
    assert book.mid() is None and book.spread() is None and book.spread_bps() is None
    assert book.depth_within_bps(10) == (0.0, 0.0)
    assert not book.is_crossed()
    assert book.imbalance() == imbalance


@pytest.mark.parametrize("bid, ask", [(101.0, 100.0), (100.0, 100.0)])
def test_crossed_or_locked_book_is_reported(bid, ask):
    book = OrderBook("sim", "TEST")
    book.apply(book_event([(bid, 1.0)], [(ask, 1.0)], snapshot=True, seq=1))
    assert book.is_crossed()
    assert book.spread() == ask - bid
    assert book.spread_bps() <= 0


def test_zero_qty_deletes_a_level_and_deleting_a_missing_level_is_harmless():
    book = OrderBook("sim", "TEST")
    book.apply(book_event([(99.0, 1.0), (98.0, 1.0)], [(101.0, 1.0)], snapshot=True, seq=1))
    book.apply(book_event([(99.0, 0.0), (97.0, 0.0)], seq=2, prev_seq=1))
    assert book.top(5) == ([(98.0, 1.0)], [(101.0, 1.0)])


def test_depth_band_bounds_are_inclusive():
    book = OrderBook("sim", "TEST")
    book.apply(book_event([(99.0, 1.0), (98.0, 4.0)], [(101.0, 2.0), (102.0, 8.0)], snapshot=True, seq=1))
    assert book.depth_within_bps(100) == (1.0, 2.0)  # mid 100, band exactly 1.0: 99 and 101 are on its edges
    assert book.depth_within_bps(99) == (0.0, 0.0)
