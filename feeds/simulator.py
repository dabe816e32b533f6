"""The built-in simulated market: a seeded, reproducible exchange that emits what a real feed would.

Why a model rather than random quotes: detectors, the console and the market maker need books that behave
like real ones (FIFO queues at tick-rounded prices, spreads of a few ticks, sweeps when the price jumps,
trades printing against resting orders with both accounts known), and tests need the same stream for
the same seed, instruments and start time.

Each instrument runs an L3 book in integer ticks and lots, so aggregated levels are exact and the L2 deltas
it emits rebuild the very same book in any consumer. Randomness: an instrument's order flow comes from its
own `random.Random` seeded from (seed, venue:symbol); the fair-price shocks come from one stream per
underlying (seed, "BTC/USDT" for BTC/USDT and BTC/USDT:USDT on every venue). Adding, removing or reordering
instruments therefore changes no other instrument's stream, while one underlying's spot, perp and listings
on several venues move together as in real markets (independent paths would drift tens of bps apart in an
hour and flood the cross-venue and basis detectors with false alarms).
"""

from __future__ import annotations

import math
import random
import time
from bisect import bisect_left, bisect_right, insort
from datetime import datetime, timezone
from decimal import Decimal
from operator import attrgetter
from typing import Iterable, Iterator

from feeds.calendars import OPEN, Calendars, MarketCalendar
from feeds.events import BookEvent, Event, Level, OrderEvent, TradeEvent
from feeds.scenarios import Scenario, build_scenario
from feeds.settings import InstrumentSettings, MarketsSettings, ScenarioSettings, SimSettings
from feeds.source import Emit, Pacer

# volatility is annualised over calendar time for every market; an equity simply does not move while its
# market is closed (Simulator with `markets`), so its simulated daily range is narrower than the figure implies
YEAR_S = 365 * 24 * 3600
ORDERS_PER_SIDE = 100  # resting orders each side gravitates to: deep queues at the touch and 20+ levels
ADDS_PER_STEP = 3.0  # mean limit-order arrivals per side per step at that depth
CANCEL_P = ADDS_PER_STEP / ORDERS_PER_SIDE  # per resting order per step, so arrivals and cancels balance
MAX_REFILL = 4.0  # arrivals speed up to this multiple on a depleted side: makers refill after a sweep
TAKES_PER_STEP = 0.3  # mean noise market orders per step (about 3 a second)
LEAN = 0.4  # noise takers buy with probability 0.5 +- up to this, leaning toward the fair price
OFFSET_SIGMAS = 0.5  # quoting anchor = fair -/+ this many per-step sigmas: volatile names quote wider ...
MIN_OFFSET_TICKS = 0.1  # ... and a big-tick name (fair moves a fraction of a tick a step) one tick wide
NEAR_SIGMAS, MIN_NEAR_TICKS = 1.0, 0.5  # makers rest this far behind the anchor on average (geometric) ...
FAR_SIGMAS, MIN_FAR_TICKS = 3.0, 16.0  # ... other accounts farther, which gives the book its depth
MAKER_SHARE = 0.6  # share of passive orders from the market-maker accounts
ORDER_NOTIONAL = 5_000.0  # median order size, in quote currency
SIZE_SIGMA = 1.0  # lognormal spread of order sizes
JUMPS_PER_HOUR = 1.0  # Poisson rate of fair-price jumps per underlying
JUMP_SIGMAS = (3.0, 6.0)  # jump size range, in sigmas of a minute's move

ACCOUNTS = tuple(f"acct-{i:03d}" for i in range(50))  # one pool per venue (ids are venue-scoped)
MAKERS = ACCOUNTS[:4]  # the market makers: most passive liquidity, never take
MAKER_SET = frozenset(MAKERS)
OTHERS = ACCOUNTS[4:]  # everyone else: all aggressive flow and the deeper passive orders
BID, ASK = 0, 1  # book side index; an order resting on BID is a buy
SIDE_NAMES = ("buy", "sell")
_BY_TS = attrgetter("ts")
EMIT_EVENTS = 500  # most events per emit: a 200-instrument step (~3,600 events) reaches the runtime in pieces


def parse_start(settings: SimSettings) -> float:
    """`sim.start` (ISO-8601, UTC when no offset is given) as epoch seconds; None means now, to the second."""
    if settings.start is None:
        return float(int(time.time()))
    try:
        moment = datetime.fromisoformat(settings.start)
    except ValueError:
        raise ValueError(f"sim.start: expected an ISO-8601 UTC time like 2024-05-01T13:30:00Z, "
                         f"got {settings.start!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _decimals(step: float) -> int:
    """Decimal places of a tick or lot size, so tick * size rounds to the exchange's exact price or qty."""
    return max(0, -Decimal(repr(step)).normalize().as_tuple().exponent)


def _geometric_inv(mean: float) -> float:
    """1 / log(q) for a geometric distance on {0, 1, ...} with this mean: int(log(U) * it) samples it."""
    return 1.0 / math.log(mean / (mean + 1.0))


def _poisson(uniform, mean: float) -> int:
    """Knuth's multiplication method: exact, and fast for the small means used per step."""
    limit = math.exp(-mean)
    count = 0
    p = uniform()
    while p > limit:
        count += 1
        p *= uniform()
    return count


class _Underlying:
    """The shocks shared by every instrument on one underlying, drawn once per step from its own stream."""

    __slots__ = ("rng", "jump_p", "step", "shock")

    def __init__(self, seed: int, name: str, jump_p: float) -> None:
        self.rng = random.Random(f"{seed}/underlying/{name}")
        self.jump_p = jump_p
        self.step = 0
        self.shock = (0.0, 0.0)

    def shock_at(self, step: int) -> tuple[float, float]:
        """(standard normal diffusion shock, signed jump in sigmas of a minute or 0.0) for `step`."""
        if step != self.step:
            rng = self.rng
            z = rng.gauss(0.0, 1.0)
            jump = 0.0
            if rng.random() < self.jump_p:
                jump = rng.uniform(*JUMP_SIGMAS) * (1.0 if rng.random() < 0.5 else -1.0)
            self.step, self.shock = step, (z, jump)
        return self.shock


class RestingOrder:
    __slots__ = ("id", "side", "tick", "lots", "account", "pos")

    def __init__(self, order_id: int, side: int, tick: int, lots: int, account: str, pos: int) -> None:
        self.id = order_id
        self.side = side
        self.tick = tick
        self.lots = lots
        self.account = account
        self.pos = pos  # index in MarketSim.live, for O(1) swap-remove


class MarketSim:
    """One instrument's exchange: FIFO price levels of resting orders, its order flow, and its output.

    Scenarios steer it through `log_fair` (the latent fair price; `fair_ticks` is it in ticks as of the
    last move), `offset` (quoting anchor distance from fair, in ticks; `base_offset` normally),
    `base_spread_ticks`, `silent`, `need_snapshot`, `takers` (False: nobody trades, makers only requote),
    `size_scale` (multiplies every new order's size), and `drop_delta` (lose the step's book delta:
    consumers see a sequence gap); they act on the book
    through `add_order`, `cancel_order`, `take`, `extra_takes`, `cross`, `pull_inside` and `phantom` (each one action,
    i.e. one timestamp). Order and trade ids are per instrument, as on most exchanges.
    """

    def __init__(self, instrument: InstrumentSettings, settings: SimSettings, underlying: _Underlying) -> None:
        self.venue, self.symbol = instrument.venue, instrument.symbol
        self.tick_size, self.lot_size = float(instrument.tick_size), float(instrument.lot_size)  # float prices
        self.price_dp, self.qty_dp = _decimals(instrument.tick_size), _decimals(instrument.lot_size)
        self.order_events = settings.order_events
        self.rng = random.Random(f"{settings.seed}/{instrument.key}")
        self.underlying = underlying
        self._model(instrument, settings.step_s)
        self.queues: tuple[dict, dict] = ({}, {})  # tick -> {order id: order}, in time priority
        self.depth: tuple[dict, dict] = ({}, {})  # tick -> total lots
        self.ticks: tuple[list, list] = ([], [])  # populated ticks, ascending
        self.dirty: tuple[dict, dict] = ({}, {})  # tick -> lots at the start of the step, for touched levels
        self.live: list[RestingOrder] = []
        self.count = [0, 0]  # resting orders per side
        self.next_order = self.next_trade = self.seq = 0
        self.silent = False
        self.need_snapshot = True
        self.takers = True
        self.drop_delta = False
        self.size_scale = 1.0
        self.band: tuple[int, int] | None = None  # daily price limits in ticks (a limit scenario sets them): the
        # exchange refuses orders outside, so a bid above the upper limit joins the queue at it, an ask is refused
        self.pending: list[Scenario] = []
        self.active: list[Scenario] = []
        self.out: list[Event] = []
        self.action = 0  # actions so far this step; events carry it as `ts` until the step spreads them out
        self._seed_book()

    def _model(self, instrument: InstrumentSettings, step_s: float) -> None:
        """Per-step parameters: distances scale with how far fair moves in a step, but never under a tick."""
        self.step_s = step_s
        self.log_fair = math.log(instrument.price)
        self.fair_ticks = instrument.price / instrument.tick_size
        self.sigma = instrument.volatility * math.sqrt(step_s / YEAR_S)
        self.drift = -0.5 * self.sigma ** 2  # keeps the GBM's expected price flat
        self.jump_sigma = instrument.volatility * math.sqrt(60.0 / YEAR_S)
        sigma_ticks = self.fair_ticks * self.sigma
        self.base_offset = self.offset = max(MIN_OFFSET_TICKS, OFFSET_SIGMAS * sigma_ticks)
        self.pickoff = max(1.0, self.base_offset)  # quotes this far through fair get picked off at once
        near = max(MIN_NEAR_TICKS, NEAR_SIGMAS * sigma_ticks)
        self.near_inv = _geometric_inv(near)
        self.quote_gap = max(1.0, 2.0 * near)  # a touch further behind the anchor than this gets a maker quote
        self.far_inv = _geometric_inv(max(MIN_FAR_TICKS, FAR_SIGMAS * sigma_ticks))
        self.size_mu = math.log(max(1.0, ORDER_NOTIONAL / (instrument.price * instrument.lot_size)))
        self.prev_close = instrument.prev_close or instrument.price  # what today's A-share limits band around

    def _seed_book(self) -> None:
        """The book at the start: resting orders on both sides, described by the first snapshot only."""
        for _ in range(ORDERS_PER_SIDE):
            self._place(BID)
            self._place(ASK)
        self.out = []
        self._forget_changes()

    @property
    def base_spread_ticks(self) -> float:
        """The normal spread width in ticks, roughly: both anchors plus the tick they round out to."""
        return 2.0 * self.base_offset + 1.0

    def schedule(self, scenario: Scenario) -> None:
        """Queue a scenario; they start in order of their start time."""
        self.pending.append(scenario)
        self.pending.sort(key=attrgetter("start"))

    def step(self, index: int, t0: float, t1: float) -> list[Event]:
        """Simulate (t0, t1]: labels and any snapshot at the start, order flow spread over it, a delta at t1."""
        self.out = []
        self.action = 0
        head = self._transitions(t0, t1)
        if self.need_snapshot and not self.silent:
            head.append(self._snapshot(t0))
        self._move_fair(index)
        for scenario in self.active:
            scenario.on_step(self)
        self._flow()
        if self.silent:
            self._forget_changes()
            return head
        return head + self._stamped(t0, t1)

    def _transitions(self, t0: float, t1: float) -> list[Event]:
        """End scenarios whose window closed by t0; start those opening before t1 and return their labels."""
        if self.active:
            for scenario in [s for s in self.active if s.end <= t0]:
                self.active.remove(scenario)
                scenario.on_end(self)
        labels: list[Event] = []
        while self.pending and self.pending[0].start < t1:
            scenario = self.pending.pop(0)
            scenario.on_start(self)
            self.active.append(scenario)
            labels.append(scenario.label(self.venue, self.symbol))
        return labels

    def _stamped(self, t0: float, t1: float) -> list[Event]:
        """The step's events with actions spread evenly over (t0, t1), then the book delta at t1."""
        out = self.out
        scale = (t1 - t0) / (self.action + 1)
        for event in out:
            event.ts = t0 + event.ts * scale
        delta = self._delta(t1)
        if delta is not None and not self.drop_delta:
            out.append(delta)
        self.drop_delta = False
        return out

    def _move_fair(self, index: int) -> None:
        z, jump = self.underlying.shock_at(index)
        self.log_fair += self.drift + self.sigma * z + jump * self.jump_sigma
        self.fair_ticks = math.exp(self.log_fair) / self.tick_size

    def _flow(self) -> None:
        """One step of order flow: pick-offs of stale quotes, noise market orders, cancels, new limit orders."""
        self._pick_off()
        uniform = self.rng.random
        for _ in range(_poisson(uniform, TAKES_PER_STEP)):
            if self.takers:
                self._noise_take()
        live = self.live
        for _ in range(_poisson(uniform, CANCEL_P * len(live))):
            if live:
                self.cancel_order(live[int(uniform() * len(live))])
        for side in (BID, ASK):
            refill = min(MAX_REFILL, ORDERS_PER_SIDE / (self.count[side] + 1))
            for _ in range(_poisson(uniform, ADDS_PER_STEP * refill)):
                self._place(side)
            self._keep_quote(side)

    def _pick_off(self) -> None:
        """When fair has moved through the touch by more than the pick-off margin, makers cancel their stale
        quotes and informed takers lift (hit) what others left there: the book follows the fair price, and
        a jump sweeps several levels at once without one print per maker order of a deep queue."""
        low, high = self.fair_ticks - self.pickoff, self.fair_ticks + self.pickoff
        bids, asks = self.ticks
        if asks and asks[0] < low:
            limit = math.ceil(low) - 1
            self._fade(asks[:bisect_right(asks, limit)], ASK)
            if self.takers:
                self.take(BID, math.inf, self.random_taker(), limit)
        if bids and bids[-1] > high:
            limit = math.floor(high) + 1
            self._fade(bids[bisect_left(bids, limit):], BID)
            if self.takers:
                self.take(ASK, math.inf, self.random_taker(), limit)

    def _fade(self, ticks: list[int], side: int) -> None:
        """The market makers cancel their orders at these ticks (one action)."""
        self.action += 1
        queues = self.queues[side]
        for tick in ticks:
            for order in [o for o in queues[tick].values() if o.account in MAKER_SET]:
                self._cancel(order)

    def extra_takes(self, multiple: float, account: str | None = None) -> None:
        """Market orders at `multiple` times the usual taker rate, from `account` or the usual takers."""
        for _ in range(_poisson(self.rng.random, multiple * TAKES_PER_STEP)):
            self._noise_take(account)

    def _noise_take(self, account: str | None = None) -> None:
        """A market order of lognormal size; its side leans toward fair so the mid tracks the fair price."""
        bids, asks = self.ticks
        lean = 0.0
        if bids and asks:
            lean = (self.fair_ticks - (bids[-1] + asks[0]) / 2.0) / max(asks[0] - bids[-1], 1)
        side = BID if self.rng.random() < 0.5 + max(-LEAN, min(LEAN, lean)) else ASK
        self.take(side, self.random_lots(), account or self.random_taker())

    def _place(self, side: int) -> None:
        """A limit order a geometric number of ticks behind the anchor: makers close to it, so the touch has
        queues, other accounts deeper, so the book has depth."""
        rng = self.rng
        if rng.random() < MAKER_SHARE:
            account, inv = self._maker(), self.near_inv
        else:
            account, inv = self.random_taker(), self.far_inv
        distance = int(math.log(1.0 - rng.random()) * inv)
        anchor = self._anchor(side)
        tick = self._banded(side, max(1, anchor - distance) if side == BID else anchor + distance)
        if tick is None:
            return
        self.add_order(side, tick, self.random_lots(), account)

    def _keep_quote(self, side: int) -> None:
        """A market maker always quotes near the anchor, so after a jump or a sweep the spread is normal again
        within the step instead of waiting for random arrivals."""
        anchor = self._banded(side, self._anchor(side))
        ticks = self.ticks[side]
        if anchor is None:
            return
        if not ticks or (anchor - ticks[-1] if side == BID else ticks[0] - anchor) > self.quote_gap:
            self.add_order(side, anchor, self.random_lots(), self._maker())

    def _anchor(self, side: int) -> int:
        """Where makers quote now: fair -/+ offset, rounded away from fair, never crossing the other side."""
        bids, asks = self.ticks
        if side == BID:
            tick = math.floor(self.fair_ticks - self.offset)
            return max(1, min(tick, asks[0] - 1) if asks else tick)
        tick = math.ceil(self.fair_ticks + self.offset)
        return max(tick, bids[-1] + 1) if bids else tick

    def _banded(self, side: int, tick: int) -> int | None:
        """`tick` as the exchange accepts it under a price band: a bid above the upper limit (an ask below the
        lower) waits at the limit; an order beyond the far limit is refused (None)."""
        if self.band is None:
            return tick
        low, high = self.band
        if side == BID:
            return None if tick < low else min(tick, high)
        return None if tick > high else max(tick, low)

    def _maker(self) -> str:
        return MAKERS[int(self.rng.random() * len(MAKERS))]

    def random_lots(self) -> int:
        """An order size as the market's participants draw it (lognormal, scaled by `size_scale`)."""
        return max(1, round(math.exp(self.rng.gauss(self.size_mu, SIZE_SIGMA)) * self.size_scale))

    def random_taker(self) -> str:
        """One of the accounts that trade aggressively (never a market maker)."""
        return OTHERS[int(self.rng.random() * len(OTHERS))]

    def add_order(self, side: int, tick: int, lots: int, account: str) -> RestingOrder:
        """Rest a limit order at the back of its price level's queue."""
        self.action += 1
        self.next_order += 1
        order = RestingOrder(self.next_order, side, tick, lots, account, len(self.live))
        self.live.append(order)
        self.count[side] += 1
        queue = self.queues[side].get(tick)
        if queue is None:
            queue = self.queues[side][tick] = {}
            insort(self.ticks[side], tick)
        queue[order.id] = order
        self._change(side, tick, lots)
        if self.order_events:
            self.out.append(OrderEvent(self.action, self.venue, self.symbol, "add", str(order.id), SIDE_NAMES[side],
                                       self._price(tick), self._qty(lots), account))
        return order

    def cancel_order(self, order: RestingOrder) -> None:
        self.action += 1
        self._cancel(order)

    def pull_inside(self, ticks: float) -> None:
        """Cancel every resting order priced within `ticks` of fair: makers backing away from the touch."""
        self.action += 1
        bids, asks, queues = self.ticks[BID], self.ticks[ASK], self.queues
        while bids and bids[-1] > self.fair_ticks - ticks:
            for order in list(queues[BID][bids[-1]].values()):
                self._cancel(order)
        while asks and asks[0] < self.fair_ticks + ticks:
            for order in list(queues[ASK][asks[0]].values()):
                self._cancel(order)

    def take(self, side: int, lots: float, account: str, limit: int | None = None) -> None:
        """A marketable order from `account` on `side`: fills the best levels, FIFO within a level, until `lots`
        are done or the next level is beyond `limit` (a tick). Self-trade prevention cancels the account's own
        resting orders instead of printing a wash trade (the wash_trading scenario will do that on purpose)."""
        self.action += 1
        resting = ASK if side == BID else BID
        ticks, queues = self.ticks[resting], self.queues[resting]
        while lots > 0 and ticks:
            tick = ticks[0] if resting == ASK else ticks[-1]
            if limit is not None and (tick > limit if side == BID else tick < limit):
                return
            maker = next(iter(queues[tick].values()))
            if maker.account == account:
                self._cancel(maker)
                continue
            fill = min(lots, maker.lots)
            self._fill(maker, fill, side, account)
            lots -= fill

    def cross(self, order: RestingOrder, account: str) -> None:
        """A prearranged trade: `account` takes exactly this resting order, out of queue priority and with no
        self-trade prevention (the wash_trading scenario's prints, buyer and seller the same account)."""
        self.action += 1
        self._fill(order, order.lots, ASK if order.side == BID else BID, account)

    def phantom(self, side: int, tick: int, lots: int) -> None:
        """Publish `lots` more (negative: fewer) at a level in the L2 stream without an order behind it: what a
        feed handler that missed a delete shows. Matching ignores it; take it back with the opposite lots."""
        self._change(side, tick, lots)

    def _cancel(self, order: RestingOrder) -> None:
        if self.order_events:
            self.out.append(OrderEvent(self.action, self.venue, self.symbol, "cancel", str(order.id),
                                       SIDE_NAMES[order.side], self._price(order.tick), self._qty(order.lots),
                                       order.account))
        self._remove(order)

    def _fill(self, maker: RestingOrder, lots: int, taker_side: int, taker: str) -> None:
        """One print: the trade, the maker's `fill` order event (qty = the filled amount), the book change."""
        price, qty = self._price(maker.tick), self._qty(lots)
        buyer, seller = (taker, maker.account) if taker_side == BID else (maker.account, taker)
        self.next_trade += 1
        self.out.append(TradeEvent(self.action, self.venue, self.symbol, price, qty, SIDE_NAMES[taker_side],
                                   str(self.next_trade), buyer, seller))
        if self.order_events:
            self.out.append(OrderEvent(self.action, self.venue, self.symbol, "fill", str(maker.id),
                                       SIDE_NAMES[maker.side], price, qty, maker.account))
        if lots == maker.lots:
            self._remove(maker)
        else:
            maker.lots -= lots
            self._change(maker.side, maker.tick, -lots)

    def _remove(self, order: RestingOrder) -> None:
        """Take an order off the book in O(1): swap-remove it from `live`, drop it from its level's queue."""
        live = self.live
        last = live.pop()
        if last is not order:
            live[order.pos] = last
            last.pos = order.pos
        side, tick = order.side, order.tick
        self.count[side] -= 1
        queue = self.queues[side][tick]
        del queue[order.id]
        if not queue:
            del self.queues[side][tick]
            ticks = self.ticks[side]
            del ticks[bisect_left(ticks, tick)]
        self._change(side, tick, -order.lots)

    def _change(self, side: int, tick: int, lots: int) -> None:
        """Add `lots` (negative to remove) to a level's depth, remembering its depth before this step."""
        depth = self.depth[side]
        before = depth.get(tick, 0)
        dirty = self.dirty[side]
        if tick not in dirty:
            dirty[tick] = before
        if before + lots:
            depth[tick] = before + lots
        else:
            del depth[tick]

    def _forget_changes(self) -> None:
        self.dirty[BID].clear()
        self.dirty[ASK].clear()

    def _snapshot(self, ts: float) -> BookEvent:
        """The whole book, best first; a new seq with no prev_seq, so a consumer resyncs from it."""
        self.seq += 1
        self.need_snapshot = False
        bids = self._levels(BID, reversed(self.ticks[BID]))
        return BookEvent(ts, self.venue, self.symbol, True, bids, self._levels(ASK, self.ticks[ASK]), self.seq, None)

    def _delta(self, ts: float) -> BookEvent | None:
        """The levels whose depth differs from the start of the step (0 = deleted); None when none does."""
        bids, asks = self._changed(BID), self._changed(ASK)
        if not bids and not asks:
            return None
        self.seq += 1
        return BookEvent(ts, self.venue, self.symbol, False, bids, asks, self.seq, self.seq - 1)

    def _changed(self, side: int) -> list[Level]:
        depth, dirty = self.depth[side], self.dirty[side]
        ticks = sorted((t for t, before in dirty.items() if depth.get(t, 0) != before), reverse=side == BID)
        dirty.clear()
        return self._levels(side, ticks)

    def _levels(self, side: int, ticks: Iterable[int]) -> list[Level]:
        depth = self.depth[side]
        return [(self._price(t), self._qty(depth.get(t, 0))) for t in ticks]

    def _price(self, tick: int) -> float:
        return round(tick * self.tick_size, self.price_dp)

    def _qty(self, lots: int) -> float:
        return round(lots * self.lot_size, self.qty_dp)

    def levels(self) -> tuple[dict[float, float], dict[float, float]]:
        """The aggregated book as {price: qty} per side (bids, asks): what a consumer's L2 book should hold."""
        return tuple({self._price(t): self._qty(q) for t, q in self.depth[side].items()} for side in (BID, ASK))


class Simulator:
    """Every simulated instrument, stepped together in steps of `settings.step_s` from `start_ts`."""

    def __init__(self, instruments: list[InstrumentSettings], settings: SimSettings, start_ts: float,
                 markets: MarketsSettings | None = None) -> None:
        self.start_ts = start_ts
        self.step_s = settings.step_s
        self.steps = 0
        self.markets: dict[str, MarketSim] = {}
        # instruments whose market keeps hours (from `markets`; none without it): quiet outside `open`
        self.sessions: dict[str, MarketCalendar] = {}
        calendars = Calendars(markets) if markets is not None else None
        underlyings: dict[str, _Underlying] = {}
        jump_p = JUMPS_PER_HOUR * settings.step_s / 3600.0
        for instrument in instruments:
            if instrument.key in self.markets:
                raise ValueError(f"instrument {instrument.key!r} listed twice")
            name = instrument.symbol.split(":")[0]  # BTC/USDT:USDT (perp) shares BTC/USDT's underlying
            underlying = underlyings.setdefault(name, _Underlying(settings.seed, name, jump_p))
            self.markets[instrument.key] = MarketSim(instrument, settings, underlying)
            calendar = calendars[instrument.market] if calendars is not None else None
            if calendar is not None and not calendar.always_open:
                self.sessions[instrument.key] = calendar
        for scenario in settings.scenarios:
            self._schedule(scenario)

    def _schedule(self, settings: ScenarioSettings) -> None:
        market = self.markets.get(settings.instrument)
        if market is None:
            raise ValueError(f"scenario {settings.kind!r}: unknown instrument {settings.instrument!r}")
        market.schedule(build_scenario(settings, self.start_ts))

    @property
    def now(self) -> float:
        """Market time at the end of the last step (the start before the first)."""
        return self.start_ts + self.steps * self.step_s

    def step(self) -> list[Event]:
        """Advance every instrument one step; the step's events, sorted by ts (stable, so ties keep order)."""
        return self.merge(list(self.stepping()))

    @staticmethod
    def merge(parts: list[list[Event]]) -> list[Event]:
        """A step's events from its instruments' (`stepping`), in time order; ties keep instrument order."""
        out = [event for events in parts for event in events]
        out.sort(key=_BY_TS)
        return out

    def stepping(self) -> Iterator[list[Event]]:
        """One step, an instrument at a time: each stepped instrument's events as they are made (`step` merges
        them), so that a caller can let the event loop run between instruments; exhaust it to end the step."""
        t0 = self.now
        self.steps += 1
        t1 = self.now
        sessions = self.sessions
        for key, market in self.markets.items():
            calendar = sessions.get(key) if sessions else None
            if calendar is not None and calendar.session_state(t0)[0] != OPEN:
                market.need_snapshot = True  # closed: no orders, no trades; a fresh snapshot at the open
                continue
            yield market.step(self.steps, t0, t1)


class SimSource:
    """The simulator as a `Source`: steps the market, paces it to `settings.speed` and emits each step.

    A step of a few hundred instruments is tens of milliseconds of work, and the console shares the loop:
    the source lets the loop run every `Pacer.slice_s` while stepping, and emits a step in pieces of at most
    EMIT_EVENTS, so a key press or a frame waits for a slice, not for a whole step. The events, and their
    order, are exactly `Simulator.step`'s; only the batch boundaries differ (nothing downstream keys on them:
    the detectors' timers run on a fixed grid of market time).
    """

    name = "sim"

    def __init__(self, instruments: list[InstrumentSettings], settings: SimSettings, start_ts: float,
                 until_ts: float | None = None, markets: MarketsSettings | None = None) -> None:
        self.sim = Simulator(instruments, settings, start_ts, markets)
        self.pacer = Pacer(settings.speed)
        self.until_ts = until_ts

    async def run(self, emit: Emit) -> None:
        """Forever, or until market time reaches `until_ts` (events after it are not emitted)."""
        sim, until, pacer = self.sim, self.until_ts, self.pacer
        while until is None or sim.now < until:
            parts = []
            for events in sim.stepping():
                parts.append(events)
                await pacer.breathe()
            batch = sim.merge(parts)
            await pacer.wait_until(sim.now)
            if until is not None and sim.now > until:
                batch = [event for event in batch if event.ts <= until]
            for start in range(0, len(batch), EMIT_EVENTS):
                if start:
                    await pacer.breathe()
                emit(batch[start:start + EMIT_EVENTS])
