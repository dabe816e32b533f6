"""A-share daily price limits: the band a stock may trade in today, fixed from yesterday's close.

SSE and SZSE set up = close x (1 + pct) and down = close x (1 - pct), each rounded half-up to the price
tick (0.01 CNY); orders outside the band are refused, so a stock "at the limit" cannot print beyond it.
The percentage depends on the board, read from the code: main board +-10% (+-5% under risk warning, ST),
ChiNext (300/301 .SZ) and STAR (688/689 .SS) +-20%, Beijing (.BJ) +-30%. Pure logic, no state: the
`price_limit` detector asks it once a day per stock and keeps the band. Hong Kong's cooling-off bands
(feeds.vcm) are PriceBands too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

Board = Literal["main", "chinext", "star", "bse"]
LimitSide = Literal["up", "down"]
_GROWTH = {"SZ": ("300", "301"), "SS": ("688", "689")}
_EXCHANGES = {"SS": "SS", "SH": "SS", "SZ": "SZ", "BJ": "BJ"}


def a_share_board(symbol: str) -> Board | None:
    """The board of an A-share symbol (`600519.SS`, `300750.SZ`, `688981.SS`, `830799.BJ`); None otherwise."""
    code, _, suffix = symbol.upper().partition(".")
    exchange = _EXCHANGES.get(suffix)
    if exchange is None or len(code) != 6 or not code.isdigit():
        return None
    if exchange == "BJ":
        return "bse"
    if code.startswith(_GROWTH[exchange]):
        return "chinext" if exchange == "SZ" else "star"
    return "main"


@dataclass(frozen=True)
class BandRules:
    """The band per board, in percent of the previous close."""

    main_pct: float = 10.0
    growth_pct: float = 20.0  # ChiNext and STAR, ST or not
    st_pct: float = 5.0  # main-board stocks under risk warning (ST, *ST)
    bse_pct: float = 30.0  # Beijing Stock Exchange

    def pct(self, board: Board, st: bool = False) -> float:
        if board == "main":
            return self.st_pct if st else self.main_pct
        return self.growth_pct if board in ("chinext", "star") else self.bse_pct


@dataclass(frozen=True, slots=True)
class PriceBand:
    """Today's limits; `tick` is the price step they were rounded to."""

    low: float
    high: float
    tick: float

    def nearest_limit(self, price: float) -> tuple[LimitSide, float]:
        """The limit `price` is nearer to and how many ticks away it is (0 at the limit, negative beyond it)."""
        up, down = (self.high - price) / self.tick, (price - self.low) / self.tick
        return ("up", up) if up <= down else ("down", down)

    def locked(self, best_bid: float | None, best_ask: float | None) -> LimitSide | None:
        """"up" when buyers queue at the upper limit with no seller left to meet them, "down" the other way:
        a book that looks one-sided and thin because the price cannot move, not because liquidity went."""
        half = self.tick / 2
        if best_bid is not None and best_bid >= self.high - half and (best_ask is None or best_ask <= self.high + half):
            return "up"
        if best_ask is not None and best_ask <= self.low + half and (best_bid is None or best_bid >= self.low - half):
            return "down"
        return None


def price_band(center: float, pct: float, tick: float = 0.01, inward: bool = False) -> PriceBand:
    """The band `pct` percent either side of `center`, each limit on the `tick` grid, in decimal: rounded half-up
    (an A-share's previous close: 10.05 +10% -> 11.06), or with `inward` the tick prices within the band (an HK
    cooling-off, where a trade beyond reference x (1 + pct) is refused: 85.35 +10% -> 93.85). The lower limit is
    never under one tick."""
    if not center > 0 or not tick > 0 or not 0 < pct < 100:
        raise ValueError(f"price band needs a positive close (or reference) and tick and 0 < pct < 100, got "
                         f"{center}, {tick}, {pct}")
    middle, step, share = Decimal(repr(center)), Decimal(repr(tick)), Decimal(repr(pct)) / 100
    down, up = (ROUND_CEILING, ROUND_FLOOR) if inward else (ROUND_HALF_UP, ROUND_HALF_UP)

    def on_grid(value: Decimal, rounding: str) -> float:
        return float((value / step).quantize(Decimal(1), rounding=rounding) * step)

    return PriceBand(max(on_grid(middle * (1 - share), down), tick), on_grid(middle * (1 + share), up), tick)
