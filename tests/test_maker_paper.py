"""The paper exchange on hand-built books and prints: when it fills, how much, in what order, at what cost."""

import pytest

from feeds.book import OrderBook
from feeds.events import BookEvent, TradeEvent
from maker.orders import CANCELLED, FILLED, OPEN, PARTIAL, PENDING_NEW, REJECTED, OrderManager, Wanted
from maker.paper import PaperExchange
from maker.settings import FeeSettings, OrderSettings, PaperSettings

VENUE, SYMBOL = "sim-alpha", "BTC/USDT"
KEY = (VENUE, SYMBOL)
FEES = FeeSettings(maker_bps=1.0, taker_bps=5.0)


class Desk:
    """One instrument's book, the paper exchange and an order manager, wired as the engine wires them."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.book = OrderBook(VENUE, SYMBOL)
        self.paper = PaperExchange(PaperSettings(latency_s), FEES, lambda key: self.book if key == KEY else None)
        self.fills = []
        self.manager = OrderManager(self.paper, OrderSettings(), lambda order: None, self.fills.append)
        self._slots = 0

    def levels(self, ts, bids=(), asks=(), snapshot=False):
        event = BookEvent(ts, VENUE, SYMBOL, snapshot, list(bids), list(asks))
        self.book.apply(event)
        self.paper.on_book(self.book, event)

    def trade(self, ts, price, qty, side):
        self.paper.on_trade(self.book, TradeEvent(ts, VENUE, SYMBOL, price, qty, side))

    def order(self, ts, side, price, qty, post_only=True):
        self._slots += 1
        return self.manager.place(KEY, Wanted(f"o{self._slots}", side, price, qty, post_only), ts)

    def filled(self, order):
        return sum(f.qty for f in self.fills if f.order_id == order.id)


def desk_with_book(latency_s=0.0, bid_qty=5.0):
    desk = Desk(latency_s)
    desk.levels(0.0, [(100.0, bid_qty), (99.0, 7.0)], [(101.0, 4.0), (102.0, 6.0)], snapshot=True)
    return desk


def test_no_fill_without_a_print_at_or_through_the_price():
    desk = desk_with_book()
    order = desk.order(1.0, "buy", 99.5, 2.0)  # inside the spread's lower half, alone at its price
    desk.paper.advance(1.0)
    assert order.state == OPEN
    desk.trade(2.0, 100.0, 3.0, "sell")  # hits the best bid, above us: not our price
    desk.trade(2.1, 101.0, 3.0, "buy")  # lifts the ask: the wrong side
    desk.levels(2.2, [(100.0, 9.0)], [(100.5, 1.0)])  # the book moves but never reaches 99.5
    assert desk.fills == [] and order.filled == 0.0
    desk.trade(3.0, 99.2, 1.5, "sell")  # trades through 99.5
    assert desk.filled(order) == pytest.approx(1.5)
    assert [f.price for f in desk.fills] == [99.5]  # a resting order fills at its own price
    assert order.state == PARTIAL


def test_queue_ahead_trades_first_then_partial_then_full_fill():
    desk = desk_with_book(bid_qty=5.0)
    order = desk.order(1.0, "buy", 100.0, 3.0)  # joins behind the 5 already bid at 100
    desk.paper.advance(1.0)
    assert [o.id for o in desk.paper.open_orders(KEY)] == [order.id]  # what the exchange holds, as the manager
    desk.trade(2.0, 100.0, 4.0, "sell")  # eats 4 of the 5 ahead
    assert desk.fills == []
    desk.trade(2.1, 100.0, 3.0, "sell")  # 1 more ahead, then 2 reach us
    assert desk.filled(order) == pytest.approx(2.0) and order.state == PARTIAL
    desk.trade(2.2, 100.0, 5.0, "sell")  # more than we have left: never overfilled
    assert desk.filled(order) == pytest.approx(3.0) and order.state == FILLED


def test_cancels_ahead_shrink_the_queue_pro_rata_and_prints_are_not_counted_twice():
    desk = desk_with_book(bid_qty=10.0)
    order = desk.order(1.0, "buy", 100.0, 1.0)
    desk.paper.advance(1.0)
    desk.trade(2.0, 100.0, 2.0, "sell")  # 8 ahead now
    desk.levels(2.1, [(100.0, 8.0)])  # the book shows the print: no cancellation
    desk.levels(2.2, [(100.0, 4.0)])  # half the level cancelled: half of those ahead of us went too
    desk.levels(2.3, [(100.0, 9.0)])  # new orders join behind us
    desk.trade(3.0, 100.0, 4.0, "sell")  # exactly the 4 left ahead
    assert desk.fills == []
    desk.trade(3.1, 100.0, 0.5, "sell")
    assert desk.filled(order) == pytest.approx(0.5)


def test_one_print_fills_our_orders_in_price_priority_and_never_beyond_its_size():
    desk = desk_with_book()
    better = desk.order(1.0, "buy", 100.5, 2.0)
    worse = desk.order(1.0, "buy", 100.2, 2.0)
    desk.paper.advance(1.0)
    desk.trade(2.0, 100.0, 3.0, "sell")  # through both of ours
    assert desk.filled(better) == pytest.approx(2.0)
    assert desk.filled(worse) == pytest.approx(1.0)
    assert sum(f.qty for f in desk.fills) == pytest.approx(3.0)


def test_a_book_that_crosses_our_price_fills_against_the_crossing_size_once():
    desk = desk_with_book()
    order = desk.order(1.0, "buy", 100.5, 2.0)
    desk.paper.advance(1.0)
    desk.levels(2.0, [], [(100.4, 0.5)])  # an ask arrives at or below our bid: it would have hit us
    assert desk.filled(order) == pytest.approx(0.5) and desk.fills[0].price == 100.5
    desk.levels(2.1, [(99.0, 8.0)], [])  # the same ask still rests there: no second fill from it
    assert desk.filled(order) == pytest.approx(0.5)
    desk.levels(2.2, [], [(100.4, 1.2)])  # it grows by 0.7
    assert desk.filled(order) == pytest.approx(1.2)
    assert all(f.liquidity == "maker" for f in desk.fills)


def test_latency_delays_orders_and_cancels_and_the_queue_is_read_on_arrival():
    desk = desk_with_book(latency_s=0.05, bid_qty=2.0)
    inside = desk.order(10.0, "buy", 100.5, 1.0)
    desk.trade(10.01, 99.0, 5.0, "sell")  # through our price, but the order is still on its way
    assert inside.state == PENDING_NEW and desk.fills == [] and desk.paper.open_orders() == []
    desk.levels(10.03, [(100.0, 6.0)])  # the queue at 100 grows before our second order arrives
    queued = desk.order(10.02, "buy", 100.0, 1.0)
    desk.trade(10.06, 99.0, 1.0, "sell")  # both arrived by now; this print goes to the better price
    assert inside.state == FILLED and desk.filled(inside) == pytest.approx(1.0)
    desk.trade(10.08, 100.0, 6.0, "sell")  # the 6 that were ahead when it arrived (not the 2 when sent)
    assert desk.filled(queued) == 0.0
    desk.manager.cancel(queued, 20.0, "test")
    desk.trade(20.02, 99.5, 0.4, "sell")  # the cancel has not arrived: the order can still fill
    assert desk.filled(queued) == pytest.approx(0.4)
    desk.trade(20.06, 99.5, 5.0, "sell")  # the cancel arrived first (at 20.05)
    assert queued.state == CANCELLED and desk.filled(queued) == pytest.approx(0.4)


def test_fees_post_only_rejection_and_taking_visible_liquidity_only():
    desk = desk_with_book()
    passive = desk.order(1.0, "sell", 101.5, 1.0)
    desk.paper.advance(1.0)
    desk.trade(2.0, 101.6, 1.0, "buy")
    assert desk.fills[-1].fee == pytest.approx(101.5 * 1.0 * 1.0 / 1e4) and desk.fills[-1].liquidity == "maker"
    assert passive.state == FILLED
    rejected = desk.order(3.0, "buy", 101.0, 1.0, post_only=True)  # would take the 101 ask
    desk.paper.advance(3.0)
    assert rejected.state == REJECTED and "would cross" in rejected.reason
    taker = desk.order(4.0, "buy", 102.0, 12.0, post_only=False)  # 4 at 101 and 6 at 102 are visible
    desk.paper.advance(4.0)
    taken = [f for f in desk.fills if f.order_id == taker.id]
    assert [(f.price, f.qty, f.liquidity) for f in taken] == [(101.0, 4.0, "taker"), (102.0, 6.0, "taker")]
    assert taken[0].fee == pytest.approx(101.0 * 4.0 * 5.0 / 1e4)
    assert taker.state == PARTIAL and taker.remaining == pytest.approx(2.0)  # the rest rests at 102
    desk.levels(5.0, [], [(103.0, 1.0)])  # the asks it took still show in the real book: not taken twice
    assert desk.filled(taker) == pytest.approx(10.0)
