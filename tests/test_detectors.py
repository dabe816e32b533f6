"""Detectors on hand-made feeds, through the real runtime: what fires, what it says, and bad input."""

import math
import random

import pytest

from console.runtime import Runtime
from detectors import DETECTORS
from detectors.base import Detector
from detectors.settings import DetectorSettings
from feeds.events import BookEvent, MarkEvent, OrderEvent, TradeEvent
from feeds.settings import InstrumentSettings, VenueSettings

T0 = 1_767_225_600.0
SPOT = InstrumentSettings("ex", "ABC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.001, price=100.0)
PERP = InstrumentSettings("exm", "ABC/USDT:USDT", "perp", "crypto", tick_size=0.01, lot_size=0.001, price=100.0)


def runtime(*instruments):
    return Runtime([VenueSettings("ex"), VenueSettings("exm")], instruments, DetectorSettings())


class Feed:
    """A plain L2 feed for one instrument: a snapshot, then a delta every 0.1 s that re-states the touch."""

    def __init__(self, inst, bid=99.99, ask=100.01, size=600.0):  # 60,000 a level: above the depth floor
        self.inst, self.bid, self.ask, self.size, self.seq, self.ts = inst, bid, ask, size, 0, T0
        self.rng = random.Random(7)

    def _book(self, snapshot, bids, asks, prev=None):
        self.seq += 1
        return BookEvent(self.ts, self.inst.venue, self.inst.symbol, snapshot, bids, asks, self.seq,
                         None if snapshot else (self.seq - 1 if prev is None else prev))

    def snapshot(self):
        levels = [round(i * 0.01, 2) for i in range(20)]
        return self._book(True, [(round(self.bid - d, 2), self.size) for d in levels],
                          [(round(self.ask + d, 2), self.size) for d in levels])

    def step(self, dt=0.1, bids=None, asks=None, prev=None):
        self.ts += dt
        noise = self.size * (1 + 0.2 * self.rng.random())
        return self._book(False, bids or [(self.bid, noise)], asks or [(self.ask, noise)], prev)

    def trade(self, price, qty, side, buyer=None, seller=None):
        return TradeEvent(self.ts, self.inst.venue, self.inst.symbol, price, qty, side, None, buyer, seller)


def run(rt, events):
    for event in events:
        rt.dispatch([event])


def kinds(rt):
    return [(a.kind, a.severity) for a in rt.engine.history]


def test_only_the_hooks_a_detector_overrides_are_called(monkeypatch):
    calls = []

    class Spy(Detector):
        kind, family = "spy_for_test", "quality"

        def on_trade(self, book, event):
            calls.append(event.t)

    monkeypatch.setitem(DETECTORS, Spy.kind, Spy)
    rt = runtime(SPOT)
    hooks = rt.instruments[(SPOT.venue, SPOT.symbol)].hooks
    assert [type(h.__self__).__name__ for h in hooks.order] == ["LargeOrders"]  # one feature reads L3 orders
    feed = Feed(SPOT)
    run(rt, [feed.snapshot(), OrderEvent(T0, "ex", "ABC/USDT", "add", "1", "buy", 99.9, 1.0, "a"),
             feed.trade(100.01, 1.0, "buy")])
    assert calls == ["trade"]


def test_a_crossed_book_that_persists_raises_crossed_book_and_clears_when_fixed():
    rt, feed = runtime(SPOT), Feed(SPOT)
    events = [feed.snapshot()] + [feed.step() for _ in range(50)]
    events.append(feed.step(bids=[(100.08, 1.0)]))  # a bid through the best ask that is never deleted
    events += [feed.step() for _ in range(15)]
    run(rt, events)
    assert kinds(rt) == [("crossed_book", "critical")]  # 7 bps through: critical past 5
    alert = rt.engine.history[0]
    assert alert.value == pytest.approx((100.08 - 100.01) / 100.045 * 1e4, rel=1e-6)
    run(rt, [feed.step(bids=[(100.08, 0.0)])] + [feed.step() for _ in range(10)])
    assert alert.state == "resolved"


def test_a_sequence_gap_raises_feed_gap_escalates_while_out_of_sync_and_a_snapshot_clears_it():
    rt, feed = runtime(SPOT), Feed(SPOT)
    run(rt, [feed.snapshot()] + [feed.step() for _ in range(20)])
    run(rt, [feed.step(prev=feed.seq - 5)])  # prev_seq does not follow: deltas were lost
    state = rt.instruments[(SPOT.venue, SPOT.symbol)]
    assert not state.book.in_sync and rt.book_gaps == 1
    run(rt, [feed.step() for _ in range(120)])  # 12 s out of sync, ignored deltas
    gap = next(a for a in rt.engine.history if a.kind == "feed_gap")
    assert gap.severity == "critical" and "sequence gap" in gap.message
    run(rt, [feed.snapshot()] + [feed.step() for _ in range(10)])
    assert gap.state == "resolved" and state.book.in_sync


def test_malformed_trades_are_counted_skipped_and_raise_a_data_quality_alert():
    rt, feed = runtime(SPOT), Feed(SPOT)
    run(rt, [feed.snapshot()] + [feed.step() for _ in range(5)])
    bad = [feed.trade(math.nan, 1.0, "buy"), feed.trade(100.0, -1.0, "sell"), feed.trade(math.inf, 1.0, "buy"),
           feed.trade(100.0, math.nan, "buy"), feed.trade(-5.0, 1.0, "sell")]
    run(rt, bad + [feed.trade(100.01, 2.0, "buy")])
    state = rt.instruments[(SPOT.venue, SPOT.symbol)]
    assert state.bad_events == rt.bad_events == 5
    assert state.last_price == 100.01  # the good one went through
    quality = [a for a in rt.engine.history if a.kind == "feed_gap"]
    assert len(quality) == 1 and "5 malformed events" in quality[0].message
    flow = state.hooks.features
    assert all(b[1] + b[2] == 2.0 for f in flow if type(f).__name__ == "TradeFlow" for b in f.buckets)


def test_out_of_order_events_are_counted_and_kept_from_the_detectors():
    rt, feed = runtime(SPOT), Feed(SPOT)
    run(rt, [feed.snapshot()] + [feed.step() for _ in range(5)])
    late = feed.trade(100.01, 1.0, "buy")
    late.ts -= 10.0
    run(rt, [late])
    state = rt.instruments[(SPOT.venue, SPOT.symbol)]
    assert state.out_of_order == 1 and state.last_ts == feed.ts


def test_wash_prints_with_one_account_on_both_sides_and_tape_pairs_without_accounts():
    rt, feed = runtime(SPOT), Feed(SPOT)
    run(rt, [feed.snapshot(), feed.trade(100.01, 1.0, "buy", "x", "y"), feed.trade(100.0, 1.0, "sell", "w", "w")])
    assert "wash_trading" not in [k for k, _ in kinds(rt)]  # one self-match: not yet
    run(rt, [feed.step(), feed.trade(100.0, 1.0, "buy", "w", "w")])
    wash = [a for a in rt.engine.history if a.kind == "wash_trading"]
    assert len(wash) == 1 and "account w on both sides" in wash[0].message

    tape_rt, tape = runtime(SPOT), Feed(SPOT)
    events = [tape.snapshot()]
    for i in range(8):  # eight big prints matched by the same size at the same price the other way
        events += [tape.step(), tape.trade(100.0, 300.0 + i, "buy"), tape.trade(100.0, 300.0 + i, "sell")]  # 30,000
    run(tape_rt, events)
    alert = next(a for a in tape_rt.engine.history if a.kind == "wash_trading")
    assert "consistent with wash trading" in alert.message


def test_spoofing_from_l2_level_dynamics_when_there_are_no_order_events():
    rt, feed = runtime(SPOT), Feed(SPOT, size=1.0)
    events = [feed.snapshot()] + [feed.step() for _ in range(400)]  # 40 s: the usual level size is learnt
    for _ in range(3):  # a huge bid 3 ticks back shows, the ask side trades, the bid vanishes
        events.append(feed.step(bids=[(99.96, 200.0)]))
        events += [feed.trade(100.01, 30.0, "buy") for _ in range(2)]
        events.append(feed.step())
        events.append(feed.step(bids=[(99.96, 0.0)]))
        events += [feed.step() for _ in range(3)]
    run(rt, events)
    spoof = next(a for a in rt.engine.history if a.kind == "spoofing")
    assert "no account data; consistent with spoofing" in spoof.message
    assert spoof.evidence["size_multiple"] >= 50


def test_basis_dislocation_fires_on_the_perpetual_against_the_spot_on_another_venue():
    rt = runtime(SPOT, PERP)
    spot, perp = Feed(SPOT), Feed(PERP, bid=100.04, ask=100.06)  # a steady +5 bps basis
    events = [spot.snapshot(), perp.snapshot()]
    for _ in range(400):  # 40 s of both books
        events += [spot.step(), perp.step()]
    run(rt, events)
    assert kinds(rt) == []
    perp.bid, perp.ask = 100.44, 100.46  # the perpetual alone jumps 40 bps
    events = [perp.snapshot()]
    for _ in range(40):
        events += [spot.step(), perp.step()]
    run(rt, events)
    basis = [a for a in rt.engine.history if a.kind == "basis_dislocation"]
    assert [(a.venue, a.symbol) for a in basis] == [("exm", "ABC/USDT:USDT")]
    assert basis[0].evidence["reference_source"] == "spot median"  # no spot on the perpetual's own venue
    assert basis[0].value == pytest.approx(40.0, abs=2.0)
    assert not [a for a in rt.engine.history if a.kind == "cross_venue_dislocation"]  # one listing per symbol


def test_a_fresh_mark_index_becomes_the_basis_reference():
    rt = runtime(PERP)
    perp = Feed(PERP)
    events = [perp.snapshot()]
    for _ in range(200):
        events += [perp.step(), MarkEvent(perp.ts, "exm", "ABC/USDT:USDT", mark=100.0, index=99.95)]
    run(rt, events)
    detector = next(d for d in rt.instruments[("exm", "ABC/USDT:USDT")].detectors if d.kind == "basis_dislocation")
    assert detector._source == "index" and detector._basis == pytest.approx(5.0, abs=0.1)
