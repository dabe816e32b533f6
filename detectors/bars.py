"""Minute-bar detectors, for sources that give OHLCV bars instead of books and trades (Lean minute files).

They raise the same alert kinds as the tick detectors (`volume_spike`, `volatility_spike`, `price_gap`,
`spread_wide`) under their own config names (`bar_volume_spike`...), and are built only when an
instrument's first bar arrives (detectors.dispatch), so a book-fed instrument never carries them.

Only bars of the regular session count: the market's calendar (`InstrumentContext.session_state`) says
which; no calendar means always open (crypto). Pre- and post-market bars are recorded by the runtime like
any event but neither alert nor teach any baseline here: their thin, quote-driven volume would make every
regular minute look busy.

Equity volume and volatility are U-shaped over the day, so every open would look abnormal against the
bars just before it. Volume and bar range are therefore first divided by their usual share at that time of
day (`IntradayProfile`), and the rolling baselines work on what is left. Those baselines carry across days
(they hold normalised values), so `reset` (a feed gap, a new trading day) forgets only pending alerts: a
minute-bar detector that warmed up again every morning would be blind until lunch.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable

from detectors.base import Detector, InstrumentContext, Watcher, register
from detectors.quantiles import RollingQuantile
from detectors.rules import Rule, RuleParams, check, check_history, check_positive
from detectors.stats import RollingWindow
from feeds.events import BarEvent

_INF = float("inf")
TINY = 1e-9  # floor for logs of a zero volume or range


# -- time of day ------------------------------------------------------------------------------------------

def volume_prior(since_open: float, to_close: float) -> float:
    """The textbook U of equity minute volume: the first minutes trade about 5x the midday rate, the last ones
    about 2.5x (decaying over ~8 and ~10 minutes). Used until real days have been seen."""
    return 1.0 + 4.0 * math.exp(-since_open / 8.0) + 1.5 * math.exp(-to_close / 10.0)


def range_prior(since_open: float, to_close: float) -> float:
    """The same for a bar's high-low range: about 3x wider at the open, slightly wider into the close."""
    return 1.0 + 2.0 * math.exp(-since_open / 10.0) + 0.5 * math.exp(-to_close / 10.0)


class IntradayProfile:
    """The usual share of a bar quantity at each local minute of day (1.0 = the day's average bar).

    A share is the median, over the last `days` sessions, of that minute's value divided by its session's
    mean; a session is folded in when the next one starts, so today is judged against earlier days only.
    Until a minute has history the `prior` shape stands in, and it keeps the weight of `prior_days` sessions
    (geometric blend), so one odd day cannot bend the profile.
    """

    __slots__ = ("days", "prior_days", "prior", "_shares", "_day", "_today", "_prior_mean", "_segment")

    def __init__(self, days: int, prior_days: float, prior: Callable[[float, float], float]) -> None:
        self.days = days
        self.prior_days = prior_days
        self.prior = prior
        self._shares: dict[int, deque[float]] = {}
        self._day: date | None = None
        self._today: list[tuple[int, float]] = []
        self._prior_mean = (None, 1.0)  # (segment, the prior's mean over it)

    @property
    def sessions(self) -> int:
        """Sessions learned at the best-covered minute."""
        return max((len(shares) for shares in self._shares.values()), default=0)

    def share(self, minute: int, since_open: float, to_close: float, segment: tuple[float, float]) -> float:
        """Usual share at local `minute`, `since_open` / `to_close` minutes into a session spanning `segment`."""
        prior = self._prior(since_open, to_close, segment)
        learned = self._shares.get(minute)
        if not learned:
            return prior
        n = len(learned)
        median = max(statistics.median(learned), 1e-3)
        return math.exp((self.prior_days * math.log(prior) + n * math.log(median)) / (self.prior_days + n))

    def _prior(self, since_open: float, to_close: float, segment: tuple[float, float]) -> float:
        start, end = segment
        if not (math.isfinite(start) and math.isfinite(end)):
            return 1.0  # a market open all day has no open or close to crowd around
        if self._prior_mean[0] != segment:
            length = max(1, round((end - start) / 60.0))
            mean = sum(self.prior(m, length - 1 - m) for m in range(length)) / length
            self._prior_mean = (segment, mean)
        return self.prior(since_open, to_close) / self._prior_mean[1]

    def add(self, day: date, minute: int, value: float) -> None:
        """One regular bar of session `day`."""
        if day != self._day:
            self._fold()
            self._day = day
        self._today.append((minute, value))

    def _fold(self) -> None:
        today = self._today
        mean = sum(value for _, value in today) / len(today) if today else 0.0
        if mean > 0:
            for minute, value in today:
                shares = self._shares.get(minute)
                if shares is None:
                    shares = self._shares[minute] = deque(maxlen=self.days)
                shares.append(value / mean)
        today.clear()


class BarSession(Watcher):
    """Where each bar falls, worked out once for every bar detector of the instrument: regular session or
    not, the local trading day and minute, minutes since the session opened and until it closes, and the
    closes before it (previous regular bar of the day, previous day's last regular bar)."""

    def __init__(self, context: InstrumentContext) -> None:
        self.context = context
        calendar = context.calendar
        self.tz = calendar.tz if calendar is not None else timezone.utc
        self.regular = False
        self.day: date | None = None
        self.minute = 0
        self.since_open = self.to_close = _INF
        self.segment = (-_INF, _INF)
        self.new_day = False  # this is the first regular bar of a trading day
        self.prev_bar_close: float | None = None  # the previous regular bar's close, same day
        self.prev_day_close: float | None = None  # the last regular close of the previous trading day
        self._last_close: float | None = None
        self._until = None

    def on_bar(self, event: BarEvent) -> None:
        ts = event.ts
        state, until = self.context.session_state(ts)
        self.regular = state == "open"
        if not self.regular:
            return
        if until != self._until:  # a new session segment: where did it start?
            calendar = self.context.calendar
            start = calendar.segment(ts).start if calendar is not None else -_INF
            self.segment, self._until = (start, until), until
        local = datetime.fromtimestamp(ts, self.tz)
        self.minute = local.hour * 60 + local.minute
        self.since_open = (ts - self.segment[0]) / 60.0
        self.to_close = (self.segment[1] - ts) / 60.0 - 1.0  # the last bar of a session is 0 from the close
        day = local.date()
        self.new_day = day != self.day
        if self.new_day:
            if self.day is not None:
                self.prev_day_close = self._last_close
            self.day = day
            self.prev_bar_close = None
        else:
            self.prev_bar_close = self._last_close
        self._last_close = event.close


# -- the detectors ----------------------------------------------------------------------------------------

class _BarDetector(Detector):
    """A bar-only detector: reads the shared BarSession; `reset` forgets only a pending condition (module
    docstring)."""

    bars_only = True
    family = "price"

    def __init__(self, context: InstrumentContext, params: RuleParams) -> None:
        super().__init__(context, params)
        self.session = context.feature(BarSession)

    def reset(self) -> None:
        self.rule.reset()


@dataclass(frozen=True)
class BarVolumeParams(RuleParams):
    threshold_ratio: float = 3.0  # warning: time-of-day-normalised volume at least this multiple of its average
    critical_ratio: float = 8.0  # ... over the last average_bars regular bars; critical at this multiple
    zscore: float | None = 3.0  # ... and robust z (median / MAD) of its log over the last history_bars
    average_bars: int = 20
    history_bars: int = 120
    warmup_bars: int = 60  # regular bars before it alerts
    profile_days: int = 20  # sessions the time-of-day profile remembers
    prior_days: float = 2.0  # weight of the built-in U shape, in sessions
    cooldown_s: float = 300.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(1 < self.threshold_ratio <= self.critical_ratio, "need 1 < threshold_ratio <= critical_ratio")
        check_history(self.history_bars, self.warmup_bars, "history_bars")
        check(self.average_bars >= 2, "average_bars must be at least 2")
        check(self.profile_days >= 1 and self.prior_days >= 0, "need profile_days >= 1 and prior_days >= 0")


@register
class BarVolumeSpike(_BarDetector):
    """A minute's volume far above the last bars', once each is divided by its time of day's usual share."""

    kind = "volume_spike"
    name = "bar_volume_spike"
    params_type = BarVolumeParams

    def __init__(self, context: InstrumentContext, params: BarVolumeParams) -> None:
        super().__init__(context, params)
        self.profile = IntradayProfile(params.profile_days, params.prior_days, volume_prior)
        self.average = RollingWindow(params.average_bars, params.average_bars)
        self.history = RollingQuantile(params.history_bars, params.warmup_bars)  # of log normalised volume
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_ratio, params.critical_ratio,
                                     params)
        self._volume = self._expected = 0.0

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, ratio: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return f"bar volume back to {ratio:.1f}x its usual for the time of day", {}
        return (f"bar volume {self._volume:,.0f} = {ratio:.1f}x the usual {self._expected:,.0f} for the time of day, "
                f"z {z:.1f}", {"volume": self._volume, "expected": self._expected})

    def on_bar(self, event: BarEvent) -> None:
        session = self.session
        if not session.regular:
            return
        volume = max(event.volume, 0.0)
        share = self.profile.share(session.minute, session.since_open, session.to_close, session.segment)
        normalised = volume / share
        average, history, rule = self.average, self.history, self.rule
        level = math.log(max(normalised, TINY))
        if average.ready and history.ready and average.mean > 0:
            self._volume, self._expected = volume, average.mean * share
            rule.update(event.ts, normalised / average.mean, history.robust_z(level, 0.1))
        else:
            rule.skip(event.ts, None)
        if not rule.engaged:  # an anomaly must not become the next bars' "usual"
            average.add(normalised)
            history.add(level)
        self.profile.add(session.day, session.minute, volume)


@dataclass(frozen=True)
class BarVolatilityParams(RuleParams):
    threshold_ratio: float = 2.5  # warning: normalised true range at least this multiple of its rolling quantile
    critical_ratio: float = 5.0
    quantile: float = 0.95
    zscore: float | None = 4.0  # ... and this robust z (median / MAD) ...
    min_ticks: float = 2.0  # ... the quantile and the MAD taken as at least this many ticks of range
    history_bars: int = 390  # a US session of minutes
    warmup_bars: int = 60
    profile_days: int = 20
    prior_days: float = 2.0
    cooldown_s: float = 300.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(1 < self.threshold_ratio <= self.critical_ratio, "need 1 < threshold_ratio <= critical_ratio")
        check(0 < self.quantile < 1, "quantile must be between 0 and 1")
        check_history(self.history_bars, self.warmup_bars, "history_bars")
        check(self.profile_days >= 1 and self.prior_days >= 0, "need profile_days >= 1 and prior_days >= 0")


@register
class BarVolatilitySpike(_BarDetector):
    """A bar's true range (within the day: the overnight gap is price_gap's) far above its rolling 95th
    percentile, after dividing by the time of day's usual range."""

    kind = "volatility_spike"
    name = "bar_volatility_spike"
    params_type = BarVolatilityParams

    def __init__(self, context: InstrumentContext, params: BarVolatilityParams) -> None:
        super().__init__(context, params)
        self.profile = IntradayProfile(params.profile_days, params.prior_days, range_prior)
        self.history = RollingQuantile(params.history_bars, params.warmup_bars)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_ratio, params.critical_ratio,
                                     params)
        self._range_bps = self._reference_bps = 0.0

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, ratio: float, threshold: float, z: float | None) -> tuple[str, dict]:
        q = self.params.quantile * 100
        if not self.rule.active:
            return f"bar range back to {ratio:.1f}x its p{q:g}", {}
        return (f"bar range {self._range_bps:.1f} bps = {ratio:.1f}x its p{q:g} {self._reference_bps:.1f} bps for the "
                f"time of day, z {z:.1f}", {"range_bps": self._range_bps, "reference_bps": self._reference_bps})

    def on_bar(self, event: BarEvent) -> None:
        session = self.session
        if not session.regular or not event.low > 0:
            return
        true_range = math.log(event.high / event.low)
        before = session.prev_bar_close
        if before is not None and before > 0:
            true_range = max(true_range, abs(math.log(event.high / before)), abs(math.log(event.low / before)))
        share = self.profile.share(session.minute, session.since_open, session.to_close, session.segment)
        normalised = true_range / share
        history, rule = self.history, self.rule
        if history.ready:
            # a tick-bound price (a $14 stock's bars are mostly 0 or 1 tick wide) has a 95th percentile of next
            # to nothing: the reference and the scale are at least min_ticks ticks
            floor = self.params.min_ticks * (self.instrument.tick_size or 0.0) / event.close / share
            reference = max(history.quantile(self.params.quantile), floor, TINY)
            self._range_bps, self._reference_bps = true_range * 1e4, reference * share * 1e4
            z = history.robust_z(normalised, max(0.1 * reference, floor, TINY))
            rule.update(event.ts, normalised / reference, z)
        else:
            rule.skip(event.ts, None)
        if not rule.engaged:
            history.add(normalised)
        self.profile.add(session.day, session.minute, true_range)


@dataclass(frozen=True)
class BarOpeningGapParams(RuleParams):
    threshold_bps: float = 100.0  # warning: the first regular bar opens this far from the previous close ...
    critical_bps: float = 300.0
    zscore: float | None = 2.0  # ... and this many typical daily moves (std of close-to-close returns), once
    # min_days of them are known; before that the bps threshold alone decides
    days: int = 20  # daily returns remembered for the typical move
    min_days: int = 3
    cooldown_s: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.threshold_bps <= self.critical_bps, "need 0 < threshold_bps <= critical_bps")
        check_history(self.days, self.min_days, "days")


@register
class BarOpeningGap(_BarDetector):
    """The session opens far from the previous session's close: news overnight, or a bad print at the open.
    The alert clears with the next regular bar (the gap is a moment, not a state)."""

    kind = "price_gap"
    name = "bar_opening_gap"
    params_type = BarOpeningGapParams

    def __init__(self, context: InstrumentContext, params: BarOpeningGapParams) -> None:
        super().__init__(context, params)
        self.daily = RollingWindow(params.days, params.min_days)  # close-to-close log returns, bps
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params)
        self._gap = self._close = 0.0
        self._closes: deque[float] = deque(maxlen=2)

    def describe(self, size: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "opening gap absorbed", {}
        typical = f", {z:.1f} typical daily moves" if z is not None else ""
        direction = "up" if self._gap > 0 else "down"
        return (f"opened {direction} {size:.0f} bps from the previous close {self._close:g}{typical}",
                {"gap_bps": self._gap, "prev_close": self._close})

    def on_bar(self, event: BarEvent) -> None:
        session, rule = self.session, self.rule
        if not session.regular:
            return
        if not session.new_day:
            if rule.active:
                rule.update(event.ts, 0.0)
            return
        close = session.prev_day_close
        if close is None or not close > 0 or not event.open > 0:
            return
        self._closes.append(close)
        if len(self._closes) == 2:
            self.daily.add(math.log(self._closes[1] / self._closes[0]) * 1e4)
        gap = self._gap = math.log(event.open / close) * 1e4
        self._close = close
        sigma = self.daily.std if self.daily.ready else 0.0
        z = abs(gap) / sigma if sigma > 0 else None
        zscore = self.params.zscore
        rule.update(event.ts, abs(gap), z, stat_ok=zscore is None or z is None or z >= zscore)


@dataclass(frozen=True)
class BarBreakoutParams(RuleParams):
    scored = False
    range_bars: int = 30  # the recent range: high and low of this many earlier regular bars of the day
    threshold_atr: float = 2.0  # warning: the close beyond that range by this many average true ranges ...
    critical_atr: float = 5.0
    zscore: float | None = None
    cooldown_s: float = 600.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.range_bars >= 2, "range_bars must be at least 2")
        check(0 < self.threshold_atr <= self.critical_atr, "need 0 < threshold_atr <= critical_atr")


@register
class BarBreakout(_BarDetector):
    """The close leaves the day's recent range by several average bar ranges: a move the session's own
    recent trading does not explain. Judged from the `range_bars`-th regular bar of each day."""

    kind = "price_gap"
    name = "bar_breakout"
    params_type = BarBreakoutParams

    def __init__(self, context: InstrumentContext, params: BarBreakoutParams) -> None:
        super().__init__(context, params)
        self.bars: deque[tuple[float, float, float]] = deque(maxlen=params.range_bars)  # high, low, true range
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_atr, params.critical_atr, params)
        self._edge = self._close = 0.0

    def describe(self, excess: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "price back near its recent range", {}
        side = "above" if self._close > self._edge else "below"
        return (f"close {self._close:g} broke {side} the {self.params.range_bars}-bar range at {self._edge:g} by "
                f"{excess:.1f} average bar ranges", {"close": self._close, "range_edge": self._edge})

    def on_bar(self, event: BarEvent) -> None:
        session = self.session
        if not session.regular:
            return
        bars = self.bars
        if session.new_day:
            bars.clear()  # the overnight gap is the opening-gap detector's
        if len(bars) == bars.maxlen:
            high, low = max(b[0] for b in bars), min(b[1] for b in bars)
            atr = max(sum(b[2] for b in bars) / len(bars), self.instrument.tick_size or TINY)
            close = self._close = event.close
            excess = 0.0
            if close > high:
                excess, self._edge = (close - high) / atr, high
            elif close < low:
                excess, self._edge = (low - close) / atr, low
            self.rule.update(event.ts, excess)
        before = session.prev_bar_close
        true_range = event.high - event.low
        if before is not None:
            true_range = max(true_range, abs(event.high - before), abs(event.low - before))
        bars.append((event.high, event.low, true_range))


@dataclass(frozen=True)
class BarSpreadParams(RuleParams):
    threshold_bps: float = 10.0  # warning: the bar's closing quote spread above this ...
    critical_bps: float = 50.0
    zscore: float | None = 4.0  # ... and this robust z against its history, the scale at least one tick, so on
    # a one-tick book it reads "this many ticks wider than usual"
    history_bars: int = 390
    warmup_bars: int = 30
    cooldown_s: float = 300.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.threshold_bps <= self.critical_bps, "need 0 < threshold_bps <= critical_bps")
        check_history(self.history_bars, self.warmup_bars, "history_bars")
        check_positive(self, "threshold_bps")


@register
class BarSpreadWide(_BarDetector):
    """The closing quote of regular bars (FORMAT.md `bar` bid / ask) wider than usual and than a floor."""

    kind = "spread_wide"
    name = "bar_spread_wide"
    family = "quality"
    params_type = BarSpreadParams

    def __init__(self, context: InstrumentContext, params: BarSpreadParams) -> None:
        super().__init__(context, params)
        self.history = RollingQuantile(params.history_bars, params.warmup_bars)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params,
                                     inclusive=False)

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, spread: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return f"bar spread back to {spread:.1f} bps", {}
        median = self.history.median() or 0.0
        return f"bar spread {spread:.1f} bps > {threshold:.1f} bps, z {z:.1f}", {"median_bps": median}

    def on_bar(self, event: BarEvent) -> None:
        bid, ask = event.bid, event.ask
        if not self.session.regular or bid is None or ask is None or not 0 < bid < ask:
            return  # no quote, a one-sided or crossed one: nothing to say about the spread
        mid = (bid + ask) / 2.0
        spread = (ask - bid) / mid * 1e4
        tick_bps = (self.instrument.tick_size or 0.0) / mid * 1e4
        history, rule = self.history, self.rule
        if history.ready:
            rule.update(event.ts, spread, history.robust_z(spread, max(tick_bps, 0.05 * (history.median() or 0.0),
                                                                        TINY)))
        else:
            rule.skip(event.ts, spread)
        if not rule.engaged:
            history.add(spread)
