"""Orders, the exchange interface they go through, and the order manager that keeps quotes in place.

The exchange interface is what both the paper exchange and live trading (ccxt) implement: requests go
out fire-and-forget, and the exchange reports back through its listener (order state changes and
fills), so the hot path never waits on the network. The order manager owns the orders' lifecycle:

    pending_new -> open -> partially_filled -> filled
         \\            \\--> pending_cancel -> cancelled
          \\--> rejected (by the risk check or the exchange)

Quotes live in slots ("bid 0", "ask 1", "reduce"): `sync` compares the wanted quotes with what rests
and places, replaces (cancel + new order, which loses the queue place) or cancels only what the
refresh rules call for, so an unchanged quote keeps its place in the queue.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, replace
from typing import Callable, Iterable, NamedTuple, Protocol

from maker.settings import OrderSettings

Key = tuple[str, str]  # (venue, symbol)
PENDING_NEW, OPEN, PARTIAL, PENDING_CANCEL = "pending_new", "open", "partially_filled", "pending_cancel"
FILLED, CANCELLED, REJECTED = "filled", "cancelled", "rejected"
DONE_STATES = frozenset((FILLED, CANCELLED, REJECTED))
HISTORY_LEN = 500  # finished orders kept for the console


@dataclass(slots=True)
class Order:
    id: str
    venue: str
    symbol: str
    side: str  # buy / sell
    price: float
    qty: float
    ts: float  # market time it was requested
    slot: str = ""  # which quote it is ("bid 0", "ask 1", "reduce")
    post_only: bool = True  # a post-only order that would cross is rejected instead of taking
    state: str = PENDING_NEW
    filled: float = 0.0
    updated_ts: float = 0.0
    reason: str = ""  # why it was rejected or cancelled

    @property
    def key(self) -> Key:
        return self.venue, self.symbol

    @property
    def remaining(self) -> float:
        return max(self.qty - self.filled, 0.0)

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def notional(self) -> float:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: str
    venue: str
    symbol: str
    side: str
    price: float
    qty: float
    fee: float
    liquidity: str  # maker (our resting order was hit) or taker (our order crossed)
    ts: float

    @property
    def key(self) -> Key:
        return self.venue, self.symbol


class Wanted(NamedTuple):
    """One quote the strategy wants resting now (a tuple: one is built per quote per book event)."""

    slot: str
    side: str
    price: float
    qty: float
    post_only: bool = True


class ExchangeListener(Protocol):
    def on_order_update(self, order_id: str, state: str, ts: float, reason: str = "") -> None: ...
    def on_fill(self, fill: Fill) -> None: ...


class Exchange(Protocol):
    """Where orders go: the paper exchange here; live trading implements the same with ccxt."""

    listener: ExchangeListener | None

    def quoting_allowed_for(self, key: Key) -> bool:
        """False while the instrument's live venue is unconfirmed, disconnected or reconciling (per instrument:
        one venue's outage must not hold the others)."""

    def status_text_for(self, key: Key) -> str:
        """Why quoting on the instrument is held back ('' when it is not)."""

    def place(self, order: Order, ts: float) -> None: ...
    def cancel(self, order: Order, ts: float) -> None: ...
    def cancel_all(self, ts: float, key: Key | None = None) -> None: ...
    def open_orders(self, key: Key | None = None) -> list[Order]: ...


PreTradeCheck = Callable[[Order], str | None]  # a reason to refuse the order, or None


class OrderManager:
    """Tracks every order this session sent and keeps each instrument's quote slots filled as wanted."""

    def __init__(self, exchange: Exchange, settings: OrderSettings, check: PreTradeCheck,
                 on_fill: Callable[[Fill], None]) -> None:
        self.exchange = exchange
        self.settings = settings
        self.check = check
        self.fill_sink = on_fill
        self.orders: dict[str, Order] = {}  # live (not done) orders by id
        self.live: dict[Key, dict[str, Order]] = {}  # the same, per instrument
        self.slots: dict[Key, dict[str, Order]] = {}  # the order currently holding each quote slot
        self.history: deque[Order] = deque(maxlen=HISTORY_LEN)  # finished orders, newest last
        self.placed = 0
        self.rejected = 0
        self._ids = itertools.count(1)
        exchange.listener = self

    # -- requests -------------------------------------------------------------------------------------
    def place(self, key: Key, want: Wanted, ts: float) -> Order:
        order = Order(f"wf-{next(self._ids)}", key[0], key[1], want.side, want.price, want.qty, ts, want.slot,
                      want.post_only, updated_ts=ts)
        reason = self.check(order)
        if reason is not None:
            self.rejected += 1
            self._finish(order, REJECTED, ts, reason)
            return order
        self.placed += 1
        self.orders[order.id] = order
        self.live.setdefault(key, {})[order.id] = order
        self.slots.setdefault(key, {})[want.slot] = order
        self.exchange.place(replace(order), ts)
        return order

    def cancel(self, order: Order, ts: float, reason: str) -> None:
        if order.done or order.state == PENDING_CANCEL:
            return
        order.state = PENDING_CANCEL
        order.reason = reason
        order.updated_ts = ts
        self.exchange.cancel(order, ts)

    def cancel_key(self, key: Key, ts: float, reason: str, keep: Callable[[Order], bool] | None = None) -> None:
        """Cancel an instrument's live orders (those `keep` does not spare)."""
        for order in list(self.live.get(key, {}).values()):
            if keep is None or not keep(order):
                self.cancel(order, ts, reason)

    def cancel_all(self, ts: float, reason: str) -> None:
        """The kill switch: one cancel-all to the exchange, which also catches orders this session never saw."""
        for order in self.orders.values():
            if order.state != PENDING_CANCEL:
                order.state = PENDING_CANCEL
                order.reason = reason
                order.updated_ts = ts
        self.exchange.cancel_all(ts)

    def sync(self, key: Key, wanted: Iterable[Wanted], ts: float, tick: float) -> None:
        """Make the instrument's resting quotes match `wanted` under the refresh rules."""
        slots = self.slots.get(key, {})
        seen = set()
        for want in wanted:
            seen.add(want.slot)
            order = slots.get(want.slot)
            if order is None or order.done:
                self.place(key, want, ts)
            elif order.state != PENDING_CANCEL and self._stale(order, want, ts, tick):
                self.cancel(order, ts, "replaced")
                self.place(key, want, ts)
        for slot, order in list(slots.items()):
            if slot not in seen:
                self.cancel(order, ts, "not quoted")

    def _stale(self, order: Order, want: Wanted, ts: float, tick: float) -> bool:
        """Replace at once when the price moved past the tolerance (or the order must now take liquidity, or no
        longer may); after refresh_s when anything changed."""
        if order.side != want.side or order.post_only != want.post_only:
            return True
        moved_bps = abs(want.price - order.price) / order.price * 1e4
        if moved_bps > self.settings.refresh_move_bps:
            return True
        changed = abs(want.price - order.price) >= tick / 2 or abs(want.qty - order.remaining) > 1e-12
        return changed and ts - order.ts >= self.settings.refresh_s

    # -- queries --------------------------------------------------------------------------------------
    def working(self, key: Key) -> list[Order]:
        """The instrument's orders that can still fill, including those being cancelled."""
        return list(self.live.get(key, {}).values())

    # -- the exchange's reports -------------------------------------------------------------------------
    def on_order_update(self, order_id: str, state: str, ts: float, reason: str = "") -> None:
        order = self.orders.get(order_id)
        if order is None:
            return  # finished already (a late report for a filled order)
        if state in DONE_STATES:
            self._finish(order, state, ts, reason or order.reason)
        elif order.state == PENDING_NEW or state == PENDING_CANCEL:
            order.state = state
            order.updated_ts = ts

    def on_fill(self, fill: Fill) -> None:
        order = self.orders.get(fill.order_id)
        if order is not None:
            order.filled += fill.qty
            order.updated_ts = fill.ts
            if order.remaining <= 1e-12:
                self._finish(order, FILLED, fill.ts, "")
            elif order.state != PENDING_CANCEL:
                order.state = PARTIAL
        self.fill_sink(fill)

    def _finish(self, order: Order, state: str, ts: float, reason: str) -> None:
        order.state = state
        order.updated_ts = ts
        order.reason = reason
        self.orders.pop(order.id, None)
        self.live.get(order.key, {}).pop(order.id, None)
        slots = self.slots.get(order.key)
        if slots is not None and slots.get(order.slot) is order:
            del slots[order.slot]
        self.history.append(order)
