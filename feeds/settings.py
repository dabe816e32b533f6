"""Typed settings for venues, instruments and the simulator, filled from config.yaml by console.config."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

InstrumentKind = Literal["spot", "perp", "future", "equity"]
Market = Literal["crypto", "us", "hk", "cn"]
SourceKind = Literal["sim", "ccxt"]
LiveChannel = Literal["book", "trades", "ticker", "mark"]


@dataclass(frozen=True)
class VenueSettings:
    """A venue: simulated, or a ccxt exchange id for live data (feeds.live)."""

    name: str
    source: SourceKind = "sim"
    exchange: str | None = None  # ccxt id when source is ccxt
    freshness_s: float = 5.0  # an instrument with no update for longer is stale
    # The rest only matter for `source: ccxt`.
    channels: list[LiveChannel] = field(default_factory=lambda: ["book", "trades", "mark"])
    book_depth: int = 100  # levels per side kept from the exchange's book
    rest_only: bool = False  # poll REST even where the exchange has websockets (e.g. behind a proxy)
    rest_poll_s: float = 1.0  # REST polling interval for books and trades
    funding_poll_s: float = 60.0  # REST polling interval for funding where there is no funding stream
    reconnect_base_s: float = 0.5  # first reconnect delay; doubles per failure, with jitter ...
    reconnect_max_s: float = 30.0  # ... up to this
    urls: dict[str, str] = field(default_factory=dict)  # URL prefix -> replacement (mirrors, test servers)
    # Live quoting (maker.mode: live): the NAMES of environment variables holding the API credentials;
    # the values are read from the environment only, never from this file, and never logged or stored.
    api_key_env: str | None = None
    secret_env: str | None = None
    password_env: str | None = None  # venues with an API passphrase (OKX)

    def __post_init__(self) -> None:
        for name in ("rest_poll_s", "funding_poll_s", "reconnect_base_s", "reconnect_max_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.reconnect_max_s < self.reconnect_base_s:
            raise ValueError("reconnect_max_s must not be below reconnect_base_s")
        if self.book_depth < 1:
            raise ValueError(f"book_depth must be at least 1, got {self.book_depth}")
        if "book" in self.channels and "ticker" in self.channels:
            raise ValueError("channels: choose book (full depth) or ticker (top of book only), not both")


@dataclass(frozen=True)
class InstrumentSettings:
    venue: str
    symbol: str
    kind: InstrumentKind
    market: Market
    tick_size: float | None = None  # required for simulated venues; ccxt venues read it from the exchange
    lot_size: float = 0.0001  # ccxt venues read it from the exchange
    price: float = 100.0  # the simulator's starting price
    volatility: float = 0.6  # the simulator's annualised volatility
    freshness_s: float | None = None  # overrides the venue's
    prev_close: float | None = None  # the previous session's close: A-share price limits band around it (later
    # days use the feed's own last price of the day before); the simulator's day opens at `price` regardless

    def __post_init__(self) -> None:
        if self.prev_close is not None and not self.prev_close > 0:
            raise ValueError(f"prev_close must be positive, got {self.prev_close}")

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"


@dataclass(frozen=True)
class ScenarioSettings:
    """One injected anomaly: `kind` on `venue:symbol` from `at` seconds after the start, for `duration`."""

    kind: str
    instrument: str  # venue:symbol
    at: float
    duration: float
    magnitude: float = 1.0  # kind-specific strength (e.g. spread multiple)


@dataclass(frozen=True)
class SimSettings:
    seed: int = 7
    start: str | None = None  # ISO-8601 UTC market start; None means now
    speed: float = 1.0  # market seconds per wall second; 0 means as fast as possible
    step_s: float = 0.1  # book diffs are batched per step, like an exchange's 100 ms depth stream
    order_events: bool = True  # emit L3 `order` events as an exchange's own data would
    scenarios: list[ScenarioSettings] = field(default_factory=list)


# -- Market calendars (feeds.calendars): when each market trades, in its own time zone --------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WindowState = Literal["open", "pre", "post", "auction"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
_HOURS = re.compile(r"^(\d\d):([0-5]\d)-(\d\d):([0-5]\d)$")


def parse_hours(hours: str) -> tuple[int, int]:
    """`"09:30-16:00"` -> minutes after local midnight (570, 960); the end may be 24:00, never before the start."""
    match = _HOURS.match(hours)
    if match is None:
        raise ValueError(f"hours must look like 09:30-16:00, got {hours!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or end > 24 * 60 or end <= start:
        raise ValueError(f"hours {hours!r} are not a window within one day")
    return start, end


def _schedule(*windows: tuple[str, str]) -> list[SessionWindow]:
    """A field default: the (state, hours) windows of a trading day."""
    return field(default_factory=lambda: [SessionWindow(state, hours) for state, hours in windows])  # type: ignore


@dataclass(frozen=True)
class SessionWindow:
    """One window of a trading day in local time: continuous trading (`open`), extended hours or a call auction."""

    state: WindowState
    hours: str  # "HH:MM-HH:MM", local time; the end may be 24:00

    def __post_init__(self) -> None:
        parse_hours(self.hours)


@dataclass(frozen=True)
class MarketSettings:
    """A market's calendar. No `sessions` means trading all day; no weekend and no holidays too means 24/7."""

    timezone: str = "UTC"  # IANA name, e.g. America/New_York
    sessions: list[SessionWindow] = field(default_factory=list)  # in time order; gaps between them are breaks
    half_day_sessions: list[SessionWindow] | None = None  # the schedule of a half day; None: a full day
    weekend: list[Weekday] = field(default_factory=lambda: ["sat", "sun"])
    holiday_calendar: str | None = None  # a `holidays` package financial market code: XNYS, XHKG, XSHG...
    holidays: list[str] = field(default_factory=list)  # more closed dates, YYYY-MM-DD (e.g. a typhoon)
    half_days: list[str] = field(default_factory=list)  # more half days, YYYY-MM-DD
    open_days: list[str] = field(default_factory=list)  # dates that trade although weekend or holiday

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r} "
                             f"(IANA names like Asia/Hong_Kong)") from None
        for name in ("sessions", "half_day_sessions"):
            windows = getattr(self, name) or []
            spans = [parse_hours(w.hours) for w in windows]
            for (_, end), (start, _), window in zip(spans, spans[1:], windows[1:]):
                if start < end:
                    raise ValueError(f"{name}: {window.hours} starts before the window ahead of it ends")
        for name in ("holidays", "half_days", "open_days"):
            for text in getattr(self, name):
                try:
                    date.fromisoformat(text)
                except ValueError:
                    raise ValueError(f"{name}: {text!r} is not a date like 2026-12-24") from None
        if self.holiday_calendar is not None:
            import holidays  # only when a calendar is named: it takes a moment to import

            if self.holiday_calendar not in holidays.list_supported_financial():
                raise ValueError(f"holiday_calendar: the holidays package has no market {self.holiday_calendar!r} "
                                 f"(e.g. XNYS, XHKG, XSHG, XSHE)")


@dataclass(frozen=True)
class CryptoMarketSettings(MarketSettings):
    weekend: list[Weekday] = field(default_factory=list)  # 24/7


@dataclass(frozen=True)
class UsMarketSettings(MarketSettings):
    timezone: str = "America/New_York"
    sessions: list[SessionWindow] = _schedule(("pre", "04:00-09:30"), ("open", "09:30-16:00"), ("post", "16:00-20:00"))
    half_day_sessions: list[SessionWindow] | None = _schedule(
        ("pre", "04:00-09:30"), ("open", "09:30-13:00"), ("post", "13:00-17:00"))
    holiday_calendar: str | None = "XNYS"


@dataclass(frozen=True)
class HkMarketSettings(MarketSettings):
    timezone: str = "Asia/Hong_Kong"
    sessions: list[SessionWindow] = _schedule(
        ("auction", "09:00-09:20"), ("open", "09:30-12:00"), ("open", "13:00-16:00"), ("auction", "16:00-16:10"))
    half_day_sessions: list[SessionWindow] | None = _schedule(
        ("auction", "09:00-09:20"), ("open", "09:30-12:00"), ("auction", "12:00-12:10"))
    holiday_calendar: str | None = "XHKG"


@dataclass(frozen=True)
class CnMarketSettings(MarketSettings):
    timezone: str = "Asia/Shanghai"
    sessions: list[SessionWindow] = _schedule(
        ("auction", "09:15-09:25"), ("open", "09:30-11:30"), ("open", "13:00-14:57"), ("auction", "14:57-15:00"))
    holiday_calendar: str | None = "XSHG"


@dataclass(frozen=True)
class MarketsSettings:
    """One calendar per `market` an instrument can name."""

    crypto: CryptoMarketSettings = field(default_factory=CryptoMarketSettings)
    us: UsMarketSettings = field(default_factory=UsMarketSettings)
    hk: HkMarketSettings = field(default_factory=HkMarketSettings)
    cn: CnMarketSettings = field(default_factory=CnMarketSettings)
