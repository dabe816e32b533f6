"""Trading manipulation seen on the tape: wash trades, pump and dump, momentum ignition, and one account
dominating the volume. Account ids (`buyer`, `seller`) make the evidence direct; where a feed has none,
wash trading falls back to tape patterns and says only "consistent with"."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from detectors.base import Detector, register
from detectors.features import MidSamples, TradeFlow
from detectors.rules import Rule, RuleParams, check, check_history
from detectors.orderflow import SIZE_HALF_LIFE, SIZE_SAMPLE_S, SIZE_WARMUP
from detectors.stats import EveryGrid, Ewma, KeyedCounter, RollingWindow
from feeds.book import OrderBook
from feeds.events import TradeEvent


def _taker(event: TradeEvent) -> str | None:
    return event.buyer if event.side == "buy" else event.seller


@dataclass(frozen=True)
class WashTradingParams(RuleParams):
    scored = False
    window_s: float = 30.0  # prints counted over this window
    min_prints: int = 2  # accounts known: warning at this many self-matched prints (buyer = seller) ...
    critical_prints: int = 5
    pair_s: float = 1.0  # no accounts: a print matched by one of the same price and size on the other
    min_pairs: int = 8  # aggressor side within pair_s is a pair; warning at this many pairs ...
    critical_pairs: int = 20
    min_notional: float = 25_000.0  # ... of prints at least this large (quote currency): small round lots
    # repeat by chance
    zscore: float | None = None
    cooldown_s: float = 15.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.window_s > 0 and self.pair_s > 0, "window_s and pair_s must be positive")
        check(1 <= self.min_prints <= self.critical_prints, "need 1 <= min_prints <= critical_prints")
        check(1 <= self.min_pairs <= self.critical_pairs, "need 1 <= min_pairs <= critical_pairs")


@register
class WashTrading(Detector):
    """Self-matched prints where accounts are known; matched same-price, same-size buy/sell pairs otherwise."""

    kind = "wash_trading"
    family = "abuse"
    params_type = WashTradingParams

    def __init__(self, context, params: WashTradingParams) -> None:
        super().__init__(context, params)
        self.prints = KeyedCounter(params.window_s)  # by account, or None on the tape
        self.recent: dict[tuple[float, float], tuple[float, str]] = {}  # tape: (price, qty) -> (ts, side)
        self.expiry: deque[tuple[float, tuple[float, float]]] = deque()
        self.tape = False
        self.rule = self._rule(params.min_prints, params.critical_prints)
        self.account: str | None = None

    def _rule(self, warning: int, critical: int) -> Rule:
        return Rule.from_params(self.signal, self.describe, warning, critical, self.params)

    def describe(self, count: float, threshold: float, z: float | None) -> tuple[str, dict]:
        window = self.params.window_s
        if not self.rule.active:
            return "no more wash prints", {}
        if self.tape:
            return (f"{count:.0f} same-price, same-size buy/sell pairs in {window:g} s: consistent with wash "
                    f"trading (no account data)", {"pairs": count})
        return (f"{count:.0f} prints with account {self.account} on both sides in {window:g} s",
                {"account": self.account, "prints": count})

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        buyer, seller = event.buyer, event.seller
        if buyer is not None and seller is not None:
            if buyer == seller:
                self.account = buyer
                self.rule.update(event.ts, self.prints.add(event.ts, buyer))
        elif buyer is None and seller is None:
            self._tape(event)

    def _tape(self, event: TradeEvent) -> None:
        p = self.params
        if not self.tape:
            self.tape = True
            self.rule = self._rule(p.min_pairs, p.critical_pairs)
        if event.price * event.qty < p.min_notional:
            return
        ts, recent, expiry = event.ts, self.recent, self.expiry
        while expiry and expiry[0][0] < ts - p.pair_s:
            old_ts, key = expiry.popleft()
            if recent.get(key, (None,))[0] == old_ts:
                del recent[key]
        key = (event.price, event.qty)
        previous = recent.get(key)
        if previous is not None and previous[1] != event.side:
            del recent[key]
            self.rule.update(ts, self.prints.add(ts, None))
        else:
            recent[key] = (ts, event.side)
            expiry.append((ts, key))

    def on_tick(self, now: float) -> None:
        if self.rule.engaged:
            self.prints.expire(now)
            self.rule.update(now, self.prints.counts.get(None if self.tape else self.account, 0))

    def reset(self) -> None:
        self.prints.reset()
        self.recent.clear()
        self.expiry.clear()
        self.rule.reset()


@dataclass(frozen=True)
class PumpAndDumpParams(RuleParams):
    window_s: float = 30.0  # the run-up is measured from the lowest mid of this many seconds
    threshold_bps: float = 25.0  # warning (pump under way): a run-up at least this large ...
    zscore: float | None = 5.0  # ... and this many standard deviations of a move that long ...
    volume_ratio: float = 1.5  # ... on volume at least this multiple of the usual rate ...
    max_step_share: float = 0.6  # ... and no single second carrying more than this share of it (a jump is not a pump)
    reversal_share: float = 0.5  # critical (the dump): the price gives back this share of the run-up
    history: int = 300  # samples (one a second) of the volume rate, for the usual one
    warmup: int = 30
    cooldown_s: float = 15.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.window_s >= 2 and self.threshold_bps > 0, "need window_s >= 2 and threshold_bps > 0")
        check(self.volume_ratio > 0, "volume_ratio must be positive")
        check(0 < self.max_step_share <= 1 and 0 < self.reversal_share <= 1,
              "max_step_share and reversal_share must be in (0, 1]")
        check_history(self.history, self.warmup)


@register
class PumpAndDump(Detector):
    """A fast run-up on heavy volume (warning while it runs) followed by a reversal (critical)."""

    kind = "pump_and_dump"
    family = "abuse"
    params_type = PumpAndDumpParams

    def __init__(self, context, params: PumpAndDumpParams) -> None:
        super().__init__(context, params)
        self.mids = context.feature(MidSamples)
        self.flow = context.feature(TradeFlow)
        self.mids.listeners.append(self.on_sample)
        self.rate = RollingWindow(params.history, params.warmup)  # volume per second
        self.lows: deque[tuple[float, float]] = deque()  # rising (ts, mid) minima of the window: its low first
        self.grid = EveryGrid(1.0)
        # critical is the reversal, an event rather than a level: the rule is told when it happens
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.threshold_bps, params)
        self.trough = self.peak = (0.0, 0.0)  # (ts, mid) of the current episode
        self._volume_ratio = self._z = 0.0

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.rate.ready else (self.rate.count, self.rate.warmup)

    def describe(self, runup: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "run-up over", {}
        (t0, low), (t1, high) = self.trough, self.peak
        evidence = {"from": low, "peak": high, "run_s": t1 - t0, "volume_ratio": self._volume_ratio}
        if self.rule.severity == "critical":
            return f"pump and dump: +{runup:.0f} bps from {low:g} to {high:g}, then reversed", evidence
        return (f"run-up +{runup:.0f} bps from {low:g} in {t1 - t0:.0f} s on {self._volume_ratio:.1f}x volume, "
                f"z {z:.1f}: possible pump", evidence)

    def on_sample(self, ts: float, mid: float, r: float) -> None:
        if not self.grid.due(ts):
            return  # judged once a second
        rule, rate, lows = self.rule, self.rate, self.lows
        while lows and lows[-1][1] >= mid:
            lows.pop()
        lows.append((ts, mid))
        while lows[0][0] < ts - self.params.window_s:
            lows.popleft()
        rising = (mid / lows[0][1] - 1.0) * 1e4 >= 0.5 * self.params.threshold_bps
        if rule.active:
            self._follow(ts, mid)
        elif not (rate.ready and self.mids.ready and rate.mean > 0):
            rule.skip(ts, None)
        elif rising or rule.engaged:
            self._look(ts, mid)
        if rule.engaged:
            self.mids.hold(ts + 10.0)
        elif not rising:  # a run-up's volume must not become the usual rate
            rate.add(self.flow.rate(ts, 1.0))

    def _look(self, ts: float, mid: float) -> None:
        """Is the rise from the window's low a pump: fast, on heavy volume, spread over several seconds?"""
        p = self.params
        window = [s for s in self.mids.recent if s[0] >= ts - p.window_s]
        trough_at = min(range(len(window)), key=lambda i: window[i][1])
        trough = window[trough_at]
        runup = math.log(mid / trough[1]) * 1e4
        # the run starts where the price last sat within a quarter of the rise above the low
        start = trough_at
        for i in range(len(window) - 1, trough_at, -1):
            if math.log(window[i][1] / trough[1]) * 1e4 <= 0.25 * runup:
                start = i
                break
        span = max(ts - window[start][0], 1.0)
        steps = [abs(math.log(b[1] / a[1])) * 1e4 for a, b in zip(window[start:], window[start + 1:])]
        self._volume_ratio = self.flow.rate(ts, span) / self.rate.mean
        pumping = (runup > 0 and self._volume_ratio >= p.volume_ratio
                   and max(steps, default=0.0) <= p.max_step_share * runup)
        z = self._z = runup / (self.mids.slow_sigma_bps * math.sqrt(span))
        self.trough, self.peak = trough, (ts, mid)
        self.rule.update(ts, runup if pumping else 0.0, z, critical_ok=False)

    def _follow(self, ts: float, mid: float) -> None:
        if mid > self.peak[1]:
            self.peak = (ts, mid)
        runup = math.log(self.peak[1] / self.trough[1]) * 1e4
        if ts - self.peak[0] > self.params.window_s:
            self.rule.clear(ts, runup)
            return
        given_back = math.log(self.peak[1] / mid) * 1e4
        self.rule.update(ts, runup, self._z, stat_ok=True,
                         critical_ok=given_back >= self.params.reversal_share * runup)

    def reset(self) -> None:
        self.rate.reset()
        self.lows.clear()
        self.grid.reset()
        self.rule.reset()


@dataclass(frozen=True)
class MomentumIgnitionParams(RuleParams):
    scored = False
    min_levels: int = 4  # a sweep: one aggressive order printing at this many price levels ...
    size_multiple: float = 30.0  # ... for at least this many times the usual aggressive order ...
    move_sigmas: float = 3.0  # ... moving the price this many of the instrument's one-second sigmas ...
    min_move_bps: float = 1.0  # ... and at least this many bps (a calm, tick-bound book's sigma is tiny) ...
    follow_s: float = 10.0  # ... followed within this long by trading the other way:
    opposite_share: float = 0.5  # by the same account, at least this share of the sweep (accounts known)
    tape_min_move_bps: float = 10.0  # no account data: only a sweep across this many bps counts ...
    tape_opposite_share: float = 2.0  # ... and anyone trading at least this multiple of it the other way
    window_s: float = 30.0  # ignitions counted over this window
    min_events: int = 1
    critical_events: int = 3
    zscore: float | None = None
    cooldown_s: float = 15.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.min_levels >= 2 and self.min_move_bps >= 0 and self.size_multiple > 0 and self.move_sigmas >= 0,
              "need min_levels >= 2, min_move_bps >= 0, move_sigmas >= 0 and size_multiple > 0")
        check(self.follow_s > 0 and self.window_s > 0, "follow_s and window_s must be positive")
        check(self.opposite_share > 0 and self.tape_opposite_share > 0, "opposite shares must be positive")
        check(1 <= self.min_events <= self.critical_events, "need 1 <= min_events <= critical_events")


@dataclass(slots=True)
class Sweep:
    ts: float
    side: str
    taker: str | None
    levels: int
    qty: float
    first: float
    last: float
    opposite: float = 0.0
    ignited: bool = False


@register
class MomentumIgnition(Detector):
    """An aggressive sweep through several levels, then the sweeper (or, without accounts, a heavy flow)
    trading the other way into the move it made."""

    kind = "momentum_ignition"
    family = "abuse"
    params_type = MomentumIgnitionParams

    def __init__(self, context, params: MomentumIgnitionParams) -> None:
        super().__init__(context, params)
        # the aggressive order being printed (its trades share ts, side and taker), as plain fields: most
        # trades start a new one, so no object is built until one turns out to be a sweep
        self.key: tuple | None = None  # (ts, side, taker)
        self.qty = self.first = self.last_price = 0.0
        self.levels = 0  # distinct prices (a sweep's prices only move one way)
        self.sweeps: deque[Sweep] = deque()
        self.sizes = Ewma(SIZE_HALF_LIFE, SIZE_WARMUP)  # log size of aggressive orders (all their prints), sampled
        self.mids = context.feature(MidSamples)  # the volatility a sweep's move is judged against
        self.usual = math.inf  # their typical size, once learnt
        self.size_grid = EveryGrid(SIZE_SAMPLE_S)
        self.events = KeyedCounter(params.window_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.min_events, params.critical_events, params)
        self.last: Sweep | None = None

    def describe(self, count: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "no more ignitions", {}
        s = self.last
        who = f"account {s.taker}" if s.taker is not None else "the tape (no account data)"
        return (f"{s.side} sweep of {s.levels} levels ({s.first:g} -> {s.last:g}, {s.qty:g}) then {s.opposite:g} "
                f"the other way by {who}; {count:.0f} in {self.params.window_s:g} s",
                {"account": s.taker, "levels": s.levels, "sweep_qty": s.qty, "opposite_qty": s.opposite})

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        side, price = event.side, event.price
        taker = event.buyer if side == "buy" else event.seller
        key = (event.ts, side, taker)
        if key == self.key:
            self.qty += event.qty
            if price != self.last_price:
                self.levels += 1
                self.last_price = price
        else:
            if self.key is not None:
                self._close(event.ts)
            self.key = key
            self.qty, self.first, self.last_price, self.levels = event.qty, price, price, 1
        if self.sweeps:
            self._follow(event, side, taker)

    def _follow(self, event: TradeEvent, side: str, taker: str | None) -> None:
        """Trading the other way after a sweep: by its author (or anyone, without accounts)."""
        for sweep in self.sweeps:
            if sweep.side != side and not sweep.ignited and (sweep.taker is None or sweep.taker == taker):
                sweep.opposite += event.qty
                share = self.params.opposite_share if sweep.taker is not None else self.params.tape_opposite_share
                if sweep.opposite >= share * sweep.qty:
                    sweep.ignited = True
                    self.last = sweep
                    self.rule.update(event.ts, self.events.add(event.ts, sweep.taker))

    def _close(self, now: float) -> None:
        """The order being printed is complete: keep it as a sweep if it took out enough levels, was far
        larger than the usual aggressive order and moved the price far more than the instrument's volatility."""
        sweeps = self.sweeps
        while sweeps and sweeps[0].ts < now - self.params.follow_s:
            sweeps.popleft()
        (ts, side, taker), qty, usual, p = self.key, self.qty, self.usual, self.params
        self.key = None
        if ts >= self.size_grid.next_ts and qty > 0:
            self.size_grid.due(ts)
            self.sizes.add(math.log(qty))
            if self.sizes.ready:
                self.usual = math.exp(self.sizes.mean)
        if self.levels < p.min_levels or qty < p.size_multiple * usual or not self.mids.ready:
            return
        # an ordinary order that took several levels is common (a jump leaves stale quotes for the first taker
        # to pick off): only one both far larger than usual and moving the price far more than usual ignites
        move = abs(self.last_price / self.first - 1.0) * 1e4
        floor = p.min_move_bps if taker is not None else p.tape_min_move_bps  # the tape alone: any heavy
        # trading follows an ordinary sweep, so only big ones count
        if move >= max(floor, p.move_sigmas * self.mids.sigma_bps):
            sweeps.append(Sweep(ts, side, taker, self.levels, qty, self.first, self.last_price))

    def on_tick(self, now: float) -> None:
        if self.key is not None and self.key[0] < now:
            self._close(now)
        if self.rule.engaged:
            self.events.expire(now)
            self.rule.update(now, self.events.counts.get(self.last.taker, 0))

    def reset(self) -> None:
        self.key = None
        self.sweeps.clear()
        self.sizes.reset()
        self.size_grid.reset()
        self.usual = math.inf
        self.events.reset()
        self.rule.reset()


@dataclass(frozen=True)
class ConcentrationParams(RuleParams):
    scored = False
    window_s: float = 5.0  # aggressive volume shares over this window
    threshold_share: float = 0.5  # warning: one account took this share of the volume ...
    critical_share: float = 0.8
    min_trades: int = 10  # ... judged over a full window of at least this many aggressive orders ...
    min_account_trades: int = 5  # ... at least this many of them its own (one big order is not dominance)
    zscore: float | None = None
    cooldown_s: float = 15.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.window_s > 0 and self.min_trades >= 1 and self.min_account_trades >= 1,
              "need window_s > 0, min_trades >= 1 and min_account_trades >= 1")
        check(0 < self.threshold_share <= self.critical_share <= 1, "need 0 < threshold_share <= critical_share <= 1")


@register
class Concentration(Detector):
    """One account's share of the aggressive (taker) volume over a short window. Market makers sit on the
    passive side of most prints by design, so passive volume is not counted. Exchange-side data only:
    trades without accounts are ignored."""

    kind = "concentration"
    family = "abuse"
    params_type = ConcentrationParams

    def __init__(self, context, params: ConcentrationParams) -> None:
        super().__init__(context, params)
        self.orders: deque[list] = deque()  # [ts, taker, qty] per aggressive order (its prints share ts and taker)
        self.volume: dict[str, list] = {}  # taker -> [qty, orders] within the window
        self.total = 0.0
        self.first_ts: float | None = None
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_share, params.critical_share,
                                     params)
        self.grid = EveryGrid(1.0)
        self.account: str | None = None

    def describe(self, share: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return f"{self.account} back to {share:.0%} of the volume", {}
        own = self.volume.get(self.account, (0.0, 0))[1]
        return (f"account {self.account} took {share:.0%} of the volume in {self.params.window_s:g} s "
                f"({own} of {len(self.orders)} aggressive orders)",
                {"account": self.account, "share": share, "orders": len(self.orders), "account_orders": own})

    def _expire(self, now: float) -> None:
        orders, volume = self.orders, self.volume
        limit = now - self.params.window_s
        while orders and orders[0][0] <= limit:
            _, taker, qty = orders.popleft()
            self.total -= qty
            entry = volume[taker]
            entry[0] -= qty
            entry[1] -= 1
            if not entry[1]:
                del volume[taker]
        if not orders:
            self.total = 0.0

    def _share(self, account: str | None) -> float:
        entry = self.volume.get(account)
        p = self.params
        if entry is None or entry[1] < p.min_account_trades or len(self.orders) < p.min_trades or self.total <= 0:
            return 0.0
        return min(entry[0] / self.total, 1.0)

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        """Per trade only the books are kept; shares are judged on the timer."""
        taker = event.buyer if event.side == "buy" else event.seller
        if taker is None:
            return
        ts, qty, orders = event.ts, event.qty, self.orders
        self.total += qty
        if orders and orders[-1][0] == ts and orders[-1][1] == taker:  # another print of the same order
            orders[-1][2] += qty
            self.volume[taker][0] += qty
            return
        if self.first_ts is None:
            self.first_ts = ts
        orders.append([ts, taker, qty])
        entry = self.volume.get(taker)
        if entry is None:
            self.volume[taker] = [qty, 1]
        else:
            entry[0] += qty
            entry[1] += 1

    def on_tick(self, now: float) -> None:
        if self.first_ts is None or now - self.first_ts < self.params.window_s:
            return  # judged over full windows only
        if not self.rule.engaged and not self.grid.due(now):
            return  # once a second is enough until something is building
        self._expire(now)
        least = self.params.min_account_trades
        candidates = [account for account, entry in self.volume.items() if entry[1] >= least]
        if candidates:
            top = max(candidates, key=self._share)
            if not self.rule.active or self._share(top) > self._share(self.account):
                self.account = top
        self.rule.update(now, self._share(self.account))

    def reset(self) -> None:
        self.orders.clear()
        self.volume.clear()
        self.total = 0.0
        self.first_ts = None
        self.rule.reset()
