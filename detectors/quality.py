"""Market-quality detectors: the book is too wide, too thin, suddenly emptied, or crossed.

They judge the book on the runtime's timer (every 0.5 s of market time), not on every book event: the state
of a book is what matters, not each delta, and the cost is then O(instruments) per tick whatever the
message rate. Depth, summed over the levels within a band of mid (O(levels in the band)), is measured once
per `sample_s`. Baselines learn only from a book that is updating (a stalled feed is not "normal").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.base import Detector, InstrumentContext, register
from detectors.features import NearDepth, TopOfBook
from detectors.limit_band import ExchangeBand
from detectors.rules import Rule, RuleParams, check_history, check_positive
from detectors.stats import EveryGrid, RollingWindow
LIVE_S = 2.0  # a book updated within this long is live enough to learn from


def limit_locked(context: InstrumentContext) -> bool:
    """A book locked at an edge of a band its exchange enforces now (the price_limit detector's: an A-share at
    its daily limit, an HK stock in a VCM cooling-off): one empty side is then the market's rule, not liquidity
    leaving, and says nothing about depth either way."""
    band = context.features.get(ExchangeBand)
    return band is not None and band.locked_now() is not None


class _Baselined(Detector):
    """A detector with one rule and one rolling baseline of its metric: warm-up progress and reset."""

    history: RollingWindow

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def reset(self) -> None:
        self.history.reset()
        self.rule.reset()


@dataclass(frozen=True)
class SpreadWideParams(RuleParams):
    threshold_bps: float = 5.0  # warning needs the spread above this ...
    critical_bps: float = 20.0  # critical needs the spread above this (and the z condition)
    window: int = 300  # samples of history (one sample per `sample_s` of market time)
    warmup: int = 30  # samples before the z-score is trusted
    sample_s: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.threshold_bps <= 0 or self.critical_bps < self.threshold_bps:
            raise ValueError("need 0 < threshold_bps <= critical_bps")
        check_history(self.window, self.warmup, "window")
        check_positive(self, "sample_s")


@register
class SpreadWide(_Baselined):
    """The spread is both above an absolute level and anomalous against its own history."""

    kind = "spread_wide"
    family = "quality"
    params_type = SpreadWideParams

    def __init__(self, context, params: SpreadWideParams) -> None:
        super().__init__(context, params)
        self.history = RollingWindow(params.window, params.warmup)
        self.top = context.feature(TopOfBook)
        self.grid = EveryGrid(params.sample_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params,
                                     inclusive=False)

    def reset(self) -> None:
        super().reset()
        self.grid.reset()

    def describe(self, spread: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return f"spread back to {spread:.1f} bps", {}
        history = self.history
        return (f"spread {spread:.1f} bps > {threshold:.1f} bps, z {z:.1f}",
                {"mean_bps": history.mean, "std_bps": history.std})

    def on_tick(self, now: float) -> None:
        quote = self.top.quote(now)
        if quote is None or quote[0] > quote[1]:
            return  # one-sided, out of sync or crossed: other detectors' business
        bid, ask = quote
        spread = (ask - bid) / (ask + bid) * 2e4
        history, rule = self.history, self.rule
        quiet = rule.severity is None and rule.since is None
        if not history.ready:
            rule.skip(now, spread)
        elif not quiet or spread > self.params.threshold_bps:  # below the threshold a quiet rule has nothing to do
            rule.update(now, spread, history.zscore(spread, floor=max(0.05 * history.mean, 1e-9)))
            quiet = rule.severity is None and rule.since is None
        if quiet and now >= self.grid.next_ts and not self.book_quiet(now, LIVE_S):
            self.grid.due(now)
            history.add(spread)  # an anomaly must not teach the baseline that it is normal


@dataclass(frozen=True)
class DepthFloorParams(RuleParams):
    scored = False
    band_bps: float = 10.0  # depth counts the levels within this distance of mid
    floor: float = 50_000.0  # warning when the thinner side holds less than this (quote currency) in the band
    critical_floor: float = 10_000.0  # critical below this
    sample_s: float = 2.0  # depth (O(levels in the band)) is measured once per this many market seconds
    zscore: float | None = None
    persist_s: float = 0.0  # a sample is every two seconds: one under the floor is enough
    clear_ratio: float = 0.8

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "band_bps", "floor", "critical_floor", "sample_s")
        if self.critical_floor > self.floor:
            raise ValueError("need critical_floor <= floor")


@register
class DepthFloor(Detector):
    """Depth near mid below an absolute floor: the market cannot absorb an ordinary order."""

    kind = "depth_floor"
    family = "quality"
    params_type = DepthFloorParams

    def __init__(self, context, params: DepthFloorParams) -> None:
        super().__init__(context, params)
        self.depth = context.feature(NearDepth)
        self.grid = EveryGrid(params.sample_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.floor, params.critical_floor, params,
                                     above=False)

    def describe(self, depth: float, floor: float, z: float | None) -> tuple[str, dict]:
        band = self.params.band_bps
        if not self.rule.active:
            return f"depth within {band:g} bps back to {depth:,.0f}", {}
        return f"depth within {band:g} bps {depth:,.0f} < floor {floor:,.0f}", {"band_bps": band}

    def on_tick(self, now: float) -> None:
        if now >= self.grid.next_ts and not limit_locked(self.context):
            depth = self.depth.thinner_side(now, self.params.band_bps)
            if depth is not None:  # the grid moves on only with a sample: a replay samples at the same times
                self.grid.due(now)
                self.rule.update(now, depth)

    def reset(self) -> None:
        self.grid.reset()
        self.rule.reset()


@dataclass(frozen=True)
class BookDepletionParams(RuleParams):
    band_bps: float = 10.0  # near-touch depth: the levels within this distance of mid
    threshold_ratio: float = 0.15  # warning when depth falls under this share of its rolling (geometric) mean ...
    critical_ratio: float = 0.08  # ... critical under this share
    zscore: float | None = 3.0  # ... and log-depth this many standard deviations under its mean
    window: int = 300  # samples of history
    warmup: int = 30
    sample_s: float = 2.0
    persist_s: float = 0.0
    clear_ratio: float = 0.5  # clears once depth is back above threshold_ratio / clear_ratio of its mean

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "band_bps", "sample_s")
        if not 0 < self.critical_ratio <= self.threshold_ratio < 1:
            raise ValueError("need 0 < critical_ratio <= threshold_ratio < 1")
        check_history(self.window, self.warmup, "window")


@register
class BookDepletion(_Baselined):
    """Near-touch depth collapses against its own recent average (liquidity withdrawn)."""

    kind = "book_depletion"
    family = "quality"
    params_type = BookDepletionParams

    def __init__(self, context, params: BookDepletionParams) -> None:
        super().__init__(context, params)
        self.history = RollingWindow(params.window, params.warmup)  # of log depth
        self.near = context.feature(NearDepth)
        self.grid = EveryGrid(params.sample_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_ratio, params.critical_ratio,
                                     params, above=False)
        self._floor = max(context.instrument.lot_size * context.instrument.price, 1e-9)  # log(0) guard
        self._depth = 0.0

    def reset(self) -> None:
        super().reset()
        self.grid.reset()

    def describe(self, ratio: float, threshold: float, z: float | None) -> tuple[str, dict]:
        band = self.params.band_bps
        if not self.rule.active:
            return f"depth within {band:g} bps back to {ratio:.0%} of its average", {}
        return (f"depth within {band:g} bps {self._depth:,.0f} = {ratio:.0%} of its average "
                f"{math.exp(self.history.mean):,.0f} (< {threshold:.0%}), z {z:.1f}",
                {"depth": self._depth, "average": math.exp(self.history.mean), "band_bps": band})

    def on_tick(self, now: float) -> None:
        if now < self.grid.next_ts or limit_locked(self.context):
            return
        depth = self.near.thinner_side(now, self.params.band_bps)
        if depth is None:
            return
        self.grid.due(now)
        self._depth = depth
        level = math.log(max(depth, self._floor))
        history, rule = self.history, self.rule
        if history.ready:
            rule.update(now, math.exp(level - history.mean), history.zscore(level, floor=0.05))
        else:
            rule.skip(now, None)
        if not rule.engaged and not self.book_quiet(now, LIVE_S):
            history.add(level)


@dataclass(frozen=True)
class CrossedBookParams(RuleParams):
    scored = False
    threshold_bps: float = 0.0  # best bid at or above best ask by this much (0: locked counts) ...
    critical_bps: float = 5.0  # ... critical when crossed by more than this
    zscore: float | None = None
    persist_s: float = 0.5  # a crossed book still crossed at the next tick (0.5 s on) is not a passing update
    clear_ratio: float = 1.0
    cooldown_s: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.threshold_bps < 0 or self.critical_bps < self.threshold_bps:
            raise ValueError("need 0 <= threshold_bps <= critical_bps")


@register
class CrossedBook(Detector):
    """Best bid at or through best ask: a book that cannot be real (a missed delete, a bad feed)."""

    kind = "crossed_book"
    family = "quality"
    params_type = CrossedBookParams

    def __init__(self, context, params: CrossedBookParams) -> None:
        super().__init__(context, params)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params)
        self.top = context.feature(TopOfBook)
        self._bid = self._ask = 0.0  # a locked book (bid = ask) counts: the rule is inclusive

    def describe(self, crossed: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "book uncrossed", {}
        return (f"book crossed by {crossed:.1f} bps: bid {self._bid:g} >= ask {self._ask:g}",
                {"bid": self._bid, "ask": self._ask})

    def on_tick(self, now: float) -> None:
        quote = self.top.quote(now)
        if quote is None:
            return
        bid, ask = quote
        if bid < ask and not self.rule.engaged:
            return  # the common case, decided without a division
        self._bid, self._ask = bid, ask
        self.rule.update(now, (bid - ask) / ((bid + ask) / 2.0) * 1e4)

    def reset(self) -> None:
        self.rule.reset()
