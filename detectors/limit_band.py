"""The price band an exchange enforces on one instrument, as a feature: built by the price_limit detector, read
by the book-shape detectors, which find it under `ExchangeBand` in `context.features`.

An A-share's band (`LimitBand`) holds all day, from the previous session's close. The first day watched takes
the instrument's `prev_close` setting, else the first price seen (the open, when watching starts with the
session); every later day takes the last price of the day before. Days are the market calendar's local dates
(Asia/Shanghai for `cn`), so the boundary falls overnight, not at UTC midnight. An HK stock's band holds only
through a VCM cooling-off (detectors.vcm_band).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from detectors.base import InstrumentContext, Watcher
from feeds.price_limits import BandRules, LimitSide, PriceBand, a_share_board, price_band
from feeds.book import OrderBook
from feeds.events import BarEvent, TradeEvent

_RULES = BandRules()


class ExchangeBand(Watcher):
    """The band one instrument may trade in now (`band`, None while none holds), its last price and the closing
    quote of the last bar. A book pinned at an edge of the band (`locked_now`) is the rule's doing, not
    liquidity leaving. Subclasses say where the band comes from, price by price (`_price`)."""

    def __init__(self, context: InstrumentContext) -> None:
        self.book = context.book
        self.tick = context.instrument.tick_size or 0.01
        calendar = context.calendar
        self.tz = calendar.tz if calendar is not None else timezone.utc
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
        raise NotImplementedError

    def _new_day(self, ts: float) -> date | None:
        """The local date of `ts` if it is later than the day seen last (the first event of a trading day)."""
        if ts < self._day_end:
            return None
        day = datetime.fromtimestamp(ts, self.tz).date()
        self._day_end = datetime.combine(day + timedelta(days=1), time(), self.tz).timestamp()
        return day

    def best(self) -> tuple[float | None, float | None]:
        """Best bid and ask: the book's when it has any, else the last bar's closing quote."""
        book = self.book
        if book.bids or book.asks:
            bid, ask = book.best_bid(), book.best_ask()
            return (bid[0] if bid else None), (ask[0] if ask else None)
        return self.quote if self.quote is not None else (None, None)

    def locked_now(self) -> LimitSide | None:
        """"up" / "down" while the book is locked at an edge of the band (see PriceBand.locked), else None."""
        if self.band is None:
            return None
        bid, ask = self.best()
        if bid is None and ask is None:
            return None
        return self.band.locked(bid, ask)


class LimitBand(ExchangeBand):
    """Today's daily limits of one A-share."""

    def __init__(self, context: InstrumentContext, st: bool = False) -> None:
        super().__init__(context)
        instrument = context.instrument
        self.pct = _RULES.pct(a_share_board(instrument.symbol) or "main", st)
        self.prev_close: float | None = instrument.prev_close

    def _price(self, ts: float, price: float) -> None:
        if self._new_day(ts) is not None:  # yesterday's last price becomes the previous close
            if self.last is not None:
                self.prev_close = self.last
            elif self.prev_close is None:
                self.prev_close = price  # the first day watched, with no prev_close setting: the open
            self.band = price_band(self.prev_close, self.pct, self.tick)
        self.last = price
