"""One A-share's band for today, as a feature: built by the price_limit detector, read by book-shape detectors.

Where the band comes from: the previous session's close. The first day watched takes the instrument's
`prev_close` setting, else the first price seen (the open, when watching starts with the session); every
later day takes the last price of the day before. Days are the market calendar's local dates (Asia/Shanghai
for `cn`), so the boundary falls overnight, not at UTC midnight.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from detectors.base import InstrumentContext, Watcher
from feeds.price_limits import BandRules, LimitSide, PriceBand, a_share_board, price_band
from feeds.book import OrderBook
from feeds.events import BarEvent, TradeEvent

_RULES = BandRules()


class LimitBand(Watcher):
    """Today's band of one A-share, the last price and the closing quote of the last bar; shared by the
    price_limit detector and the book-shape detectors (created by the former, looked up by the latter)."""

    def __init__(self, context: InstrumentContext, st: bool = False) -> None:
        instrument = context.instrument
        self.book = context.book
        self.pct = _RULES.pct(a_share_board(instrument.symbol) or "main", st)
        self.tick = instrument.tick_size or 0.01
        calendar = context.calendar
        self.tz = calendar.tz if calendar is not None else timezone.utc
        self.prev_close: float | None = instrument.prev_close
        self.band: PriceBand | None = None
        self.last: float | None = None  # the last traded price (or bar close)
        self.quote: tuple[float | None, float | None] | None = None  # a bar source's closing bid / ask
        self._day_end = float("-inf")  # when the current local trading day ends (epoch seconds)

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        self._price(event.ts, event.price)

    def on_bar(self, event: BarEvent) -> None:
        self._price(event.ts, event.close)
        self.quote = (event.bid, event.ask)

    def _price(self, ts: float, price: float) -> None:
        if ts >= self._day_end:
            self._new_day(ts, price)
        self.last = price

    def _new_day(self, ts: float, price: float) -> None:
        """The first price of a local date: yesterday's last price becomes the previous close."""
        local = datetime.fromtimestamp(ts, self.tz)
        self._day_end = datetime.combine(local.date() + timedelta(days=1), time(), self.tz).timestamp()
        if self.last is not None:
            self.prev_close = self.last
        elif self.prev_close is None:
            self.prev_close = price  # the first day watched, with no prev_close setting: the open
        self.band = price_band(self.prev_close, self.pct, self.tick)

    def best(self) -> tuple[float | None, float | None]:
        """Best bid and ask: the book's when it has any, else the last bar's closing quote."""
        book = self.book
        if book.bids or book.asks:
            bid, ask = book.best_bid(), book.best_ask()
            return (bid[0] if bid else None), (ask[0] if ask else None)
        return self.quote if self.quote is not None else (None, None)

    def locked_now(self) -> LimitSide | None:
        """"up" / "down" while the book is locked at a limit (see PriceBand.locked), else None."""
        if self.band is None:
            return None
        bid, ask = self.best()
        if bid is None and ask is None:
            return None
        return self.band.locked(bid, ask)
