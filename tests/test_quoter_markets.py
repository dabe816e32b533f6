"""The quoter on whole markets: the simulator through the runtime, and a real Binance capture.

Whatever the market does, every plan must be something a venue would accept from a maker: prices on the
tick grid, quantities in lots, bids below the best ask and asks above the best bid, skewed against inventory.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from conftest import START_TS
from console.config import load_config
from console.wiring import simulated_runtime
from feeds.book import ApplyResult, OrderBook
from feeds.captures.binance import BinanceCapture
from feeds.settings import InstrumentSettings
from maker.quoting import QuotePlan, Quoter
from maker.settings import QuoteParams, QuotingSettings

ROOT = Path(__file__).resolve().parent.parent
BINANCE_BTC = ROOT.parent / "shared" / "data" / "binance" / "btcusdt_spot_20240808.gz"
YEAR_S = 365 * 24 * 3600


def on_grid(value: float, step: float) -> bool:
    return abs(value / step - round(value / step)) < 1e-6


def problems(plan: QuotePlan, book: OrderBook, inst: InstrumentSettings, inventory: float) -> list[str]:
    """Everything wrong with a plan against the book it was made on."""
    bid, ask = book.best_bid()[0], book.best_ask()[0]
    found = [f"{lv} off the grid" for lv in plan.levels
             if not on_grid(lv.price, inst.tick_size) or not on_grid(lv.qty, inst.lot_size) or lv.qty <= 0]
    found += [f"{lv} not passive at {bid}/{ask}" for lv in plan.levels
              if (lv.side == "buy" and lv.price >= ask) or (lv.side == "sell" and lv.price <= bid)]
    if inventory and not (plan.skew < 0) == (inventory > 0):
        found.append(f"skew {plan.skew} with inventory {inventory}")
    return found


class Watch:
    """Feeds a quoter from the runtime's batches and checks a plan at every book update once it is warm."""

    def __init__(self, runtime, inst: InstrumentSettings, quoter: Quoter) -> None:
        self.book = runtime.instruments[(inst.venue, inst.symbol)].book
        self.inst, self.quoter = inst, quoter
        self.plans, self.problems = 0, []

    def __call__(self, batch) -> None:
        for event in batch:
            if (event.venue, event.symbol) != (self.inst.venue, self.inst.symbol):
                continue
            if event.t == "trade":
                self.quoter.on_trade(event, self.book)
            elif event.t == "book":
                self.quoter.on_book(self.book, event.ts)
                inventory = (-3, 0, 2)[self.plans % 3] * self.quoter.size
                plan = self.quoter.plan(event.ts, inventory)
                if plan is not None and not self.book.is_crossed():
                    self.plans += 1
                    self.problems += problems(plan, self.book, self.inst, inventory)


def test_quotes_on_the_simulated_market_stay_passive_on_the_grid_and_skewed(small_config):
    config = load_config(small_config)
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    watches = []
    for key, params in (("sim-alpha:BTC/USDT", QuoteParams(size=0.01, levels=3)),
                        ("sim-hk:0700.HK", QuoteParams(model="glft", levels=2, max_inventory=1000)),
                        ("sim-alpha:ETH/USDT", QuoteParams(model="simple", imbalance_weight=0.5, levels=2))):
        inst = config.instrument(key)
        watches.append(Watch(runtime, inst, Quoter(inst, QuotingSettings(params))))
        runtime.consumers.append(watches[-1])
    asyncio.run(runtime.run(duration=120.0))
    for watch in watches:
        assert watch.plans > 500 and watch.problems == [], (watch.inst.key, watch.problems[:3])
        annual = watch.quoter.volatility.sigma_return * math.sqrt(YEAR_S)
        assert 0.5 * watch.inst.volatility < annual < 2.0 * watch.inst.volatility, (watch.inst.key, annual)
    assert watches[0].quoter.intensity.fitted  # BTC trades enough in two minutes to replace the prior


def test_quotes_on_a_real_binance_capture():
    inst = InstrumentSettings("binance", "BTC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.00001)
    quoter = Quoter(inst, QuotingSettings(QuoteParams(size=0.001, levels=2)))
    book = OrderBook("binance", "BTC/USDT")
    capture = BinanceCapture(BINANCE_BTC, report=lambda message: None)
    plans, found, next_plan = 0, [], 0.0
    for event in capture.events():
        if event.t == "trade":
            quoter.on_trade(event, book)
        elif event.t == "book" and book.apply(event) is ApplyResult.APPLIED:
            quoter.on_book(book, event.ts)
            if event.ts >= next_plan:  # once a second of market time
                next_plan = event.ts + 1.0
                inventory = (0.002, -0.002)[plans % 2]
                plan = quoter.plan(event.ts, inventory)
                if plan is not None:
                    plans += 1
                    found += problems(plan, book, inst, inventory)
    assert plans > 250 and found == []
    assert quoter.intensity.fitted and plan.k > 0 and plan.A > 0
    annual = quoter.volatility.sigma_return * math.sqrt(YEAR_S)
    assert 0.2 < annual < 2.0
