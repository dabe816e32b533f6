"""Number and time formatting shared by the views, sized for 80-column screens."""

from __future__ import annotations

import math
from datetime import datetime, timezone

MAX_DECIMALS = 8
DASH = "-"


def price_decimals(tick_size: float | None) -> int:
    """Decimals a price needs to show one tick: 0.01 -> 2, 0.5 -> 1, 5 -> 0 (None: a live tick not yet known)."""
    if tick_size is None or tick_size <= 0:
        return 2
    return max(0, min(MAX_DECIMALS, -math.floor(math.log10(tick_size) + 1e-9)))


def fmt_price(price: float | None, decimals: int) -> str:
    return DASH if price is None else f"{price:,.{decimals}f}"


def fmt_qty(qty: float) -> str:
    """At most 7 characters: 0, 0.0123, 12.35, 1234, 12.3k, 1.23M."""
    if qty == 0:
        return "0"
    if qty >= 1e6:
        return f"{qty / 1e6:.2f}M"
    if qty >= 1e4:
        return f"{qty / 1e3:.1f}k"
    if qty >= 100:
        return f"{qty:.0f}"
    if qty >= 1:
        return f"{qty:.2f}"
    return f"{qty:.4f}"


def fmt_rate(rate: float) -> str:
    """Events per second, compact: 0, 37, 1.2k."""
    return f"{rate / 1e3:.1f}k" if rate >= 1e4 else f"{rate:.0f}"


def fmt_pct(pct: float | None) -> str:
    return DASH if pct is None else f"{pct:+.2f}%"


def fmt_bps(bps: float | None) -> str:
    return DASH if bps is None else f"{bps:.1f}"


def fmt_value(value: float) -> str:
    """An alert's value or threshold in at most 5 characters: 0.486, 64.1, 2.5k, 1.2M."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def fmt_span(seconds: float) -> str:
    """A countdown in two units at most: 45s, 48m, 5h02m, 2d03h."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def market_clock(ts: float) -> str:
    """HH:MM:SS in UTC for a market timestamp."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%H:%M:%S")


def market_datetime(ts: float) -> str:
    """YYYY-MM-DD HH:MM:SS UTC for a market timestamp."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
