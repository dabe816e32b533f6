"""Orders fitted to a market's rules before they are sent: prices to the tick, sizes to the lot, minimums.

A bid is rounded down and an ask up, so rounding never gives a price worse for us than the strategy
chose; the size is truncated (never more than asked). An order below the market's minimum amount or
value is refused here, with the reason, instead of spending a request on a certain rejection.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any


def _step(exchange, value) -> Decimal | None:
    import ccxt
    if value is None:
        return None
    if exchange.precisionMode == ccxt.TICK_SIZE:
        return Decimal(str(value))
    if exchange.precisionMode == ccxt.DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    return None  # significant digits: ccxt's own rounding


def round_price(exchange, market: dict[str, Any], side: str, price: float) -> str:
    """The price on the market's grid: bids down, asks up."""
    tick = _step(exchange, (market.get("precision") or {}).get("price"))
    if tick is None:
        return exchange.price_to_precision(market["symbol"], price)
    rounding = ROUND_FLOOR if side == "buy" else ROUND_CEILING
    steps = (Decimal(repr(price)) / tick).to_integral_value(rounding)
    return str((steps * tick).normalize())


def round_amount(exchange, market: dict[str, Any], qty: float) -> str:
    """The size truncated to the lot ('0' when less than one lot)."""
    lot = _step(exchange, (market.get("precision") or {}).get("amount"))
    if lot is None:
        return exchange.amount_to_precision(market["symbol"], qty)
    steps = (Decimal(repr(qty)) / lot).to_integral_value(ROUND_FLOOR)
    return str((steps * lot).normalize())


def below_minimum(market: dict[str, Any], price: str, amount: str) -> str | None:
    """Why the order is too small for the market, or None."""
    limits = market.get("limits") or {}
    min_amount = (limits.get("amount") or {}).get("min")
    min_cost = (limits.get("cost") or {}).get("min")
    qty = Decimal(amount)
    if qty <= 0 or (min_amount is not None and qty < Decimal(str(min_amount))):
        return f"below minimum: amount {amount} < min {min_amount:g}" if min_amount else "below minimum: amount 0"
    cost = qty * Decimal(price)
    if min_cost is not None and cost < Decimal(str(min_cost)):
        return f"below minimum: value {cost.normalize()} < min {min_cost:g} {market.get('quote', '')}".rstrip()
    return None
