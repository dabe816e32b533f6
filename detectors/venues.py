"""Derivatives and venue detectors: a perpetual's basis out of its band, and a listing away from the
cross-venue median of its underlying. Both read the other instruments' books through the MarketView on
the runtime's timer, so they cost O(siblings) per tick and nothing per event."""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.base import Detector, register
from detectors.market import MarketView
from detectors.rules import Rule, RuleParams, check, check_history
from detectors.stats import Cusum, Ewma, EveryGrid, RollingWindow
from feeds.events import MarkEvent
from feeds.settings import InstrumentSettings

DERIVATIVES = ("perp", "future")
INDEX_FRESH_S = 5.0  # a mark event's index price is used while younger than this
STALE_S = 5.0  # a book not updated for longer is not compared with the others
PREMIUM_FLOOR_BPS = 0.5  # a pair's premium is never steadier than this (bps), whatever its history says
CLIP_SIGMAS = 4.0  # a premium further than this from its mean is learnt as if it were this far


def _median(values: list[float]) -> float:
    """The median of a handful of listings (statistics.median costs more than the sort)."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2.0


@dataclass(frozen=True)
class BasisParams(RuleParams):
    scored = False
    threshold_bps: float = 15.0  # warning: basis this far from its own rolling mean ...
    critical_bps: float = 50.0
    zscore: float | None = None  # (unused: the statistical condition is the CUSUM below)
    cusum_k: float = 1.0  # ... and a CUSUM of its standardised deviations (slack k) ...
    cusum_h: float = 8.0  # ... past this decision level: the dislocation persists, it is not one print
    window: int = 600  # samples (one per sample_s) of basis history
    warmup: int = 30
    sample_s: float = 0.5
    persist_s: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.threshold_bps <= self.critical_bps, "need 0 < threshold_bps <= critical_bps")
        check(self.cusum_k >= 0 and self.cusum_h > 0, "need cusum_k >= 0 and cusum_h > 0")
        check_history(self.window, self.warmup, "window")
        check(self.sample_s > 0, "sample_s must be positive")


@register
class BasisDislocation(Detector):
    """A perpetual's (or future's) basis to its index or spot leaves its usual band, and stays out.

    Reference: the index of a fresh `mark` event, else the same venue's spot, else the median of the spot
    listings on other venues (Binance's USD-M perpetuals trade on a venue apart from its spot).
    """

    kind = "basis_dislocation"
    family = "venues"
    params_type = BasisParams

    @classmethod
    def applies_to(cls, instrument: InstrumentSettings) -> bool:
        return instrument.kind in DERIVATIVES

    def __init__(self, context, params: BasisParams) -> None:
        super().__init__(context, params)
        self.history = RollingWindow(params.window, params.warmup)
        self.cusum = Cusum(params.cusum_k, params.cusum_h)
        self.grid = EveryGrid(params.sample_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params)
        self.index: tuple[float, float] | None = None  # (ts, index price) from mark events
        self._basis = self._reference = 0.0
        self._source = ""

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, deviation: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return f"basis back to {self._basis:+.1f} bps", {}
        return (f"basis {self._basis:+.1f} bps vs {self._source} is {deviation:.1f} bps from its mean "
                f"{self.history.mean:+.1f} (z {z:.1f}, CUSUM {self.cusum.score:+.1f})",
                {"basis_bps": self._basis, "mean_bps": self.history.mean, "reference": self._reference,
                 "reference_source": self._source})

    def on_mark(self, event: MarkEvent) -> None:
        if event.index is not None and event.index > 0:
            self.index = (event.ts, event.index)

    def _reference_price(self, now: float, market: MarketView) -> tuple[float, str] | None:
        if self.index is not None and now - self.index[0] <= INDEX_FRESH_S:
            return self.index[1], "index"
        spots = [(inst, book) for inst, book in market.siblings(self.instrument) if inst.kind == "spot"]
        for inst, book in spots:
            if inst.venue == self.venue and (mid := market.mid(book, now, STALE_S)) is not None:
                return mid, f"{inst.key} spot"
        mids = [mid for _, book in spots if (mid := market.mid(book, now, STALE_S)) is not None]
        return (_median(mids), "spot median") if mids else None

    def on_tick(self, now: float) -> None:
        if now < self.grid.next_ts or self.context.market is None:
            return
        market = self.context.market
        mid = market.mid(self.context.book, now, STALE_S)
        reference = self._reference_price(now, market)
        if mid is None or reference is None:
            return
        self.grid.due(now)
        self._reference, self._source = reference
        basis = self._basis = (mid / reference[0] - 1.0) * 1e4
        history, rule = self.history, self.rule
        if history.ready:
            z = history.zscore(basis, floor=0.5)
            self.cusum.add(z)
            rule.update(now, abs(basis - history.mean), z, stat_ok=self.cusum.alarm)
        else:
            rule.skip(now, None)
        if not rule.engaged:
            history.add(basis)

    def reset(self) -> None:
        self.history.reset()
        self.cusum.reset()
        self.grid.reset()
        self.rule.reset()


@dataclass(frozen=True)
class CrossVenueParams(RuleParams):
    threshold_bps: float = 15.0  # warning: this far from the cross-venue median (after each pair's usual premium) ...
    critical_bps: float = 50.0
    zscore: float | None = 4.0  # ... and this many standard deviations
    half_life_s: float = 300.0  # memory of each pair's usual premium
    warmup: int = 30  # samples of a pair before it counts
    sample_s: float = 0.5
    persist_s: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.threshold_bps <= self.critical_bps, "need 0 < threshold_bps <= critical_bps")
        check(self.half_life_s > 0 and self.sample_s > 0, "half_life_s and sample_s must be positive")
        check(self.warmup >= 1, "warmup must be at least 1")


@register
class CrossVenueDislocation(Detector):
    """A listing away from the median of its underlying's other listings (other venues, and the perpetuals
    as references), each pair measured against its own usual premium.

    Only a symbol listed on at least two venues is judged; with two listings and no third reference the
    median cannot tell which one moved, so both report half the gap.
    """

    kind = "cross_venue_dislocation"
    family = "venues"
    params_type = CrossVenueParams

    def __init__(self, context, params: CrossVenueParams) -> None:
        super().__init__(context, params)
        self.pairs: dict[str, Ewma] = {}  # sibling key -> its premium to us, in bps
        self.grid = EveryGrid(params.sample_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_bps, params.critical_bps, params)
        self._deviation = 0.0
        self._peers = 0

    def warmup_progress(self) -> tuple[int, int] | None:
        counts = [pair.count for pair in self.pairs.values()]
        if not counts or max(counts) >= self.params.warmup:
            return None
        return max(counts), self.params.warmup

    def describe(self, size: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return f"back within {size:.1f} bps of the other venues", {}
        return (f"{self._deviation:+.1f} bps from the median of {self._peers} other listings, z {z:.1f}",
                {"deviation_bps": self._deviation, "listings": self._peers + 1})

    def on_tick(self, now: float) -> None:
        market = self.context.market
        if market is None or now < self.grid.next_ts or not market.listed_elsewhere(self.instrument):
            return  # listed on one venue only: nothing to compare with
        mid = market.mid(self.context.book, now, STALE_S)
        if mid is None:
            return
        self.grid.due(now)
        siblings = market.siblings(self.instrument)
        deviations, scores = [0.0], [0.0]  # our own listing counts in the median, at no deviation
        learn = not self.rule.engaged
        for inst, book in siblings:
            other = market.mid(book, now, STALE_S)
            if other is None:
                continue
            premium = math.log(mid / other) * 1e4
            pair = self.pairs.get(inst.key)
            if pair is None:
                pair = self.pairs[inst.key] = Ewma(self.params.half_life_s / self.params.sample_s, self.params.warmup)
            scale = max(pair.std, PREMIUM_FLOOR_BPS)
            if pair.ready:
                deviations.append(premium - pair.mean)
                scores.append((premium - pair.mean) / scale)
            if learn:  # winsorised: a sibling's own anomaly (its basis scenario, say) barely moves the pair
                pair.add(min(max(premium, pair.mean - CLIP_SIGMAS * scale), pair.mean + CLIP_SIGMAS * scale)
                         if pair.count else premium)
        if len(deviations) < 2:
            self.rule.skip(now, None)
            return
        self._peers = len(deviations) - 1
        deviation = self._deviation = _median(deviations)
        self.rule.update(now, abs(deviation), abs(_median(scores)))

    def reset(self) -> None:
        self.pairs.clear()
        self.grid.reset()
        self.rule.reset()
