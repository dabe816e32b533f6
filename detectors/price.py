"""Price and volume detectors: volatility and volume far above their own history, a price that jumps, and a
price that moves on no volume (or against the flow). They read the shared one-second mid samples and
volume buckets (detectors.features) and judge on the runtime's timer, so their per-event cost is the
features' (a volume bucket update per trade)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from detectors.base import Detector, register
from detectors.features import SAMPLE_S, MidSamples, TradeFlow
from detectors.quantiles import RollingQuantile
from detectors.rules import Rule, RuleParams, check, check_history
from detectors.stats import EveryGrid, RollingWindow

YEAR_S = 365 * 24 * 3600
HOLD_S = 10.0  # after an alert, the shared volatility (and the usual volume) keep out of learning this much longer
MEDRV = math.pi / (6.0 - 4.0 * math.sqrt(3.0) + math.pi)  # MedRV's scale: E[median of 3 |N(0,1)|^2] = 1/this


def annualised_pct(sigma_bps: float) -> float:
    """A one-second volatility in bps as an annualised percentage."""
    return sigma_bps * math.sqrt(YEAR_S) / 100.0


@dataclass(frozen=True)
class VolatilitySpikeParams(RuleParams):
    window_s: float = 4.0  # realised volatility over this long of half-second returns (median-of-3, so one jump is
    # not volatility) ...
    min_ticks: float = 1.0  # ... moving the price at least this many ticks a second: a tick-bound book's
    # bid-ask flicker is not volatility
    threshold_ratio: float = 4.0  # warning: volatility at least this multiple of its own rolling quantile ...
    critical_ratio: float = 6.0  # ... critical at this multiple
    quantile: float = 0.95  # ... the quantile of its history it is compared with
    history_s: float = 300.0  # of history
    warmup_s: float = 60.0
    zscore: float | None = 3.0  # robust z (median / MAD) of the volatility against its history

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.window_s >= 3 * SAMPLE_S, f"window_s must be at least {3 * SAMPLE_S:g}")
        check(1 < self.threshold_ratio <= self.critical_ratio, "need 1 < threshold_ratio <= critical_ratio")
        check(0 < self.quantile < 1, "quantile must be between 0 and 1")
        check(0 < self.warmup_s <= self.history_s, "need 0 < warmup_s <= history_s")


@register
class VolatilitySpike(Detector):
    """Realised volatility (MedRV of half-second mid returns) far above its own rolling 95th percentile."""

    kind = "volatility_spike"
    family = "price"
    params_type = VolatilitySpikeParams

    def __init__(self, context, params: VolatilitySpikeParams) -> None:
        super().__init__(context, params)
        self.mids = context.feature(MidSamples)
        self.mids.listeners.append(self.on_sample)
        self.last3: deque[float] = deque(maxlen=3)  # |return| of the last three samples
        samples = max(2, round(params.window_s / SAMPLE_S))
        self.medsq = RollingWindow(samples, samples)  # squared medians of three
        self.history = RollingQuantile(round(params.history_s), round(params.warmup_s))  # one a second
        self.grid = EveryGrid(1.0)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_ratio, params.critical_ratio,
                                     params)
        self._vol = self._reference = self._quantile = 0.0

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, ratio: float, threshold: float, z: float | None) -> tuple[str, dict]:
        vol, ref = annualised_pct(self._vol), annualised_pct(self._reference)
        if not self.rule.active:
            return f"volatility back to {vol:.0f}% annualised", {}
        return (f"realised volatility {vol:.0f}% annualised = {ratio:.1f}x its p{self.params.quantile * 100:g} "
                f"{ref:.0f}%, z {z:.1f}", {"volatility_pct": vol, "reference_pct": ref})

    def on_sample(self, ts: float, mid: float, r: float) -> None:
        last3 = self.last3
        last3.append(abs(r))
        if len(last3) < 3:
            return
        a, b, c = last3
        median = max(min(a, b), min(max(a, b), c))
        self.medsq.add(median * median)
        if not self.medsq.ready:
            return
        # per root second; float error can dip a mean of squares below 0
        vol = math.sqrt(MEDRV * max(self.medsq.mean, 0.0) / SAMPLE_S)
        self._vol = vol
        history, rule = self.history, self.rule
        if history.ready and self.mids.ready:
            reference = self._reference = max(self._quantile, self.mids.sigma_bps)
            ratio = vol / reference if vol >= self._min_bps(mid) else 0.0
            if ratio >= rule.threshold or rule.engaged:  # the MAD costs more: only when it can matter
                rule.update(ts, ratio, history.robust_z(vol, 0.25 * reference))
        else:
            rule.skip(ts, None)
        if rule.engaged:
            self.mids.hold(ts + HOLD_S)
        elif self.grid.due(ts):  # the history learns once a second: half-second neighbours say the same
            history.add(vol)
            self._quantile = history.quantile(self.params.quantile)

    def _min_bps(self, mid: float) -> float:
        return self.params.min_ticks * self.instrument.tick_size / mid * 1e4 / math.sqrt(SAMPLE_S)

    def reset(self) -> None:
        self.last3.clear()
        self.medsq.reset()
        self.history.reset()
        self.grid.reset()
        self.rule.reset()


@dataclass(frozen=True)
class VolumeSpikeParams(RuleParams):
    period_s: float = 2.0  # traded quantity over this many seconds (whole seconds, so 2 to 3) ...
    quantile: float = 0.99  # ... against this quantile of past periods' volume: real volume is heavy-tailed
    threshold_ratio: float = 8.0  # (10x the average for a few seconds is routine on a busy pair), so a spike is
    critical_ratio: float = 15.0  # measured against its own tail: warning at this multiple of the quantile ...
    zscore: float | None = 6.0  # ... and this robust z (median / MAD)
    periods: int = 200  # periods of history
    warmup: int = 40  # periods before it alerts

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.period_s >= 1, "period_s must be at least 1")
        check(0 < self.quantile < 1, "quantile must be between 0 and 1")
        check_history(self.periods, self.warmup, "periods")
        check(1 < self.threshold_ratio <= self.critical_ratio, "need 1 < threshold_ratio <= critical_ratio")


@register
class VolumeSpike(Detector):
    """Volume of the last period far above the tail (99th percentile) of past periods, judged every tick."""

    kind = "volume_spike"
    family = "price"
    params_type = VolumeSpikeParams

    def __init__(self, context, params: VolumeSpikeParams) -> None:
        super().__init__(context, params)
        self.flow = context.feature(TradeFlow)
        self.history = RollingQuantile(params.periods, params.warmup)
        self.grid = EveryGrid(params.period_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_ratio, params.critical_ratio,
                                     params)
        self._volume = self._tail = self._median = 0.0
        self.learn_from = -math.inf  # no learning before this (market time): an anomaly's aftermath

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, ratio: float, threshold: float, z: float | None) -> tuple[str, dict]:
        period, q = self.params.period_s, self.params.quantile * 100
        if not self.rule.active:
            return f"volume back to {ratio:.1f}x its p{q:g}", {}
        return (f"volume {self._volume:g} in {period:g} s = {ratio:.1f}x its p{q:g} {self._tail:g} "
                f"({self._volume / max(self._median, 1e-12):.0f}x the median), z {z:.1f}",
                {"volume": self._volume, "tail": self._tail, "median": self._median})

    def on_tick(self, now: float) -> None:
        if not self.flow.buckets or self.book_quiet(now, self.params.period_s):
            return
        volume = self._volume = self.flow.volume(now, self.params.period_s)
        history, rule = self.history, self.rule
        if history.ready:
            tail = self._tail
            quiet = rule.severity is None and rule.since is None
            if tail > 0 and (not quiet or volume >= rule.threshold * tail):  # else a quiet rule has nothing to do
                rule.update(now, volume / tail, history.robust_z(volume, max(0.1 * self._median, 1e-12)))
        else:
            rule.skip(now, None)
        if rule.engaged or self.context.alerting:
            self.learn_from = now + HOLD_S
        elif now >= self.learn_from and self.grid.due(now):
            # while anything is wrong with the instrument, and for HOLD_S after (prices realigning trade
            # heavily), its volume is not "normal": a quantile baseline would otherwise take in the last
            # anomaly's volume and miss the next one
            history.add(volume)
            self._tail = history.quantile(self.params.quantile)
            self._median = history.median()

    def reset(self) -> None:
        self.history.reset()
        self.grid.reset()
        self.rule.reset()
        self.learn_from = -math.inf


@dataclass(frozen=True)
class PriceGapParams(RuleParams):
    threshold_bps: float = 10.0  # warning: mid moved at least this far within horizon_s ...
    critical_bps: float = 50.0
    zscore: float | None = 8.0  # ... and this many standard deviations of a scale_s move (a minute: natural
    # jumps of a few minute-sigmas stay quiet; after a silence the scale grows with the time elapsed)
    horizon_s: float = 1.0
    scale_s: float = 60.0
    persist_s: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.threshold_bps <= self.critical_bps, "need 0 < threshold_bps <= critical_bps")
        check(self.horizon_s > 0 and self.scale_s > 0, "horizon_s and scale_s must be positive")


@register
class PriceGap(Detector):
    """The mid jumps further in a second than a minute normally takes it (or after a silence, the time since).
    Judged every tick (0.5 s) against the sample a horizon ago."""

    kind = "price_gap"
    family = "price"
    params_type = PriceGapParams

    def __init__(self, context, params: PriceGapParams) -> None:
        super().__init__(context, params)
        self.mids = context.feature(MidSamples)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params)
        self._move = 0.0
        self._from = 0.0

    def warmup_progress(self) -> tuple[int, int] | None:
        variance = self.mids.slow_variance
        return None if variance.ready else (variance.count, variance.warmup)

    def describe(self, size: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "price settled", {}
        direction = "up" if self._move > 0 else "down"
        return (f"price gapped {direction} {size:.1f} bps from {self._from:g}, {z:.1f} sigmas of a "
                f"{self.params.scale_s:g} s move", {"move_bps": self._move, "from": self._from})

    def on_tick(self, now: float) -> None:
        mids = self.mids
        if not mids.ready:
            if mids.recent:
                self.rule.skip(now, None)
            return
        mid = mids.top.mid(now)
        ts, p, rule = now, self.params, self.rule
        reference = mids.mid_at(ts - p.horizon_s)
        if mid is None or reference is None:
            return
        move = math.log(mid / reference[1]) * 1e4
        sigma = mids.slow_sigma_bps * math.sqrt(max(ts - reference[0], p.scale_s))
        self._move, self._from = move, reference[1]
        rule.update(ts, abs(move), abs(move) / sigma)
        if rule.engaged:
            mids.hold(ts + HOLD_S)

    def reset(self) -> None:
        self.rule.reset()


@dataclass(frozen=True)
class DivergenceParams(RuleParams):
    window_s: float = 2.0  # price move and volume over this many seconds (whole seconds, so 2 to 3)
    threshold_bps: float = 10.0  # warning: the move is at least this large ...
    critical_bps: float = 50.0
    zscore: float | None = 4.0  # ... and this many standard deviations of a window_s move ...
    quiet_ratio: float = 0.5  # ... on volume under this share of normal (price moves on no volume) ...
    surge_ratio: float = 3.0  # ... or on volume this multiple of normal ...
    against_imbalance: float = 0.3  # ... whose aggressor imbalance leans this far against the move
    history: int = 300  # samples (seconds) of window volume for "normal"
    warmup: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.window_s >= 1, "window_s must be at least 1")
        check(0 < self.threshold_bps <= self.critical_bps, "need 0 < threshold_bps <= critical_bps")
        check(0 < self.quiet_ratio < 1 < self.surge_ratio, "need 0 < quiet_ratio < 1 < surge_ratio")
        check(0 < self.against_imbalance <= 1, "against_imbalance must be in (0, 1]")
        check_history(self.history, self.warmup)


@register
class PriceVolumeDivergence(Detector):
    """Price moves on no volume, or volume surges while price moves against the side doing the trading."""

    kind = "price_volume_divergence"
    family = "price"
    params_type = DivergenceParams

    def __init__(self, context, params: DivergenceParams) -> None:
        super().__init__(context, params)
        self.mids = context.feature(MidSamples)
        self.flow = context.feature(TradeFlow)
        self.mids.listeners.append(self.on_sample)
        self.history = RollingWindow(params.history, params.warmup)
        self.grid = EveryGrid(1.0)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params)
        self._ratio = self._imbalance = self._move = 0.0

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, size: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "price and volume agree again", {}
        evidence = {"move_bps": self._move, "volume_ratio": self._ratio, "imbalance": self._imbalance}
        window = self.params.window_s
        if self._ratio <= self.params.quiet_ratio:
            return (f"price moved {self._move:+.1f} bps in {window:g} s on {self._ratio:.0%} of normal volume, "
                    f"z {z:.1f}", evidence)
        return (f"price moved {self._move:+.1f} bps in {window:g} s against {self._imbalance:+.0%} aggressor "
                f"imbalance on {self._ratio:.1f}x volume, z {z:.1f}", evidence)

    def on_sample(self, ts: float, mid: float, r: float) -> None:
        if not self.grid.due(ts):
            return  # judged once a second: volume comes in whole seconds
        p, history, rule = self.params, self.history, self.rule
        buy, sell, _ = self.flow.window(ts, p.window_s)
        volume = buy + sell
        reference = self.mids.mid_at(ts - p.window_s)
        if not (history.ready and self.mids.ready) or reference is None:
            rule.skip(ts, None)
        elif history.mean > 0:
            move = self._move = math.log(mid / reference[1]) * 1e4
            ratio = self._ratio = volume / history.mean
            imbalance = self._imbalance = (buy - sell) / volume if volume > 0 else 0.0
            quiet = ratio <= p.quiet_ratio
            against = ratio >= p.surge_ratio and imbalance * math.copysign(1.0, move) <= -p.against_imbalance
            z = abs(move) / (self.mids.slow_sigma_bps * math.sqrt(p.window_s))
            rule.update(ts, abs(move) if quiet or against else 0.0, z)
        if rule.engaged:
            self.mids.hold(ts + HOLD_S)
        else:
            history.add(volume)

    def reset(self) -> None:
        self.history.reset()
        self.grid.reset()
        self.rule.reset()
