"""Risk states and limits: ACTIVE, REDUCING (only orders that cut the position), HALTED (cancel only).

A breach moves the state of its instrument or of the whole book, raises a `risk_limit` alert, and tells
the engine, which cancels what the new state forbids. States only ever get stricter on their own: going
back to ACTIVE is an operator action (`resume`), and a limit still breached then trips again at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

from detectors.alerts import Signal
from maker.inventory import Inventory, Key
from maker.orders import Order
from maker.settings import RiskLimits

ACTIVE, REDUCING, HALTED = "ACTIVE", "REDUCING", "HALTED"
RANK = {ACTIVE: 0, REDUCING: 1, HALTED: 2}
SEVERITY = {REDUCING: "warning", HALTED: "critical"}
BOOK_VENUE = "maker"  # alerts about the whole book (not one instrument) carry this venue and no symbol
RATE_WINDOW_S = 60.0


def cuts_position(side: str, position: float) -> bool:
    """Whether an order on `side` makes the position smaller (selling when long, buying when short)."""
    return (position > 0 and side == "sell") or (position < 0 and side == "buy")


@dataclass(frozen=True)
class Trip:
    """Why a scope left ACTIVE: the state, the limit that did it, and when (market time)."""

    state: str
    limit: str
    reason: str
    ts: float


class RiskManager:
    """Checks the limits after every fill and mark, and every order before it goes out."""

    def __init__(self, limits: RiskLimits, capital: float, inventory: Inventory, sink: Callable[[Signal], None],
                 on_trip: Callable[[Key | None], None]) -> None:
        self.limits = limits
        self.capital = capital
        self.inventory = inventory
        self.sink = sink  # the alert engine's submit
        self.on_trip = on_trip  # told the scope (an instrument, or None for the book) that got stricter
        self.book_trip: Trip | None = None
        self.trips: dict[Key, Trip] = {}
        self._placements: deque[float] = deque()  # market times of recent placements

    def state(self, key: Key) -> tuple[str, str]:
        """(state, reason) for an instrument: the stricter of its own and the whole book's."""
        trips = [t for t in (self.book_trip, self.trips.get(key)) if t is not None]
        if not trips:
            return ACTIVE, ""
        worst = max(trips, key=lambda t: RANK[t.state])
        return worst.state, worst.reason

    # -- checks ---------------------------------------------------------------------------------------
    def check_order(self, order: Order) -> str | None:
        """Pre-trade: a reason to refuse `order`, or None. Refusals by a limit also trip it."""
        key = order.key
        state, reason = self.state(key)
        if state == HALTED:
            return f"halted: {reason}"
        limits = self.limits
        if limits.max_order_notional is not None and order.notional > limits.max_order_notional:
            reason = f"order notional {order.notional:,.2f} > max {limits.max_order_notional:,.2f}"
            self._trip(key, HALTED, "max_order_notional", reason, order.ts, order.notional, limits.max_order_notional)
            return reason
        if state == REDUCING:
            qty = self.inventory.qty(key)
            if not cuts_position(order.side, qty) or order.qty > abs(qty) * (1 + 1e-9):
                return f"reducing: only orders that cut the position ({reason})"
        if limits.max_orders_per_min is not None:
            placements = self._placements
            while placements and placements[0] <= order.ts - RATE_WINDOW_S:
                placements.popleft()
            if len(placements) + 1 > limits.max_orders_per_min:
                count = len(placements) + 1
                reason = f"{count} orders in {RATE_WINDOW_S:.0f} s > max {limits.max_orders_per_min:g}"
                self._trip(None, HALTED, "max_orders_per_min", reason, order.ts, count, limits.max_orders_per_min)
                return reason
            placements.append(order.ts)
        return None

    def check(self, key: Key, ts: float) -> None:
        """After a fill or a mark of `key`: its position limit, then the whole book's."""
        limits = self.limits
        position = self.inventory.positions.get(key)
        if limits.max_position is not None and position is not None and position.exposure > limits.max_position:
            self._trip(key, REDUCING, "max_position",
                       f"position {position.exposure:,.2f} > max {limits.max_position:,.2f}",
                       ts, position.exposure, limits.max_position)
        total = self.inventory.total
        if limits.max_loss is not None and total.total < -limits.max_loss:
            self._trip(None, HALTED, "max_loss", f"loss {-total.total:,.2f} > max {limits.max_loss:,.2f}",
                       ts, -total.total, limits.max_loss)
        if limits.max_drawdown is not None and total.drawdown > limits.max_drawdown:
            self._trip(None, REDUCING, "max_drawdown",
                       f"drawdown {total.drawdown:,.2f} > max {limits.max_drawdown:,.2f}",
                       ts, total.drawdown, limits.max_drawdown)
        if limits.max_exposure is not None and total.exposure / self.capital > limits.max_exposure:
            ratio = total.exposure / self.capital
            self._trip(None, REDUCING, "max_exposure",
                       f"exposure {ratio:.2f}x capital > max {limits.max_exposure:.2f}x",
                       ts, ratio, limits.max_exposure)

    # -- transitions ----------------------------------------------------------------------------------
    def _trip(self, key: Key | None, state: str, limit: str, reason: str, ts: float, value: float,
              threshold: float) -> None:
        current = self.book_trip if key is None else self.trips.get(key)
        if current is not None and RANK[current.state] >= RANK[state]:
            return  # already at least this strict: the first reason stands
        trip = Trip(state, limit, reason, ts)
        if key is None:
            self.book_trip = trip
        else:
            self.trips[key] = trip
        venue, symbol = (BOOK_VENUE, None) if key is None else key
        self.sink(Signal(ts, venue, symbol, "risk_limit", SEVERITY[state], value, threshold, None,
                         f"{state}: {reason}", {"limit": limit, "state": state}))
        self.on_trip(key)

    def restore(self, key: Key | None, trip: Trip) -> None:
        """Put back a trip saved before a restart (no new alert: it was raised then)."""
        if key is None:
            self.book_trip = trip
        else:
            self.trips[key] = trip

    def resume(self, ts: float, key: Key | None = None) -> list[Key | None]:
        """Operator action: back to ACTIVE for one instrument, or for everything (the whole book's trip too)
        when key is None. Resolves the risk_limit alerts; returns the scopes that were cleared."""
        scopes: list[Key | None] = list(self.trips) if key is None else [key]
        cleared: list[Key | None] = [k for k in scopes if self.trips.pop(k, None) is not None]
        if key is None and self.book_trip is not None:
            self.book_trip = None
            cleared.append(None)
        for scope in cleared:
            venue, symbol = (BOOK_VENUE, None) if scope is None else scope
            self.sink(Signal(ts, venue, symbol, "risk_limit", None, message="resumed by the operator"))
        return cleared
