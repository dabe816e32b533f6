"""The paper exchange: fills our orders only when the real market would have filled them.

Rules, for a buy at price P (a sell mirrors them):
- Latency: an order, and a cancel, reaches the exchange `latency_s` of market time after it was sent;
  until its cancel arrives an order can still fill.
- On arrival, a post-only order that would cross the book is rejected; any other crossing order takes
  the visible asks up to P as a taker (never more than they show) and rests the remainder.
- Queue: a resting order starts behind the book's whole quantity at P when it arrived. Prints at P
  consume that queue before us. When the level shrinks with no print to explain it, the shrink is
  cancellations, assumed spread evenly through the queue (pro rata): the size ahead of us shrinks by the
  same fraction. Growth joins behind us.
- Fills: a sell-aggressor print at P fills what is left of it after the queue ahead; any print below P
  means the market traded through us and fills us first. An ask at or below P in the book (the book
  crosses us) fills us against that ask's size, and the same resting size never fills us twice. No fill
  ever exceeds the printed (or crossing) size; several of our orders share one print in price-time order.
- Fills at our resting price pay the maker fee; crossing on arrival pays the taker fee.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import replace
from typing import Callable

from feeds.book import OrderBook
from feeds.events import BookEvent, TradeEvent
from maker.orders import CANCELLED, OPEN, REJECTED, ExchangeListener, Fill, Key, Order
from maker.settings import FeeSettings, PaperSettings

DUST = 1e-9  # relative: a remainder this small against the order's size is nothing


class _Resting:
    """Our order as the paper exchange holds it, with what it knows of the real queue around it."""

    __slots__ = ("order", "live", "queue_ahead", "level_seen", "cross_used", "seq")

    def __init__(self, order: Order, seq: int) -> None:
        self.order = order
        self.live = False
        self.queue_ahead = 0.0  # real size resting ahead of us at our price
        self.level_seen = 0.0  # the book's size at our price as last seen (less prints since)
        self.cross_used = 0.0  # crossing size we already filled against
        self.seq = seq  # arrival order: time priority among our own orders


class PaperExchange:
    """Implements `maker.orders.Exchange` against the live books and tape the runtime already keeps."""

    def __init__(self, settings: PaperSettings, fees: FeeSettings, book_for: Callable[[Key], OrderBook | None]) -> None:
        self.latency_s = settings.latency_s
        self.fees = fees
        self.book_for = book_for
        self.listener: ExchangeListener | None = None
        self.orders: dict[str, _Resting] = {}  # every order not yet filled, cancelled or rejected
        self.by_key: dict[Key, dict[str, _Resting]] = {}
        self._timeline: list[tuple[float, int, str, str]] = []  # (due ts, seq, "arrive"/"cancel", order id)
        self._seq = itertools.count()
        self.fills = 0

    # -- the Exchange interface ---------------------------------------------------------------------
    def quoting_allowed_for(self, key: Key) -> bool:
        return True  # always reachable: it runs in-process

    def status_text_for(self, key: Key) -> str:
        return ""

    def place(self, order: Order, ts: float) -> None:
        seq = next(self._seq)
        resting = _Resting(replace(order), seq)
        self.orders[order.id] = resting
        self.by_key.setdefault(order.key, {})[order.id] = resting
        heapq.heappush(self._timeline, (ts + self.latency_s, seq, "arrive", order.id))

    def cancel(self, order: Order, ts: float) -> None:
        self._cancel(order.id, ts)

    def cancel_all(self, ts: float, key: Key | None = None) -> None:
        targets = self.orders if key is None else self.by_key.get(key, {})
        for order_id in list(targets):
            self._cancel(order_id, ts)

    def _cancel(self, order_id: str, ts: float) -> None:
        if order_id in self.orders:
            heapq.heappush(self._timeline, (ts + self.latency_s, next(self._seq), "cancel", order_id))

    def open_orders(self, key: Key | None = None) -> list[Order]:
        targets = self.orders.values() if key is None else self.by_key.get(key, {}).values()
        return [replace(r.order) for r in targets if r.live]

    # -- market data, from the runtime's per-event hooks ----------------------------------------------
    def on_book(self, book: OrderBook, event: BookEvent) -> None:
        self.advance(event.ts)
        resting = self.by_key.get((event.venue, event.symbol))
        if resting:
            for r in list(resting.values()):
                if r.live:
                    self._on_level(r, book, event.ts)

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        self.advance(event.ts)
        resting = self.by_key.get((event.venue, event.symbol))
        if not resting:
            return
        price, printed = event.price, event.qty
        hit_side = "buy" if event.side == "sell" else "sell"  # a sell-aggressor print hits the bids
        candidates = [r for r in resting.values() if r.live and (
            _through(r.order, price) or (r.order.side == hit_side and r.order.price == price))]
        if not candidates:
            return
        candidates.sort(key=_priority)
        available = printed  # what is left of the print once our better-placed orders took theirs
        for r in candidates:
            order = r.order
            if order.price == price:
                passed = min(r.queue_ahead, printed)  # the print reaches us only after the real queue ahead
                r.queue_ahead -= passed
                r.level_seen = max(r.level_seen - printed, 0.0)
                reach = available - passed
            else:
                r.queue_ahead = 0.0  # the market traded through our level: nothing is left ahead of us
                reach = available
            qty = min(order.qty - order.filled, reach)
            if qty > 0:
                available -= qty
                self._fill(r, order.price, qty, "maker", event.ts)

    def advance(self, ts: float) -> None:
        """Deliver every order and cancel whose latency has passed by market time `ts`."""
        timeline = self._timeline
        while timeline and timeline[0][0] <= ts:
            due, _, action, order_id = heapq.heappop(timeline)
            r = self.orders.get(order_id)
            if r is None:
                continue  # filled before its cancel arrived
            if action == "cancel":
                self._done(r, CANCELLED, due, "")
            else:
                self._arrive(r, due)

    # -- internals ------------------------------------------------------------------------------------
    def _arrive(self, r: _Resting, ts: float) -> None:
        order = r.order
        book = self.book_for(order.key)
        buy = order.side == "buy"
        if book is not None:
            crossing = _crossing(book, order)
            if crossing:
                if order.post_only:
                    best = crossing[0][0]
                    self._done(r, REJECTED, ts, f"post-only {order.side} at {order.price:g} would cross at {best:g}")
                    return
                for price, size in crossing:  # take the visible liquidity as a taker, never more
                    qty = min(order.qty - order.filled, size)
                    r.cross_used += qty
                    self._fill(r, price, qty, "taker", ts)
                    if order.id not in self.orders:
                        return
            own = book.bids if buy else book.asks
            r.queue_ahead = r.level_seen = own.get(order.price, 0.0)
        r.live = True
        self._tell(order.id, OPEN, ts)

    def _on_level(self, r: _Resting, book: OrderBook, ts: float) -> None:
        """Follow the queue at our price, then fill against any resting size that crosses us."""
        order = r.order
        buy = order.side == "buy"
        level = (book.bids if buy else book.asks).get(order.price, 0.0)
        if level < r.level_seen:
            r.queue_ahead *= level / r.level_seen  # unexplained shrink: cancels spread pro rata
        r.level_seen = level
        r.queue_ahead = min(r.queue_ahead, level)
        if book.is_crossed():
            return  # the real book is inconsistent (a bad or partial update): trust nothing from it
        crossing = sum(size for _, size in _crossing(book, order))
        if not crossing:
            r.cross_used = 0.0
            return
        r.queue_ahead = 0.0  # an opposite order rests at or through our price: our level was taken out
        r.cross_used = min(r.cross_used, crossing)
        qty = min(order.qty - order.filled, crossing - r.cross_used)
        if qty > 0:
            r.cross_used += qty
            self._fill(r, order.price, qty, "maker", ts)

    def _fill(self, r: _Resting, price: float, qty: float, liquidity: str, ts: float) -> None:
        order = r.order
        order.filled += qty
        self.fills += 1
        if self.listener is not None:
            self.listener.on_fill(Fill(order.id, order.venue, order.symbol, order.side, price, qty,
                                       self.fees.fee(price, qty, liquidity), liquidity, ts))
        if order.qty - order.filled <= order.qty * DUST:
            self._forget(r)

    def _done(self, r: _Resting, state: str, ts: float, reason: str) -> None:
        self._forget(r)
        self._tell(r.order.id, state, ts, reason)

    def _forget(self, r: _Resting) -> None:
        self.orders.pop(r.order.id, None)
        self.by_key.get(r.order.key, {}).pop(r.order.id, None)

    def _tell(self, order_id: str, state: str, ts: float, reason: str = "") -> None:
        if self.listener is not None:
            self.listener.on_order_update(order_id, state, ts, reason)


def _priority(r: _Resting) -> tuple[float, int]:
    """Price then time priority: the best-priced of our orders meets a print first."""
    return (-r.order.price if r.order.side == "buy" else r.order.price), r.seq


def _through(order: Order, price: float) -> bool:
    """A print strictly better than our price for the other side: the market traded through us."""
    return price < order.price if order.side == "buy" else price > order.price


def _crossing(book: OrderBook, order: Order) -> list[tuple[float, float]]:
    """Opposite levels at or through our price, best first (usually none: one comparison)."""
    if order.side == "buy":
        asks = book.asks
        if not asks or asks.peekitem(0)[0] > order.price:
            return []
        return [(p, asks[p]) for p in asks.irange(maximum=order.price)]
    bids = book.bids
    if not bids or bids.peekitem(-1)[0] < order.price:
        return []
    return [(p, bids[p]) for p in bids.irange(minimum=order.price, reverse=True)]
