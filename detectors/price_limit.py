"""`price_limit`: a stock trading at or near a band its exchange enforces. An A-share against its daily limits
(feeds.price_limits has the rules, detectors.limit_band where today's band comes from); an HK stock against
HKEX's volatility control, VCM (feeds.vcm, detectors.vcm_band): near the trigger around the 5-minute
reference, then through the cooling-off it starts.

At the limit a book is one-sided by construction (at limit-up no one sells below the limit and no one may
offer above it; a cooling-off likewise holds trading within its band): `ExchangeBand.locked_now()` lets the
book-shape detectors (book_depletion, depth_floor) tell that from liquidity leaving.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from detectors.base import Detector, InstrumentContext, register
from detectors.limit_band import ExchangeBand, LimitBand
from detectors.vcm_band import VcmBand
from feeds.price_limits import LimitSide, PriceBand, a_share_board
from detectors.rules import Rule, RuleParams, check
from feeds.settings import InstrumentSettings
from feeds.vcm import VcmRules


@dataclass(frozen=True)
class PriceLimitParams(RuleParams):
    scored = False
    near_pct: float = 1.0  # warning: the price within this many percent (of the previous close; HK: of the VCM
    # reference) of a limit (HK: of the VCM trigger) ... critical: at the limit, or the book locked there (HK: a
    # cooling-off)
    st: bool = False  # the stock is under risk warning (ST, *ST): a main-board band of +-5% instead of 10%
    vcm_pct: float = 10.0  # HK: the VCM tier, a cooling-off once a trade would print more than this many percent
    # from the 5-minute reference: 10 for Hang Seng Composite LargeCap stocks, 15 MidCap, 20 SmallCap
    vcm_triggers: int = VcmRules.triggers  # HK: cooling-offs per stock and session (morning, afternoon)
    zscore: float | None = None
    clear_ratio: float = 0.5  # clears once the price is back more than near_pct / this from the limit
    cooldown_s: float = 60.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.near_pct < 10, "near_pct must be between 0 and 10")
        check(self.near_pct < self.vcm_pct < 100, "vcm_pct must be above near_pct and below 100")
        check(self.vcm_triggers >= 1, "vcm_triggers must be at least 1 (enabled: false switches price_limit off)")


@register
class PriceLimit(Detector):
    """The last price against its exchange's band, judged every tick (0.5 s): `DailyLimit` for an A-share,
    `VcmLimit` for an HK stock (one kind, one set of settings; the instrument's market picks the class)."""

    kind = "price_limit"
    family = "price"
    params_type = PriceLimitParams

    @classmethod
    def applies_to(cls, instrument: InstrumentSettings) -> bool:
        return instrument.market == "hk" or a_share_board(instrument.symbol) is not None

    def __new__(cls, context: InstrumentContext, params: PriceLimitParams) -> PriceLimit:
        return super().__new__(VcmLimit if context.instrument.market == "hk" else DailyLimit)

    def __init__(self, context: InstrumentContext, params: PriceLimitParams) -> None:
        super().__init__(context, params)
        # critical: an event each subclass decides (at the limit, a cooling-off), passed as critical_ok
        self.rule = Rule.from_params(self.signal, self.describe, params.near_pct, 0.0, params, above=False)
        self._side: LimitSide = "up"
        self._price = 0.0

    def describe(self, distance_pct: float, threshold: float, z: float | None) -> tuple[str, dict]:
        raise NotImplementedError

    def _nearest(self, band: PriceBand, base: float) -> tuple[float, float]:
        """From the last price to the nearer edge of `band` (which becomes `_side`): the distance in percent of
        `base` (0 at or beyond the edge) and in ticks (negative beyond it)."""
        self._side, ticks = band.nearest_limit(self._price)
        return max(ticks, 0.0) * band.tick / base * 100.0, ticks


class DailyLimit(PriceLimit):
    """An A-share: distance to the nearer limit of today's band; critical at it or locked there."""

    def __init__(self, context: InstrumentContext, params: PriceLimitParams) -> None:
        super().__init__(context, params)
        self.limits = context.features[ExchangeBand] = LimitBand(context, params.st)
        self._locked: LimitSide | None = None

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
        self._price = price
        self._locked = locked = limits.locked_now()
        distance, ticks = self._nearest(band, limits.prev_close)
        if locked is not None:
            self._side, distance, ticks = locked, 0.0, 0.0
        self.rule.update(now, distance, critical_ok=ticks <= 0.5)


class VcmLimit(PriceLimit):
    """An HK stock: warning within near_pct of the VCM trigger while the exchange watches; critical at the
    trigger's edge (the exchange refuses to print beyond it, so on a real feed the edge is what shows) and from
    a print beyond it through the cooling-off, cleared when it ends (or when the exchange stops watching)."""

    def __init__(self, context: InstrumentContext, params: PriceLimitParams) -> None:
        super().__init__(context, params)
        rules = VcmRules(triggers=params.vcm_triggers)
        self.vcm = context.features[ExchangeBand] = VcmBand(context, params.vcm_pct, rules)
        self._reference = 0.0
        self._band: PriceBand | None = None  # the trigger band judged last; None: not watched
        self._cooling = False  # the alert is a cooling-off's
        self._over = False  # the alert clearing is a cooling-off's end

    def describe(self, distance_pct: float, threshold: float, z: float | None) -> tuple[str, dict]:
        vcm, band, symbol = self.vcm, self._band, self.symbol
        if not self.rule.active:
            if self._over:
                return f"VCM cooling-off over: {symbol} trades freely again", {}
            if band is None:
                return f"VCM not watching {symbol} now (session edge)", {}
            return f"price back {distance_pct:.2f}% from the VCM trigger", {}
        evidence = {"reference": self._reference, "band": [band.low, band.high], "tier": vcm.pct}
        if self._cooling:
            ends = datetime.fromtimestamp(vcm.ends_at, vcm.tz)
            evidence |= {"ends_at": vcm.ends_at, "move_pct": vcm.move_pct}
            return (f"VCM cooling-off: {symbol} {abs(vcm.move_pct):.1f}% {_direction(vcm.move_pct)} 5-min reference "
                    f"{self._reference:g}; trading held within {band.low:g}-{band.high:g} until "
                    f"{ends:%H:%M:%S} {ends.tzname()}", evidence)
        move = (self._price / self._reference - 1.0) * 100.0
        trigger = band.high if self._side == "up" else band.low
        evidence |= {"side": self._side, "trigger": trigger}
        if self.rule.severity == "critical":
            return (f"{symbol} {abs(move):.1f}% {_direction(move)} 5-min reference {self._reference:g}: at the VCM "
                    f"trigger {trigger:g} (+-{vcm.pct:g}%); a trade beyond it starts a 5-minute cooling-off", evidence)
        return (f"{symbol} {abs(move):.1f}% {_direction(move)} 5-min reference {self._reference:g}: within "
                f"{distance_pct:.2f}% of the VCM trigger {trigger:g} (+-{vcm.pct:g}%)", evidence)

    def on_tick(self, now: float) -> None:
        vcm, rule = self.vcm, self.rule
        if vcm.last is None:
            return
        self._price = vcm.last
        if vcm.band is not None:  # cooling-off (VcmBand.on_tick ends it on time, before this runs)
            self._cooling, self._reference, self._band = True, vcm.reference, vcm.band
            rule.update(now, 0.0, critical_ok=True)
            return
        armed = vcm.armed(now)
        if armed is None or self._cooling:  # the exchange stopped watching, or the cooling-off ended
            self._over, self._cooling, self._band = self._cooling, False, None
            rule.clear(now, 0.0, cooldown=not self._over)  # a cooling-off may follow at once (vcm_triggers > 1)
            if armed is None:
                return
        self._over, self._reference, self._band = False, armed.reference, armed.band
        distance, ticks = self._nearest(armed.band, armed.reference)
        rule.update(now, distance, critical_ok=ticks <= 0.5)


def _direction(move_pct: float) -> str:
    return "above" if move_pct >= 0 else "below"
