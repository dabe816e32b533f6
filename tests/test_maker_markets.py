"""The market maker on real markets: the simulator and the Binance captures in ../shared/data.

Every paper fill must be backed by what the market really did at that moment: a print at or through the
order's price (never more in total than was printed), or resting size crossing it, never before the order
could have arrived. PnL must equal the cash the fills moved plus the position marked to mid.
"""

from collections import defaultdict
from pathlib import Path

import pytest

from console.config import Config
from console.maker_runtime import attach_maker
from console.runtime import Runtime
from detectors.settings import DetectorSettings
from feeds.captures.binance import BinanceCapture
from feeds.settings import InstrumentSettings, SimSettings, VenueSettings
from feeds.simulator import Simulator
from maker.orders import OrderManager, Wanted
from maker.paper import PaperExchange
from maker.settings import (DefenceSettings, FeeSettings, MakerSettings, OrderSettings, PaperSettings, QuoteParams,
                            QuotingSettings)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "binance"
START_TS = 1_767_225_600.0
LATENCY_S = 0.05
BATCH_SPAN_S = 0.1
SIM_BTC = InstrumentSettings("sim-alpha", "BTC/USDT", "spot", "crypto", tick_size=0.1, lot_size=0.001, price=65000,
                             volatility=0.6)
BINANCE_BTC = InstrumentSettings("binance", "BTC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.00001)
BINANCE_ETH = InstrumentSettings("binance", "ETH/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.0001)


@pytest.fixture(scope="module")
def btc_capture():
    return read_capture("btcusdt_spot_20240808.gz")


@pytest.fixture(scope="module")
def eth_capture():
    return read_capture("ethusdt_spot_20240808.gz")


def read_capture(name: str) -> list:
    problems = []
    events = list(BinanceCapture(DATA / name, problems.append).events())
    assert problems == []
    return events


def batches(events, span=BATCH_SPAN_S):
    """Events cut into batches of `span` market seconds, as the replay source emits them."""
    batch = []
    for event in events:
        if batch and event.ts - batch[0].ts >= span:
            yield batch
            batch = []
        batch.append(event)
    if batch:
        yield batch


class Tape:
    """A watcher placed before the paper exchange: every print, and the book as each update left it."""

    def __init__(self) -> None:
        self.trades = defaultdict(list)  # (key, ts) -> [TradeEvent]
        self.books = defaultdict(list)  # (key, ts) -> [(bids, asks)], the top of the book after each update

    def on_trade(self, book, event) -> None:
        self.trades[((event.venue, event.symbol), event.ts)].append(event)

    def on_book(self, book, event) -> None:
        self.books[((event.venue, event.symbol), event.ts)].append(book.top(20))

    def crossing(self, key, ts, order) -> float:
        """The most resting size that crossed `order`'s price in any book state at `ts`."""
        sizes = [0.0]
        for bids, asks in self.books.get((key, ts), []):
            if order.side == "buy":
                sizes.append(sum(q for p, q in asks if p <= order.price))
            else:
                sizes.append(sum(q for p, q in bids if p >= order.price))
        return max(sizes)


def audit(fills, orders, tape: Tape) -> None:
    """Each maker fill is at its order's price, after the order could arrive, and backed by the market: the
    fills of one moment never exceed the prints at or through their prices plus the size crossing them."""
    used = defaultdict(float)
    capacity = {}
    for fill in fills:
        order = orders[fill.order_id]
        assert fill.ts >= order.ts + LATENCY_S - 1e-9, "filled before the order reached the exchange"
        if fill.liquidity == "taker":
            continue
        assert fill.price == order.price
        prints = tape.trades.get((fill.key, fill.ts), [])
        printed = sum(t.qty for t in prints if (t.price < order.price if order.side == "buy" else t.price > order.price)
                      or (t.price == order.price and t.side != order.side))
        crossing = tape.crossing(fill.key, fill.ts, order)
        assert printed + crossing > 0, "a fill with no print at or through its price and nothing crossing it"
        moment = (fill.key, fill.ts, fill.side)
        capacity[moment] = max(capacity.get(moment, 0.0), printed + crossing)
        used[moment] += fill.qty
        assert used[moment] <= capacity[moment] + 1e-9, "filled beyond what printed and crossed"


def check_pnl(engine, key) -> None:
    """PnL from the inventory equals the cash the fills moved plus the position at the last mid."""
    cash = qty = 0.0
    for fill in engine.fills:
        sign = 1.0 if fill.side == "buy" else -1.0
        cash -= sign * fill.price * fill.qty + fill.fee
        qty += sign * fill.qty
    position = engine.inventory.position(key)
    assert position.qty == pytest.approx(qty, abs=1e-9)
    assert position.total == pytest.approx(cash + qty * position.mark, abs=1e-6)


def maker_config(instrument, venue, **maker) -> Config:
    """Quoting from the start, with automatic defence off: these tests are about what fills."""
    quoting = QuotingSettings(QuoteParams(**maker.pop("quote", {})))
    maker.setdefault("defence", DefenceSettings(kinds=[]))
    settings = MakerSettings(instruments=[instrument.key], autostart=True, quoting=quoting,
                             paper=PaperSettings(LATENCY_S), **maker)
    return Config([venue], [instrument], maker=settings)


def all_orders(engine):
    return {o.id: o for o in list(engine.orders.history) + list(engine.orders.orders.values())}


def test_quoting_the_simulator_fills_only_what_the_market_printed():
    config = maker_config(SIM_BTC, VenueSettings("sim-alpha"), quote={"size": 0.05, "levels": 2, "warmup_s": 5.0})
    runtime = Runtime(config.venues, config.instruments, DetectorSettings())
    engine = attach_maker(runtime, config)
    tape = Tape()
    runtime.instruments[(SIM_BTC.venue, SIM_BTC.symbol)].watchers.insert(0, tape)
    sim = Simulator(config.instruments, SimSettings(seed=3, order_events=False), START_TS)
    for _ in range(1200):  # two minutes of market
        runtime.dispatch(sim.step())
    assert len(engine.fills) >= 10
    assert {f.side for f in engine.fills} == {"buy", "sell"}
    audit(engine.fills, all_orders(engine), tape)
    check_pnl(engine, (SIM_BTC.venue, SIM_BTC.symbol))
    assert engine.orders.working((SIM_BTC.venue, SIM_BTC.symbol))  # still quoting at the end


@pytest.mark.parametrize("instrument, capture", [(BINANCE_BTC, "btc_capture"), (BINANCE_ETH, "eth_capture")])
def test_quoting_a_binance_capture_fills_only_what_the_market_printed(instrument, capture, request):
    events = request.getfixturevalue(capture)
    size = 0.01 if instrument is BINANCE_BTC else 0.2
    config = maker_config(instrument, VenueSettings("binance", "ccxt", "binance"),
                          quote={"size": size, "warmup_s": 10.0, "model": "simple", "base_spread_bps": 0.5})
    runtime = Runtime(config.venues, [], DetectorSettings(), catalogue=config.instruments)
    engine = attach_maker(runtime, config)
    key = (instrument.venue, instrument.symbol)
    tape = Tape()
    runtime.instruments[key].watchers.insert(0, tape)
    for batch in batches(events):
        runtime.dispatch(batch)
    assert len(engine.fills) >= 5
    audit(engine.fills, all_orders(engine), tape)
    check_pnl(engine, key)


class Joiner:
    """Joins the best bid and the best ask every `every_s` and cancels each order `keep_s` later."""

    def __init__(self, runtime, key, manager, qty, every_s=5.0, keep_s=20.0) -> None:
        self.runtime, self.key, self.manager, self.qty = runtime, key, manager, qty
        self.every_s, self.keep_s = every_s, keep_s
        self.next_ts = 0.0
        self.placed = []

    def __call__(self, batch) -> None:
        ts = batch[-1].ts
        for order in self.manager.working(self.key):
            if ts - order.ts >= self.keep_s:
                self.manager.cancel(order, ts, "test done with it")
        book = self.runtime.instruments[self.key].book
        if ts < self.next_ts or not book.bids or not book.asks:
            return
        self.next_ts = ts + self.every_s
        n = len(self.placed)
        for side, (price, _) in (("buy", book.best_bid()), ("sell", book.best_ask())):
            self.placed.append(self.manager.place(self.key, Wanted(f"{side} {n}", side, price, self.qty), ts))


def test_joining_real_queues_on_binance_honours_queue_and_time_priority(btc_capture):
    key = (BINANCE_BTC.venue, BINANCE_BTC.symbol)
    runtime = Runtime([VenueSettings("binance", "ccxt", "binance")], [BINANCE_BTC], DetectorSettings())
    state = runtime.instruments[key]
    paper = PaperExchange(PaperSettings(LATENCY_S), FeeSettings(), lambda k: runtime.instruments[k].book)
    fills = []
    manager = OrderManager(paper, OrderSettings(), lambda order: None, fills.append)
    tape = Tape()
    state.watchers += [tape, paper]
    joiner = Joiner(runtime, key, manager, qty=0.002)
    runtime.consumers.append(joiner)
    for batch in batches(btc_capture):
        runtime.dispatch(batch)
    orders = {o.id: o for o in joiner.placed}
    audit(fills, orders, tape)
    filled = [o for o in joiner.placed if o.filled > 0]
    assert filled and len(filled) < len(joiner.placed)  # queues are real: joining the back is no sure fill
    first_fill = {}
    for fill in fills:
        first_fill.setdefault(fill.order_id, fill.ts)
    # time priority: of two orders at the same price and side, the one sent first never fills later
    by_level = defaultdict(list)
    for order in joiner.placed:
        by_level[(order.side, order.price)].append(order)
    pairs = 0
    for level in by_level.values():
        for early, late in zip(level, level[1:]):
            if late.id in first_fill and early.ts + joiner.keep_s > first_fill[late.id]:
                pairs += 1
                assert early.id in first_fill and first_fill[early.id] <= first_fill[late.id]
    assert pairs >= 1
