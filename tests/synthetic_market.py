"""A seeded hand-made market for one instrument, for detectors whose statistics need minutes of warm-up.

The mid random-walks by whole ticks every half second (the step size sets the volatility), the book is
re-stated around it every 0.1 s, and ordinary accounts send small market orders at the touch. Tests run it
until the detectors are warm, then add the trades of the pattern they want to show.
"""

from __future__ import annotations

import math
import random

from feeds.events import BookEvent, Event, TradeEvent
from feeds.settings import InstrumentSettings

STEP_S = 0.1
LEVELS = 20
LEVEL_QTY = 600.0  # 60,000 a level at 100: above the depth floors
ACCOUNTS = tuple(f"acct-{i:03d}" for i in range(1, 21))  # the ordinary takers
MAKER = "acct-mm"  # the passive side of every print


class SyntheticMarket:
    """`max_step_ticks`: the mid moves a uniform whole number of ticks in [-max, +max] every half second."""

    def __init__(self, inst: InstrumentSettings, start: float, max_step_ticks: int = 1, mid_ticks: int = 10_000,
                 trades_per_s: float = 3.0, seed: int = 5) -> None:
        self.inst, self.ts, self.seq = inst, start, 0
        self.max_step, self.mid_ticks = max_step_ticks, mid_ticks
        self.trade_p = trades_per_s * STEP_S
        self.rng = random.Random(seed)
        self.steps = 0
        self.half_spread_ticks = 1  # the touch's distance from the mid: widen it for a spread_wide

    @property
    def bid(self) -> float:
        return self._price(self.mid_ticks - self.half_spread_ticks)

    @property
    def ask(self) -> float:
        return self._price(self.mid_ticks + self.half_spread_ticks)

    def _price(self, ticks: int) -> float:
        return round(ticks * self.inst.tick_size, 8)

    def run(self, seconds: float, buy_share: float = 0.5, trade_qty: float = 1.0, drift_ticks: int = 0) -> list[Event]:
        """`seconds` of market: orders buy with probability `buy_share`, of median size `trade_qty`, and the
        mid moves `drift_ticks` every half second on top of its noise."""
        events: list[Event] = []
        for _ in range(round(seconds / STEP_S)):
            self.ts = round(self.ts + STEP_S, 6)
            self.steps += 1
            if self.steps % 5 == 0:
                self.mid_ticks += drift_ticks + self.rng.randint(-self.max_step, self.max_step)
            events.append(self.snapshot())
            if self.rng.random() < self.trade_p:
                side = "buy" if self.rng.random() < buy_share else "sell"
                qty = round(trade_qty * math.exp(self.rng.gauss(0.0, 0.5)), 3)
                events += self.prints([self.ask if side == "buy" else self.bid], qty, side,
                                      self.rng.choice(ACCOUNTS))
        return events

    def snapshot(self) -> BookEvent:
        self.seq += 1
        half = self.half_spread_ticks
        bids = [(self._price(self.mid_ticks - half - i), LEVEL_QTY) for i in range(LEVELS)]
        asks = [(self._price(self.mid_ticks + half + i), LEVEL_QTY) for i in range(LEVELS)]
        return BookEvent(self.ts, self.inst.venue, self.inst.symbol, True, bids, asks, self.seq)

    def prints(self, prices: list[float], qty: float, side: str, account: str | None) -> list[TradeEvent]:
        """One aggressive order of `qty` from `account` against a market maker's quotes, split evenly over
        `prices` (one print each). `account` None: a feed without account data."""
        maker = MAKER if account is not None else None
        buyer, seller = (account, maker) if side == "buy" else (maker, account)
        each = round(qty / len(prices), 6)
        return [TradeEvent(self.ts, self.inst.venue, self.inst.symbol, price, each, side, None, buyer, seller)
                for price in prices]

    def sweep(self, side: str, levels: int, qty: float, account: str | None) -> list[TradeEvent]:
        """An aggressive order taking `levels` price levels from the touch on the other side."""
        sign = 1 if side == "buy" else -1
        touch = self.mid_ticks + sign * self.half_spread_ticks
        return self.prints([self._price(touch + sign * i) for i in range(levels)], qty, side, account)
