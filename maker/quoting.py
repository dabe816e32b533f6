"""One instrument's quoter: market state in (book, trades), a quote plan out (levels per side, and why).

The Quoter keeps the estimators current from the book and the tape (O(1) per event), and on `plan` runs the
instrument's model (maker/models.py) and turns its centre and half-spread into orders a venue accepts:
minimum spread, levels spaced apart, prices on the tick grid (bids round down, asks up, so rounding never
tightens the spread), passive (never through the opposite touch), inside the price band, and within the
inventory bound. The order manager decides what to place; the quoter only says what it would like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from feeds.book import OrderBook
from feeds.events import TradeEvent
from feeds.settings import InstrumentSettings
from maker.intensity import IntensityEstimator
from maker.models import ModelQuote, avellaneda_stoikov_quote, glft_quote, simple_quote, time_left
from maker.settings import QuoteParams, QuotingSettings
from maker.volatility import EwmaVolatility

_EPS = 1e-9  # in steps: a price already on the grid must not round a whole step away


@dataclass(frozen=True)
class QuoteLevel:
    side: str  # "buy" or "sell"
    price: float
    qty: float


@dataclass(frozen=True)
class QuotePlan:
    """What the quoter wants now. Bids best first, then asks best first."""

    levels: list[QuoteLevel]
    reservation: float  # the centre of the quotes: fair price + skew
    half_spread: float  # after the spread multiplier and the minimum spread, before tick rounding
    skew: float  # reservation - fair (negative when long)
    sigma: float  # EWMA volatility, price per sqrt(second)
    model: str
    fair: float  # mid shifted by the book imbalance
    A: float  # order arrivals per second near the fair price (fitted or prior)
    k: float  # decay of arrivals with distance, per price unit


def round_down(value: float, step: float) -> float:
    """The largest multiple of `step` not above `value` (a bid price, or a quantity)."""
    return round(math.floor(value / step + _EPS) * step, 10)


def round_up(value: float, step: float) -> float:
    """The smallest multiple of `step` not below `value` (an ask price)."""
    return round(math.ceil(value / step - _EPS) * step, 10)


def side_prices(first: float, spacing: float, levels: int, tick: float, side: str) -> list[float]:
    """`levels` prices on the tick grid, from `first` outward by `spacing`, each at least a tick beyond the last."""
    prices: list[float] = []
    for i in range(levels):
        if side == "buy":
            price = round_down(first - i * spacing, tick)
            if prices:
                price = min(price, round(prices[-1] - tick, 10))
        else:
            price = round_up(first + i * spacing, tick)
            if prices:
                price = max(price, round(prices[-1] + tick, 10))
        prices.append(price)
    return prices


def side_levels(side: str, prices: list[float], size: float, room: float | None, lot: float,
                floor: float | None, ceiling: float | None) -> list[QuoteLevel]:
    """Levels for one side: prices outside the band are dropped; sizes stop where the inventory room ends."""
    levels = []
    for price in prices:
        if price <= 0 or (side == "buy" and ceiling is not None and price > ceiling) \
                or (side == "sell" and floor is not None and price < floor):
            continue
        qty = size if room is None else round_down(min(size, room), lot)
        if qty <= 0:
            break
        if room is not None:
            room -= qty
        levels.append(QuoteLevel(side, price, qty))
    return levels


class Quoter:
    """Quotes one instrument with the model and parameters its config (defaults + overrides) gives it."""

    def __init__(self, instrument: InstrumentSettings, settings: QuotingSettings) -> None:
        self.instrument = instrument
        self.params: QuoteParams = settings.check(instrument)
        p = self.params
        self.volatility = EwmaVolatility(p.vol_half_life_s, p.vol_sample_s)
        self.intensity = IntensityEstimator(p.intensity_half_life_s, p.intensity_points, instrument.tick_size,
                                            p.intensity_min_trades, p.prior_rate)
        self.size = round_down(p.size, instrument.lot_size)
        self.mid: float | None = None  # None while the book is one-sided or crossed
        self.best_bid = self.best_ask = 0.0
        self.imbalance = 0.0

    def on_book(self, book: OrderBook, ts: float) -> None:
        """Track the touch, the mid's volatility and the book imbalance (O(imbalance_levels))."""
        if not book.bids or not book.asks:
            self.mid = None
            return
        bid, ask = book.bids.peekitem(-1)[0], book.asks.peekitem(0)[0]
        if bid >= ask:
            self.mid = None
            return
        self.best_bid, self.best_ask = bid, ask
        self.mid = (bid + ask) / 2.0
        self.volatility.update(self.mid, ts)
        self.intensity.start(ts)
        if self.params.imbalance_weight:
            self.imbalance = book.imbalance(self.params.imbalance_levels) or 0.0

    def on_trade(self, event: TradeEvent, book: OrderBook) -> None:
        """Count the trade at its distance from the mid it met (the last one seen, else the book's now)."""
        mid = self.mid if self.mid is not None else book.mid()
        if mid is not None:
            self.intensity.add(abs(event.price - mid), event.ts, event.side)

    def plan(self, ts: float, inventory: float, spread_multiplier: float = 1.0) -> QuotePlan | None:
        """The quotes wanted at market time `ts` holding `inventory` (base units, signed); None while the
        book is unusable or volatility is still warming up. `spread_multiplier` widens (defensive mode)."""
        p = self.params
        if self.mid is None or self.volatility.elapsed_s < max(p.warmup_s, p.vol_sample_s):
            return None
        tick, fair = self.instrument.tick_size, self.mid
        fair += p.imbalance_weight * self.imbalance * (self.best_ask - self.best_bid) / 2.0
        sigma = self.volatility.sigma_price
        A, k = self.intensity.estimate(ts, (self.best_ask - self.best_bid) / 2.0)
        quote = self._model(ts, fair, sigma, inventory / self.size, A, k)
        half = max(quote.half_spread * spread_multiplier, p.min_spread_bps * fair / 2e4)
        reservation = fair + quote.skew
        spacing = max(p.level_spacing_bps * fair / 1e4, tick)
        # passive: a bid at or above the best ask (an ask at or below the best bid) would take liquidity
        bid = min(reservation - half, self.best_ask - tick)
        ask = max(reservation + half, self.best_bid + tick)
        bound = p.max_inventory
        bids = side_levels("buy", side_prices(bid, spacing, p.levels, tick, "buy"), self.size,
                           None if bound is None else bound - inventory, self.instrument.lot_size,
                           p.price_floor, p.price_ceiling)
        asks = side_levels("sell", side_prices(ask, spacing, p.levels, tick, "sell"), self.size,
                           None if bound is None else bound + inventory, self.instrument.lot_size,
                           p.price_floor, p.price_ceiling)
        return QuotePlan(bids + asks, reservation, half, quote.skew, sigma, p.model, fair, A, k)

    def _model(self, ts: float, fair: float, sigma: float, q: float, A: float, k: float) -> ModelQuote:
        p = self.params
        if p.model == "simple":
            return simple_quote(fair, sigma, q, p.base_spread_bps, p.vol_mult, p.horizon_s, p.inventory_skew)
        gamma = p.gamma / fair  # configured per unit of return, so one value suits any price level
        if p.model == "avellaneda_stoikov":
            return avellaneda_stoikov_quote(sigma, q, gamma, k, time_left(ts, p.horizon, p.horizon_s))
        return glft_quote(sigma, q, gamma, A, k)
