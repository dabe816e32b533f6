"""The quoting models as pure functions: from fair price, volatility, intensity and inventory to a quote centre.

Every model answers the same two numbers, so one quote builder serves them all:
- `skew`: where the quotes are centred relative to the fair price s (the reservation price is s + skew;
  negative when long, so we sell more readily and buy less);
- `half_spread`: half the distance between our bid and ask.
Both are in price units. The bid is s + skew - half_spread, the ask s + skew + half_spread.

Units, as the papers use them: s in price; sigma in price per sqrt(second) (the standard deviation of s after
one second); T - t in seconds; A in arrivals per second; k in 1/price (order flow hitting a quote at distance
delta from s arrives at rate A exp(-k delta)); q in clips (inventory over the quote size, the papers' unit
order); gamma in 1/(price x clip), so gamma x q x price is a number (the Quoter passes the configured gamma,
which is per unit of return, divided by the price).
"""

from __future__ import annotations

import math
from typing import NamedTuple


class ModelQuote(NamedTuple):
    skew: float  # reservation price minus fair price
    half_spread: float


def simple_quote(fair: float, sigma: float, q: float, base_spread_bps: float, vol_mult: float, horizon_s: float,
                 inventory_skew: float) -> ModelQuote:
    """The desk formula: spread = base + k x volatility, skewed against inventory.

    spread = base_spread_bps x s / 1e4 + vol_mult x sigma x sqrt(horizon_s)   (price: sigma scaled to the horizon)
    skew   = -inventory_skew x q x spread / 2                                   (a share of half-spread per clip)
    """
    spread = base_spread_bps * fair / 1e4 + vol_mult * sigma * math.sqrt(horizon_s)
    half = spread / 2.0
    return ModelQuote(-inventory_skew * q * half, half)


def avellaneda_stoikov_quote(sigma: float, q: float, gamma: float, k: float, time_left_s: float) -> ModelQuote:
    """Avellaneda & Stoikov (2008), "High-frequency trading in a limit order book", Quantitative Finance 8(3).

    reservation r = s - q gamma sigma^2 (T - t)                        (price)
    spread        = gamma sigma^2 (T - t) + (2 / gamma) ln(1 + gamma / k)   (price, bid to ask)
    A rolling horizon passes a constant T - t; a finite one passes the time left in the current cycle.
    """
    inventory_risk = gamma * sigma * sigma * time_left_s
    spread = inventory_risk + (2.0 / gamma) * math.log1p(gamma / k)
    return ModelQuote(-q * inventory_risk, spread / 2.0)


def glft_coefficients(gamma: float, A: float, k: float, xi: float, delta: float) -> tuple[float, float]:
    """c1 (price) and c2 (sqrt(second) per clip, so sigma x c2 is price per clip) of the GLFT approximation.

    c1 = 1/(xi delta) ln(1 + xi delta / k)
    c2 = sqrt( gamma / (2 A delta k) x (1 + xi delta / k)^(k / (xi delta) + 1) )
    With xi -> 0 (a risk-neutral terminal penalty) c1 -> 1/k and the power -> e, as in Gueant (2017).
    """
    x = xi * delta / k
    if x < 1e-12:
        c1, power = 1.0 / k, math.e
    else:
        c1 = math.log1p(x) / (xi * delta)
        power = math.exp((1.0 / x + 1.0) * math.log1p(x))
    return c1, math.sqrt(gamma / (2.0 * A * delta * k) * power)


def glft_quote(sigma: float, q: float, gamma: float, A: float, k: float, xi: float | None = None,
               delta: float = 1.0) -> ModelQuote:
    """Gueant, Lehalle & Fernandez-Tapia (2013), "Dealing with the inventory risk: a solution to the market
    making problem", Mathematics and Financial Economics 7(4), section 4: the asymptotic (T -> infinity)
    optimal quotes in closed form, written with the general xi and order size delta of Gueant (2017),
    "Optimal market making", Applied Mathematical Finance 24(2). xi = gamma (the default) is the 2013 paper.

    bid depth  delta_b = c1 + (delta/2) sigma c2 + q sigma c2
    ask depth  delta_a = c1 + (delta/2) sigma c2 - q sigma c2
    so half_spread = c1 + (delta/2) sigma c2 and skew = -q sigma c2 (q in clips, delta = 1 clip).
    The inventory bound Q (no bid at +Q, no ask at -Q) is applied by the quote builder, which drops the side.
    """
    c1, c2 = glft_coefficients(gamma, A, k, gamma if xi is None else xi, delta)
    return ModelQuote(-q * sigma * c2, c1 + 0.5 * delta * sigma * c2)


def time_left(ts: float, horizon: str, horizon_s: float) -> float:
    """T - t in seconds: constant for a rolling horizon; for a finite one, what is left of the current
    `horizon_s` cycle (cycles start at multiples of horizon_s since the Unix epoch, so every run agrees)."""
    if horizon == "rolling":
        return horizon_s
    return horizon_s - math.fmod(ts, horizon_s)
