"""Injected anomalies for the simulated market: each kind is one small class, registered by its alert kind name.

A scenario changes how one instrument is simulated while it is active and leaves ground truth behind: the
simulator emits a `LabelEvent` with the true absolute start and end when it starts, so detectors can be
scored against what really happened. Kind names are FORMAT.md section 3 alert kinds, so a label and the
alert it should raise share a name.

Hooks (all receive the instrument's `MarketSim`), called at the start of a simulation step:
- `on_start` / `on_end`: change the market's parameters (fair price, quoting offset, silence, takers,
  order sizes). They run before the step's snapshot is taken, so they must not act on the book; taking
  back a `phantom` level (a publication, not an order) is the one exception.
- `on_step`: every active step (the first one included), after any snapshot and before the step's own
  order flow; act on the book here (`pull_inside`, `add_order`, `cancel_order`, `take`, `cross`,
  `phantom`).

For harnesses that schedule every kind (console.evaluate), `resets` says whether detectors warm up again
afterwards, and `role` what instrument a kind needs: `any`, `standalone` (moves the price: best on an
instrument with no sibling listing, since moving one listing alone also dislocates its siblings), `perp`
(a perpetual with a spot sibling), `listed_twice` (the same symbol on another venue) or `a_share` (a
mainland China stock, which has daily price limits).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

from feeds.price_limits import BandRules, a_share_board, price_band
from feeds.events import LabelEvent
from feeds.settings import ScenarioSettings

if TYPE_CHECKING:
    from feeds.simulator import MarketSim, RestingOrder

BID, ASK = 0, 1  # MarketSim's side index
ABUSER = "acct-050"  # the manipulating account: outside the simulator's ordinary pool of 50

WIDEN = 4.0  # spread_wide: the spread becomes this many times its normal width, per unit of magnitude ...
WIDE_FLOOR_BPS = 20.0  # ... and at least this many bps per unit of magnitude, so a tight book (BTC at ~0.5 bps)
# still crosses the usual alert thresholds (5 bps; 10 to 15 on equity books)
NOISE_SIGMAS = 12.0  # volatility_spike: fair gets white noise of this many one-second sigmas ...
NOISE_MIN_TICKS = 2.0  # ... and at least this many ticks, so a big-tick book moves too
VOLUME_MULTIPLE = 400.0  # volume_spike: extra takers at this multiple of the noise-taker rate (about 100x the volume,
# since informed takers picking off stale quotes trade much of the normal volume)
DOMINANT_MULTIPLE = 8.0  # concentration: one account takes at this multiple of the noise-taker rate
WITHDRAW_BPS = 15.0  # book_depletion: makers cancel what rests within this distance of fair ...
WITHDRAW_SIZE = 0.05  # ... and new orders come at this share of their usual size
GAP_MINUTE_SIGMAS, GAP_MIN_BPS = 16.0, 25.0  # price_gap: the jump, in sigmas of a minute's move, and at least
DISLOCATION_BPS = 25.0  # basis / cross-venue: the listing's fair shifts this far from its siblings'
DRIFT_BPS, DRIFT_S = 30.0, 2.0  # price_volume_divergence: fair moves this far over this long, nobody trading
PUMP_BPS = 300.0  # pump_and_dump: the run-up (then the same back down)
CROSS_BPS = 2.0  # crossed_book: the phantom bid sits this far through the best ask
SPOOF_SIZE = 50.0  # spoofing / layering: order size in multiples of the median order
SPOOF_AWAY_BPS = 0.5  # ... resting at least this far behind the touch (and at least two ticks)
STUFF_PER_STEP = 40  # quote_stuffing: adds (each cancelled in the same step) per step
SWEEP_LEVELS, SWEEP_BPS = 6, 5.0  # momentum_ignition: the igniting order takes out at least this many price
# levels and this many bps of the book (but never the whole side) ...
TURN_SHARE = 0.6  # ... then half a second later the same account trades this share of it the other way
LOCK_BEYOND_BPS = 50.0  # price_limit: fair jumps this far beyond the upper limit (buyers would pay more) ...
QUEUE_LOTS = 50  # ... and one buyer adds this many ordinary orders' worth to the queue at the limit


class Scenario:
    """One injected anomaly on one instrument over [start, end] (absolute epoch seconds)."""

    kind: ClassVar[str]
    role: ClassVar[str] = "any"
    resets: ClassVar[bool] = False  # consumers resync afterwards, and their detectors warm up again

    def __init__(self, settings: ScenarioSettings, start_ts: float) -> None:
        self.settings = settings
        self.magnitude = settings.magnitude
        self.start = start_ts + settings.at
        self.end = self.start + settings.duration
        self.steps = 0  # on_step calls so far

    def label(self, venue: str, symbol: str) -> LabelEvent:
        return LabelEvent(self.start, venue, symbol, self.kind, self.start, self.end, self.detail())

    def detail(self) -> str | None:
        """A short human note for the label (what was injected, how strongly)."""
        return None

    def on_start(self, market: MarketSim) -> None: ...
    def on_step(self, market: MarketSim) -> None: ...
    def on_end(self, market: MarketSim) -> None: ...


SCENARIOS: dict[str, type[Scenario]] = {}


def register(cls: type[Scenario]) -> type[Scenario]:
    """Class decorator: make a scenario available by its kind name in config.yaml's `sim.scenarios`."""
    if cls.kind in SCENARIOS:
        raise ValueError(f"scenario kind {cls.kind!r} registered twice")
    SCENARIOS[cls.kind] = cls
    return cls


def build_scenario(settings: ScenarioSettings, start_ts: float) -> Scenario:
    """The scenario a `ScenarioSettings` names; a clear error for an unknown kind."""
    cls = SCENARIOS.get(settings.kind)
    if cls is None:
        raise ValueError(f"unknown scenario kind {settings.kind!r} (expected one of: {', '.join(sorted(SCENARIOS))})")
    return cls(settings, start_ts)


@register
class SpreadWide(Scenario):
    """Spread blowout: makers pull liquidity near the touch and requote far from fair until the end."""

    kind = "spread_wide"

    def detail(self) -> str:
        return f"spread x{WIDEN * self.settings.magnitude:g} its normal width (at least {self._floor_bps():g} bps)"

    def _floor_bps(self) -> float:
        return WIDE_FLOOR_BPS * self.settings.magnitude

    def on_start(self, market: MarketSim) -> None:
        floor_ticks = self._floor_bps() * market.fair_ticks / 1e4
        width = max(WIDEN * self.settings.magnitude * market.base_spread_ticks, floor_ticks)
        market.offset = width / 2.0

    def on_step(self, market: MarketSim) -> None:
        market.pull_inside(market.offset)  # fair drifts: keep the gap clear, not just at the start

    def on_end(self, market: MarketSim) -> None:
        market.offset = market.base_offset


@register
class StaleFeed(Scenario):
    """Stalled feed: the instrument emits nothing (its market keeps trading), then resumes with a snapshot."""

    kind = "stale_feed"

    def on_start(self, market: MarketSim) -> None:
        market.silent = True

    def on_end(self, market: MarketSim) -> None:
        market.silent = False
        market.need_snapshot = True  # consumers missed deltas: resync them as a real feed would


def _bps_to_log(bps: float) -> float:
    return math.log1p(bps / 1e4)


def _sign(market: MarketSim) -> float:
    return 1.0 if market.rng.random() < 0.5 else -1.0


def _best(market: MarketSim, side: int) -> int | None:
    ticks = market.ticks[side]
    if not ticks:
        return None
    return ticks[-1] if side == BID else ticks[0]


def _behind(market: MarketSim, side: int, ticks: int) -> int | None:
    """The tick `ticks` behind the best price of `side` (lower for bids, higher for asks)."""
    best = _best(market, side)
    if best is None:
        return None
    return max(1, best - ticks) if side == BID else best + ticks


def _cancel_at(market: MarketSim, side: int, ticks: list[int]) -> None:
    """Cancel every order resting at these ticks of one side."""
    queues = market.queues[side]
    for tick in ticks:
        for order in list(queues[tick].values()):
            market.cancel_order(order)


def _cycle_steps(market: MarketSim, seconds: float) -> int:
    return max(1, round(seconds / market.step_s))


@register
class VolatilityBurst(Scenario):
    """Realised volatility jumps: fair gets mean-reverting white noise on top of its path, so it churns hard
    without drifting away from its siblings."""

    kind = "volatility_spike"

    def detail(self) -> str:
        return f"fair churns with noise of {NOISE_SIGMAS * self.magnitude:g} one-second sigmas"

    def on_start(self, market: MarketSim) -> None:
        sigma_1s = market.sigma * math.sqrt(1.0 / market.step_s)
        tick = market.tick_size / math.exp(market.log_fair)
        self.scale = self.magnitude * max(NOISE_SIGMAS * sigma_1s, NOISE_MIN_TICKS * tick)
        self.noise = 0.0

    def on_step(self, market: MarketSim) -> None:
        noise = market.rng.gauss(0.0, self.scale)
        market.log_fair += noise - self.noise
        self.noise = noise

    def on_end(self, market: MarketSim) -> None:
        market.log_fair -= self.noise


@register
class VolumeBurst(Scenario):
    """Traded volume surges: many more takers of ordinary size, both sides, no change in the fair price."""

    kind = "volume_spike"

    def detail(self) -> str:
        return f"takers at {VOLUME_MULTIPLE * self.magnitude:g}x their usual rate"

    def on_step(self, market: MarketSim) -> None:
        market.extra_takes(VOLUME_MULTIPLE * self.magnitude)


@register
class LiquidityWithdrawal(Scenario):
    """Book depletion: makers cancel what rests near fair and come back only with a sliver of their size."""

    kind = "book_depletion"
    share = WITHDRAW_SIZE

    def detail(self) -> str:
        return f"depth within {WITHDRAW_BPS:g} bps pulled, new orders at {self._share():.0%} of their size"

    def _share(self) -> float:
        return self.share / self.magnitude

    def on_start(self, market: MarketSim) -> None:
        market.size_scale = self._share()

    def on_step(self, market: MarketSim) -> None:
        band = WITHDRAW_BPS * 1e-4 * market.fair_ticks
        for side in (BID, ASK):
            _cancel_at(market, side, [t for t in market.ticks[side] if abs(t - market.fair_ticks) <= band])

    def on_end(self, market: MarketSim) -> None:
        market.size_scale = 1.0


@register
class DepthCollapse(LiquidityWithdrawal):
    """Depth floor: the same withdrawal, deeper, so what is left is under any absolute floor."""

    kind = "depth_floor"
    share = WITHDRAW_SIZE / 5.0


@register
class CrossedBook(Scenario):
    """A feed fault: a bid level that was never deleted sits through the best ask until a resync snapshot."""

    kind = "crossed_book"

    def detail(self) -> str:
        return f"phantom bid {CROSS_BPS * self.magnitude:g} bps through the best ask"

    def on_start(self, market: MarketSim) -> None:
        self.phantom: tuple[int, int] | None = None  # (tick, lots) published

    def on_step(self, market: MarketSim) -> None:
        ask = _best(market, ASK)
        if ask is None or (self.phantom is not None and self.phantom[0] >= ask):
            return
        self._withdraw(market)
        through = max(1, round(CROSS_BPS * self.magnitude * 1e-4 * market.fair_ticks))
        self.phantom = (ask + through, market.random_lots())
        market.phantom(BID, *self.phantom)

    def _withdraw(self, market: MarketSim) -> None:
        if self.phantom is not None:
            tick, lots = self.phantom
            market.phantom(BID, tick, -lots)
            self.phantom = None

    def on_end(self, market: MarketSim) -> None:
        self._withdraw(market)
        market.need_snapshot = True  # the feed handler notices and resyncs


@register
class FeedGap(Scenario):
    """A lost book delta: consumers see a sequence gap and stay out of sync until the snapshot at the end."""

    kind = "feed_gap"
    resets = True

    def on_step(self, market: MarketSim) -> None:
        if self.steps == 0:
            market.drop_delta = True
        self.steps += 1

    def on_end(self, market: MarketSim) -> None:
        market.need_snapshot = True


@register
class PriceGap(Scenario):
    """Fair jumps at once, far beyond a natural move, and stays there."""

    kind = "price_gap"
    role = "standalone"

    def detail(self) -> str:
        return f"fair jumps {GAP_MINUTE_SIGMAS * self.magnitude:g} sigmas of a minute (at least {GAP_MIN_BPS:g} bps)"

    def on_start(self, market: MarketSim) -> None:
        minute = market.jump_sigma * GAP_MINUTE_SIGMAS * self.magnitude
        market.log_fair += _sign(market) * max(minute, _bps_to_log(GAP_MIN_BPS * self.magnitude))


@register
class BasisDislocation(Scenario):
    """A perpetual's fair moves away from its spot's, then comes back at the end."""

    kind = "basis_dislocation"
    role = "perp"

    def detail(self) -> str:
        return f"fair shifted {DISLOCATION_BPS * self.magnitude:g} bps from its siblings"

    def on_start(self, market: MarketSim) -> None:
        self.shift = _sign(market) * _bps_to_log(DISLOCATION_BPS * self.magnitude)
        market.log_fair += self.shift

    def on_end(self, market: MarketSim) -> None:
        market.log_fair -= self.shift


@register
class CrossVenueDislocation(BasisDislocation):
    """One venue's listing moves away from the same symbol on the other venues."""

    kind = "cross_venue_dislocation"
    role = "listed_twice"


@register
class QuietDrift(Scenario):
    """Price moves on no volume: nobody trades while fair drifts and makers requote behind it."""

    kind = "price_volume_divergence"
    role = "standalone"

    def detail(self) -> str:
        return f"fair drifts {DRIFT_BPS * self.magnitude:g} bps over {DRIFT_S:g} s with no trades"

    def on_start(self, market: MarketSim) -> None:
        market.takers = False
        self.direction = _sign(market)
        self.per_step = _bps_to_log(DRIFT_BPS * self.magnitude) / _cycle_steps(market, DRIFT_S)

    def on_step(self, market: MarketSim) -> None:
        if self.steps < _cycle_steps(market, DRIFT_S):
            market.log_fair += self.direction * self.per_step
        self.steps += 1
        ahead = ASK if self.direction > 0 else BID  # the side fair is moving into steps out of its way
        limit = market.fair_ticks + market.offset if ahead == ASK else market.fair_ticks - market.offset
        _cancel_at(market, ahead, [t for t in market.ticks[ahead] if (t < limit if ahead == ASK else t > limit)])

    def on_end(self, market: MarketSim) -> None:
        market.takers = True


@register
class PumpAndDump(Scenario):
    """An account buys hard while fair runs up over the first half, then sells into the reversal."""

    kind = "pump_and_dump"
    role = "standalone"

    def detail(self) -> str:
        return f"run-up of {PUMP_BPS * self.magnitude:g} bps over half the window, then back down"

    def on_start(self, market: MarketSim) -> None:
        half = _cycle_steps(market, self.settings.duration / 2.0)
        self.half = half
        self.per_step = _bps_to_log(PUMP_BPS * self.magnitude) / half

    def on_step(self, market: MarketSim) -> None:
        pumping = self.steps < self.half
        if self.steps < 2 * self.half:
            market.log_fair += self.per_step if pumping else -self.per_step
        self.steps += 1
        market.take(BID if pumping else ASK, market.random_lots(), ABUSER)


class _Cycle(Scenario):
    """A manipulation repeated every `cycle_s`: `act(market, step)` runs on each step of a cycle."""

    cycle_s: ClassVar[float] = 1.0

    def on_step(self, market: MarketSim) -> None:
        self.act(market, self.steps % _cycle_steps(market, self.cycle_s))
        self.steps += 1

    def act(self, market: MarketSim, step: int) -> None: ...


@register
class Spoofing(_Cycle):
    """A large bid away from the touch, a sale on the other side while it shows, then the bid is cancelled."""

    kind = "spoofing"
    layers: ClassVar[int] = 1
    cycle_s = 0.6

    def detail(self) -> str:
        return f"{self.layers} order(s) of {SPOOF_SIZE * self.magnitude:g}x the median size, cancelled after a sale"

    def on_start(self, market: MarketSim) -> None:
        self.resting: list[RestingOrder] = []
        self.side = BID

    def act(self, market: MarketSim, step: int) -> None:
        if step == 0:
            self.side = BID if market.rng.random() < 0.5 else ASK
            away = max(2, math.ceil(SPOOF_AWAY_BPS * 1e-4 * market.fair_ticks))
            lots = max(1, round(math.exp(market.size_mu) * SPOOF_SIZE * self.magnitude))
            for layer in range(self.layers):
                tick = _behind(market, self.side, away + 2 * layer)
                if tick is not None:
                    self.resting.append(market.add_order(self.side, tick, lots, ABUSER))
        elif step == 2:
            market.take(ASK if self.side == BID else BID, market.random_lots(), ABUSER)  # sell into the bids
        elif step == 4:
            for order in self.resting:
                if order.id in market.queues[order.side].get(order.tick, ()):  # not filled meanwhile
                    market.cancel_order(order)
            self.resting = []


@register
class Layering(Spoofing):
    """Spoofing with several large orders stacked at successive levels on one side."""

    kind = "layering"
    layers = 4


@register
class QuoteStuffing(Scenario):
    """A burst of orders added and cancelled within the same step, away from the touch: L3 messages that never
    show in the L2 book, and no trades."""

    kind = "quote_stuffing"

    def detail(self) -> str:
        return f"{STUFF_PER_STEP * self.magnitude:g} orders added and cancelled per step"

    def on_step(self, market: MarketSim) -> None:
        rng = market.rng
        for _ in range(round(STUFF_PER_STEP * self.magnitude)):
            side = BID if rng.random() < 0.5 else ASK
            tick = _behind(market, side, 3 + int(rng.random() * 20))
            if tick is not None:
                market.cancel_order(market.add_order(side, tick, market.random_lots(), ABUSER))


@register
class WashPrints(_Cycle):
    """An account trades with itself: it rests an order at the touch and takes it, buying and selling in turn."""

    kind = "wash_trading"
    cycle_s = 0.5

    def on_start(self, market: MarketSim) -> None:
        self.buy = True

    def act(self, market: MarketSim, step: int) -> None:
        if step != 0:
            return
        side = ASK if self.buy else BID  # the resting half: an ask the account then buys, or a bid it sells
        tick = _best(market, side)
        if tick is not None:
            market.cross(market.add_order(side, tick, market.random_lots(), ABUSER), ABUSER)
        self.buy = not self.buy


@register
class MomentumIgnition(_Cycle):
    """An aggressive order sweeps several levels, then the same account trades the other way into the move."""

    kind = "momentum_ignition"
    role = "standalone"
    cycle_s = 3.0

    def on_start(self, market: MarketSim) -> None:
        self.side = BID
        self.swept = 0

    def act(self, market: MarketSim, step: int) -> None:
        if step == 0:
            self.side = BID if market.rng.random() < 0.5 else ASK
            resting = ASK if self.side == BID else BID
            ticks = market.ticks[resting] if resting == ASK else market.ticks[resting][::-1]  # best first
            reach = SWEEP_BPS * self.magnitude * 1e-4 * market.fair_ticks
            count = 0
            while count < len(ticks) - 3 and (count < SWEEP_LEVELS or abs(ticks[count - 1] - ticks[0]) < reach):
                count += 1
            self.swept = sum(market.depth[resting].get(t, 0) for t in ticks[:count])
            if self.swept:
                market.take(self.side, self.swept, ABUSER)
        elif step == 5 and self.swept:
            market.take(ASK if self.side == BID else BID, max(1, round(TURN_SHARE * self.swept)), ABUSER)


@register
class Concentration(Scenario):
    """One account dominates the tape: it takes, both ways, at many times the whole market's usual rate."""

    kind = "concentration"

    def detail(self) -> str:
        return f"{ABUSER} takes at {DOMINANT_MULTIPLE * self.magnitude:g}x the usual taker rate"

    def on_step(self, market: MarketSim) -> None:
        market.extra_takes(DOMINANT_MULTIPLE * self.magnitude, ABUSER)


@register
class LimitUp(Scenario):
    """An A-share jumps to its upper daily limit on news and locks there: the exchange refuses offers above
    the limit, buyers queue at it and take every offer at it, so the ask side stays empty. (A gradual run-up
    would be swept step by step in this model, whose makers requote less than a bps a step.) At the end the
    limit opens and the price falls back to where it started, so later injections meet an ordinary market."""

    kind = "price_limit"
    role = "a_share"

    def detail(self) -> str:
        return f"jumps to the upper limit (+{self.pct:g}% of the previous close) and locks there"

    def __init__(self, settings: ScenarioSettings, start_ts: float) -> None:
        super().__init__(settings, start_ts)
        board = a_share_board(settings.instrument.split(":", 1)[-1])
        self.pct = BandRules().pct(board or "main")

    def on_start(self, market: MarketSim) -> None:
        tick = market.tick_size
        band = price_band(market.prev_close, self.pct, tick)
        self.limit = round(band.high / tick)
        market.band = (round(band.low / tick), self.limit)
        self.before = market.log_fair
        market.log_fair = math.log(band.high) + _bps_to_log(LOCK_BEYOND_BPS)

    def on_step(self, market: MarketSim) -> None:
        if self.steps == 1:  # the step after the jump, when the asks up to the limit are gone
            market.add_order(BID, self.limit, QUEUE_LOTS * market.random_lots(), market.random_taker())
        self.steps += 1

    def on_end(self, market: MarketSim) -> None:
        market.band = None
        market.log_fair = self.before
