"""`price_limit`: an A-share trading at or near its daily limit band (feeds.price_limits has the rules,
detectors.limit_band where today's band comes from).

At the limit a book is one-sided by construction (at limit-up no one sells below the limit and no one may
offer above it): `LimitBand.locked_now()` lets the book-shape detectors (book_depletion, depth_floor) tell
that from liquidity leaving.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import Detector, InstrumentContext, register
from detectors.limit_band import LimitBand
from feeds.price_limits import LimitSide, a_share_board
from detectors.rules import Rule, RuleParams, check
from feeds.settings import InstrumentSettings


@dataclass(frozen=True)
class PriceLimitParams(RuleParams):
    scored = False
    near_pct: float = 1.0  # warning: the price within this many percent (of the previous close) of a limit ...
    # critical: at the limit, or the book locked there
    st: bool = False  # the stock is under risk warning (ST, *ST): a main-board band of +-5% instead of 10%
    zscore: float | None = None
    clear_ratio: float = 0.5  # clears once the price is back more than near_pct / this from the limit
    cooldown_s: float = 60.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.near_pct < 10, "near_pct must be between 0 and 10")


@register
class PriceLimit(Detector):
    """Distance of the last price to the nearer limit of today's band, judged every tick (0.5 s)."""

    kind = "price_limit"
    family = "price"
    params_type = PriceLimitParams

    @classmethod
    def applies_to(cls, instrument: InstrumentSettings) -> bool:
        return a_share_board(instrument.symbol) is not None

    def __init__(self, context: InstrumentContext, params: PriceLimitParams) -> None:
        super().__init__(context, params)
        self.limits = context.features[LimitBand] = LimitBand(context, params.st)
        # critical: within half a tick of the limit, in percent of the close (worked out per band in `on_tick`)
        self.rule = Rule.from_params(self.signal, self.describe, params.near_pct, 0.0, params, above=False)
        self._side: LimitSide = "up"
        self._locked: LimitSide | None = None
        self._price = 0.0

    def describe(self, distance_pct: float, threshold: float, z: float | None) -> tuple[str, dict]:
        band = self.limits.band
        if not self.rule.active or band is None:
            return f"price back {distance_pct:.2f}% from its limit", {}
        limit = band.high if self._side == "up" else band.low
        evidence = {"side": self._side, "limit": limit, "prev_close": self.limits.prev_close,
                    "band_pct": self.limits.pct, "locked": self._locked is not None}
        where = f"{self._side} limit {limit:g} ({'+' if self._side == 'up' else '-'}{self.limits.pct:g}% of " \
                f"{self.limits.prev_close:g})"
        if self._locked is not None:
            return f"locked at the {where}: {'no sellers' if self._locked == 'up' else 'no buyers'} left", evidence
        if self.rule.severity == "critical" or distance_pct <= 0:
            return f"price {self._price:g} at the {where}", evidence
        return f"price {self._price:g} within {distance_pct:.2f}% of the {where}", evidence

    def on_tick(self, now: float) -> None:
        limits = self.limits
        band, price = limits.band, limits.last
        if band is None or price is None:
            return
        self._locked = locked = limits.locked_now()
        side, ticks = band.nearest_limit(price)
        if locked is not None:
            side, ticks = locked, 0.0
        self._side, self._price = side, price
        distance = max(ticks, 0.0) * band.tick / limits.prev_close * 100.0
        at_limit = ticks <= 0.5
        self.rule.update(now, distance, critical_ok=at_limit)
