"""Market-maker settings as config.yaml gives them; the maker issue extends this with quoting models and risk."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass, replace
from fnmatch import fnmatchcase
from typing import Any, Literal, Optional, get_type_hints

from feeds.settings import InstrumentSettings


Severity = Literal["info", "warning", "critical"]
ALERT_KINDS = (  # FORMAT.md section 3: the kinds defensive mode may react to
    "volatility_spike", "volume_spike", "book_depletion", "depth_floor", "spread_wide", "price_volume_divergence",
    "price_gap", "basis_dislocation", "cross_venue_dislocation", "crossed_book", "stale_feed", "feed_gap",
    "spoofing", "layering", "quote_stuffing", "wash_trading", "pump_and_dump", "momentum_ignition",
    "concentration", "price_limit", "risk_limit")


def _require_positive(owner: object, *names: str) -> None:
    """Limits and durations are either unset (None) or positive; a zero or negative one is a typo."""
    for name in names:
        value = getattr(owner, name)
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class FeeSettings:
    """Fees in basis points of each fill's notional; a negative maker fee is a rebate."""

    maker_bps: float = 1.0  # passive fills (our resting order was hit)
    taker_bps: float = 5.0  # aggressive fills (our order crossed the spread)

    def fee(self, price: float, qty: float, liquidity: str) -> float:
        """The fee on one fill; `liquidity` is maker or taker."""
        return price * qty * (self.maker_bps if liquidity == "maker" else self.taker_bps) / 1e4


@dataclass(frozen=True)
class RiskLimits:
    """Every limit is optional (null: no limit). Money is in the instruments' quote currency."""

    max_position: float | None = None  # per instrument: |position| x mid above this -> REDUCING
    max_loss: float | None = None  # total PnL (after fees) below -max_loss -> HALTED
    max_drawdown: float | None = None  # total PnL this far below its peak -> REDUCING
    max_exposure: float | None = None  # sum of |position| x mid over capital above this -> REDUCING
    max_orders_per_min: float | None = None  # placements in the last 60 s above this -> HALTED
    max_order_notional: float | None = None  # an order's price x qty above this is refused -> instrument HALTED

    def __post_init__(self) -> None:
        _require_positive(self, "max_position", "max_loss", "max_drawdown", "max_exposure",
                          "max_orders_per_min", "max_order_notional")


@dataclass(frozen=True)
class OrderSettings:
    """When a resting quote is replaced (cancel + new order, so it loses its queue place)."""

    refresh_s: float = 10.0  # an order this old is replaced if its wanted price or size changed at all
    refresh_move_bps: float = 5.0  # replaced at once when the wanted price is this far from the resting one
    post_only: bool = True  # quotes never take liquidity: a quote that would cross is rejected

    def __post_init__(self) -> None:
        _require_positive(self, "refresh_s")
        if self.refresh_move_bps < 0:
            raise ValueError(f"refresh_move_bps must not be negative, got {self.refresh_move_bps}")


@dataclass(frozen=True)
class PaperSettings:
    latency_s: float = 0.05  # market seconds before an order (or a cancel) reaches the paper exchange

    def __post_init__(self) -> None:
        if self.latency_s < 0:
            raise ValueError(f"latency_s must not be negative, got {self.latency_s}")


@dataclass(frozen=True)
class LiveSettings:
    """Live quoting through ccxt (maker.mode: live): the dead-man rule and the fallback when there is no
    websocket user stream."""

    dead_man_s: float = 10.0  # user stream down this long (wall seconds) -> every order is cancelled
    poll_s: float = 2.0  # REST polling of orders and fills where the exchange has no user stream

    def __post_init__(self) -> None:
        _require_positive(self, "dead_man_s", "poll_s")


@dataclass(frozen=True)
class DefenceSettings:
    """Defensive mode: pull or widen quotes, then cut inventory, until the operator leaves it."""

    kinds: list[str] = field(default_factory=lambda: [
        "spread_wide", "stale_feed", "feed_gap", "crossed_book", "volatility_spike", "price_gap",
        "book_depletion", "momentum_ignition"])  # alert kinds that trigger it automatically; [] disables
    min_severity: Severity = "critical"  # ... at this severity or above
    scope: Literal["instrument", "venue", "all"] = "instrument"  # what an alert on one instrument defends
    action: Literal["pull", "widen"] = "pull"  # pull every quote, or keep quoting wider
    widen_multiplier: float = 3.0  # spread multiple while defensive with action widen
    reduce_share: float = 0.3  # share of the position to cut (0 keeps it)
    aggressive_after_s: float = 30.0  # passive reduction first; after this, cross the spread

    def __post_init__(self) -> None:
        _require_positive(self, "aggressive_after_s")
        if self.widen_multiplier < 1:
            raise ValueError(f"widen_multiplier must be at least 1, got {self.widen_multiplier}")
        if not 0 <= self.reduce_share <= 1:
            raise ValueError(f"reduce_share must be between 0 and 1, got {self.reduce_share}")
        unknown = [kind for kind in self.kinds if kind not in ALERT_KINDS]
        if unknown:
            raise ValueError(f"unknown alert kind {unknown[0]!r} in kinds (expected some of: {', '.join(ALERT_KINDS)})")


QuoteModel = Literal["simple", "avellaneda_stoikov", "glft"]
_POSITIVE = ("size", "gamma", "horizon_s", "vol_half_life_s", "vol_sample_s", "intensity_half_life_s",
             "prior_rate", "max_inventory", "price_floor", "price_ceiling")
_NON_NEGATIVE = ("level_spacing_bps", "min_spread_bps", "base_spread_bps", "vol_mult", "inventory_skew", "warmup_s")
_AT_LEAST = {"levels": 1, "imbalance_levels": 1, "intensity_min_trades": 1, "intensity_points": 3}


def _check_quote_fields(values: dict[str, object]) -> None:
    """Rules on single quoting fields, shared by the defaults and each override (None: not set)."""
    for name, value in values.items():
        if value is None:
            continue
        if name in _POSITIVE and not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
        if name in _NON_NEGATIVE and value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
        if name in _AT_LEAST and value < _AT_LEAST[name]:
            raise ValueError(f"{name} must be at least {_AT_LEAST[name]}, got {value}")
        if name == "imbalance_weight" and not -1 <= value <= 1:
            raise ValueError(f"imbalance_weight must be between -1 and 1, got {value}")


@dataclass(frozen=True)
class QuoteParams:
    """How one instrument is quoted. Prices in quote currency, sizes in base units, times in market seconds.

    The models count inventory q in clips (multiples of `size`), as the papers count unit orders. `gamma` is
    per unit of return per clip: the models receive gamma / price, so the same value means the same
    caution on a 65,000 coin and an 85 stock. See maker/models.py for the formulas.
    """

    model: QuoteModel = "avellaneda_stoikov"
    size: float | None = None  # quantity per level in base units, rounded down to the lot size; null: one lot
    levels: int = 1  # quotes per side
    level_spacing_bps: float = 2.0  # extra distance of each deeper level (at least one tick)
    min_spread_bps: float = 1.0  # the quoted spread (before rounding) is never tighter than this
    max_inventory: float | None = None  # bound Q in base units: no bid at +Q, no ask at -Q; glft needs it
    price_floor: float | None = None  # never sell below this price
    price_ceiling: float | None = None  # never buy above this price
    imbalance_weight: float = 0.0  # fair = mid + weight x book imbalance x half the market spread
    imbalance_levels: int = 5  # book levels per side in the imbalance
    gamma: float = 100.0  # risk aversion per unit of return per clip (avellaneda_stoikov, glft)
    horizon: Literal["rolling", "finite"] = "rolling"  # T - t is always horizon_s, or counts down each cycle
    horizon_s: float = 60.0  # the models' look-ahead T - t; simple scales volatility to it too
    base_spread_bps: float = 4.0  # simple: spread = base + vol_mult x sigma x sqrt(horizon_s)
    vol_mult: float = 1.0  # simple: the k of base + k x volatility
    inventory_skew: float = 0.2  # simple: quotes shift against inventory by this share of half-spread per clip
    vol_half_life_s: float = 60.0  # EWMA volatility half-life
    vol_sample_s: float = 1.0  # mid sampled at most this often (tames bid-ask bounce)
    warmup_s: float = 30.0  # no quotes until volatility has this much sampled history
    intensity_half_life_s: float = 300.0  # trade-arrival history half-life for the (A, k) fit
    intensity_min_trades: int = 30  # recent (decayed) arrivals needed before the fit replaces the prior
    intensity_points: int = 30  # depths on the regression line, spread over the observed trade distances
    prior_rate: float = 1.0  # prior A (trades per second) until the fit has data; the prior k is 1/half-spread

    def __post_init__(self) -> None:
        _check_quote_fields({f.name: getattr(self, f.name) for f in fields(self)})
        if self.model == "glft" and self.max_inventory is None:
            raise ValueError("model glft needs max_inventory (its inventory bound Q)")


def _override_changes(override: Any) -> dict[str, Any]:
    """The QuoteParams fields an override sets."""
    return {f.name: getattr(override, f.name) for f in fields(QuoteParams) if getattr(override, f.name) is not None}


def _override_class() -> type:
    """QuoteOverride: a `match` glob plus any QuoteParams field; every field is optional (None: not set)."""
    hints = get_type_hints(QuoteParams)
    return make_dataclass(
        "QuoteOverride",
        [("match", str)] + [(f.name, Optional[hints[f.name]], field(default=None)) for f in fields(QuoteParams)],
        frozen=True, namespace={
            "__module__": __name__,
            "__doc__": "Changes to QuoteParams for instruments whose venue:symbol matches the glob `match`.",
            "__post_init__": lambda self: _check_quote_fields(self.changes()),
            "changes": _override_changes,
        })


QuoteOverride = _override_class()


@dataclass(frozen=True)
class QuotingSettings:
    """Quoting per instrument: defaults, then overrides matched by venue:symbol glob, as for the detectors."""

    defaults: QuoteParams = field(default_factory=QuoteParams)
    overrides: list[QuoteOverride] = field(default_factory=list)  # applied in order: a later match wins

    def params_for(self, instrument_key: str) -> QuoteParams:
        """The defaults with every matching override applied; ValueError if the combination is inconsistent."""
        params = self.defaults
        for override in self.overrides:
            if fnmatchcase(instrument_key, override.match):
                params = replace(params, **override.changes())
        return params

    def check(self, instrument: InstrumentSettings) -> QuoteParams:
        """The instrument's params with `size` resolved, or ValueError naming what cannot work for it."""
        params = self.params_for(instrument.key)
        size = instrument.lot_size if params.size is None else params.size
        if size < instrument.lot_size * (1 - 1e-9):
            raise ValueError(f"size {size:g} is below the lot_size {instrument.lot_size:g}")
        if params.max_inventory is not None and params.max_inventory < size:
            raise ValueError(f"max_inventory {params.max_inventory:g} is below one quote of size {size:g}")
        return replace(params, size=size)


@dataclass(frozen=True)
class MakerSettings:
    mode: Literal["paper", "live"] = "paper"  # live also needs --live and a typed confirmation
    instruments: list[str] = field(default_factory=list)  # venue:symbol keys to quote
    autostart: bool = False  # start quoting every instrument at launch (else the operator starts each)
    capital: float = 100_000.0  # the book's capital, in quote currency: max_exposure divides by it
    fees: FeeSettings = field(default_factory=FeeSettings)
    limits: RiskLimits = field(default_factory=RiskLimits)
    orders: OrderSettings = field(default_factory=OrderSettings)
    paper: PaperSettings = field(default_factory=PaperSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    defence: DefenceSettings = field(default_factory=DefenceSettings)
    quoting: QuotingSettings = field(default_factory=QuotingSettings)  # models, levels, estimators

    def __post_init__(self) -> None:
        _require_positive(self, "capital")
