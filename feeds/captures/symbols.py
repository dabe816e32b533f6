"""Exchange-native instrument names to ccxt unified symbols (FORMAT.md: `BTC/USDT`, `BTC/USDT:USDT`...).

Captures name instruments the exchange's way (`BTCUSDT`, `UNI-USD-SWAP`, `btcusd`); the rest of
Watchfloor only ever sees the unified form, and the instrument kind that form implies.
"""

from __future__ import annotations

import re

# Quote assets a concatenated pair can end with, longest first so USDT wins over USD.
_QUOTES = sorted(("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD", "EUR", "GBP", "TRY", "BRL", "JPY",
                  "AUD", "BTC", "ETH", "BNB"), key=len, reverse=True)
_EXPIRY = re.compile(r"^\d{6}$")  # OKX futures expiry, YYMMDD


class SymbolError(ValueError):
    """An exchange name this module cannot map; the message names it."""


def split_pair(raw: str) -> tuple[str, str]:
    """`BTCUSDT` -> (`BTC`, `USDT`), by the known quote assets."""
    upper = raw.upper()
    for quote in _QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return upper[: -len(quote)], quote
    raise SymbolError(f"cannot split {raw!r} into base and quote (known quotes: {', '.join(_QUOTES)})")


def binance_symbol(raw: str, futures: bool) -> str:
    """`BTCUSDT` on spot -> `BTC/USDT`; on USD-M futures (margined and settled in the quote) -> `BTC/USDT:USDT`."""
    base, quote = split_pair(raw)
    return f"{base}/{quote}:{quote}" if futures else f"{base}/{quote}"


def okx_symbol(inst_id: str) -> tuple[str, str]:
    """(unified symbol, kind) for an OKX instId: spot `BTC-USDT`, swap `UNI-USD-SWAP`, future `BTC-USD-220527`.

    Contracts quoted in USD are inverse, settled in the base coin; the others settle in the quote.
    """
    parts = inst_id.split("-")
    if len(parts) == 2 and all(parts):
        return f"{parts[0]}/{parts[1]}", "spot"
    if len(parts) == 3 and all(parts):
        base, quote, suffix = parts
        settle = base if quote == "USD" else quote
        if suffix == "SWAP":
            return f"{base}/{quote}:{settle}", "perp"
        if _EXPIRY.match(suffix):
            return f"{base}/{quote}:{settle}-{suffix}", "future"
    raise SymbolError(f"unsupported OKX instrument {inst_id!r} (spot, swaps and futures are)")
