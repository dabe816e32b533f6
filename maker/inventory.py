"""Positions and PnL per instrument and in total, marked to mid, with fees, peak and drawdown.

Every update is O(1): the totals move by the change in one instrument's figures rather than being
summed again, so marking on every book event stays cheap however many instruments are quoted.
Money is in each instrument's quote currency; totals add them as they are (no FX conversion).
"""

from __future__ import annotations

from dataclasses import dataclass

Key = tuple[str, str]  # (venue, symbol)
QTY_EPS = 1e-12  # float dust left by adding lot multiples is no position


@dataclass(slots=True)
class Pnl:
    """Running PnL figures with their high-water mark; `drawdown` is how far PnL is below its peak."""

    realised: float = 0.0  # trading gains on closed quantity, before fees
    unrealised: float = 0.0  # open position marked to mid against the average cost
    fees: float = 0.0  # paid (negative when rebates exceed fees)
    exposure: float = 0.0  # |position| x mid
    peak: float = 0.0

    @property
    def total(self) -> float:
        return self.realised + self.unrealised - self.fees

    @property
    def drawdown(self) -> float:
        return self.peak - self.total

    def note_peak(self) -> None:
        total = self.total
        if total > self.peak:
            self.peak = total


@dataclass(slots=True)
class Position(Pnl):
    qty: float = 0.0  # signed: positive long
    avg_cost: float = 0.0  # average entry price of the open quantity (0 when flat)
    mark: float | None = None  # last mid
    bought: float = 0.0
    sold: float = 0.0
    fills: int = 0


class Inventory:
    def __init__(self) -> None:
        self.positions: dict[Key, Position] = {}
        self.total = Pnl()

    def position(self, key: Key) -> Position:
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = Position()
        return position

    def qty(self, key: Key) -> float:
        position = self.positions.get(key)
        return 0.0 if position is None else position.qty

    def on_fill(self, key: Key, side: str, price: float, qty: float, fee: float) -> float:
        """Book a fill; returns the PnL it realised (before its fee)."""
        p = self.position(key)
        signed = qty if side == "buy" else -qty
        realised = 0.0
        if p.qty == 0.0 or (p.qty > 0) == (signed > 0):  # opening or adding
            p.avg_cost = (p.avg_cost * abs(p.qty) + price * qty) / (abs(p.qty) + qty)
        else:  # reducing, closing or flipping
            closed = min(qty, abs(p.qty))
            realised = (price - p.avg_cost) * closed * (1.0 if p.qty > 0 else -1.0)
            if qty > abs(p.qty) + QTY_EPS:
                p.avg_cost = price  # the remainder opens a position the other way
        p.qty += signed
        if abs(p.qty) < QTY_EPS:
            p.qty = 0.0
            p.avg_cost = 0.0
        if side == "buy":
            p.bought += qty
        else:
            p.sold += qty
        p.fills += 1
        self.total.realised += realised
        self.total.fees += fee
        p.realised += realised
        p.fees += fee
        self._revalue(p, p.mark if p.mark is not None else price)
        return realised

    def mark(self, key: Key, mid: float) -> None:
        """Mark one instrument to its mid."""
        self._revalue(self.position(key), mid)

    def _revalue(self, p: Position, mid: float) -> None:
        p.mark = mid
        unrealised = (mid - p.avg_cost) * p.qty if p.qty else 0.0
        exposure = abs(p.qty) * mid
        total = self.total
        total.unrealised += unrealised - p.unrealised
        total.exposure += exposure - p.exposure
        p.unrealised = unrealised
        p.exposure = exposure
        p.note_peak()
        total.note_peak()
