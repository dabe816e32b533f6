"""Minute bars in QuantConnect Lean's layout: one zip per day and kind (`YYYYMMDD_trade.zip`,
`YYYYMMDD_quote.zip`), each holding one header-less CSV.

- trade rows: `ms since midnight, open, high, low, close, volume` -> one `bar` event, interval `1m`,
  `ts` the bar's open time;
- quote rows: `ms, bid open, high, low, close, last bid size, ask open, high, low, close, last ask size`:
  the bid and ask *closes* are merged into the trade bar of the same minute as its `bid` / `ask` (FORMAT.md's
  closing quote). A minute with quotes but no trade has no bar to carry them: it is counted in `stats`, not
  replayed. A day with a quote file and no trade file cannot be replayed.

What the path says: files under an `equity...` folder are US equities (`venue` `us`, symbol the folder name
upper-cased, prices in 1/10000 dollar, times in US/Eastern wall-clock time from the date in the file name);
files under a `crypto...` folder are crypto pairs (plain decimal prices, UTC), the venue and pair from a
`<venue>-<pair>` folder (`coinbase-btcusd` -> `coinbase`, `BTC/USD`) or Lean's `crypto/<venue>/minute/<pair>`.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from feeds.captures.files import Report, ReplayError
from feeds.captures.symbols import SymbolError, split_pair
from feeds.events import BarEvent
from feeds.settings import InstrumentSettings

ZIP_MAGIC = b"PK\x03\x04"
INTERVAL = "1m"
EQUITY_PRICE_DIVISOR = 10_000.0  # Lean stores equity prices in 1/10000 dollar; dividing keeps 167.64 exact
EQUITY_VENUE = "us"  # consolidated US equity data, not one exchange
EQUITY_TZ = ZoneInfo("America/New_York")
BAR_FRESHNESS_S = 600.0  # a bar a minute, and extended hours go minutes without a trade: stale after 10
_NAME = re.compile(r"^(\d{8})_(trade|quote)\.zip$")
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError)
_TRADE_FIELDS, _QUOTE_FIELDS = 6, 11
_BID_CLOSE, _ASK_CLOSE = 4, 9


@dataclass(frozen=True)
class BarInstrument:
    """What a bar file's path says about its instrument and how to read its numbers."""

    settings: InstrumentSettings
    price_divisor: float
    tz: tzinfo


@dataclass
class LeanDay:
    """One instrument's day: its trade file and, when there is one, its quote file."""

    directory: Path
    day: date
    trade: Path | None = None
    quote: Path | None = None


def is_bar_file_name(name: str) -> bool:
    return _NAME.match(name) is not None


def group_days(paths: list[Path]) -> list[LeanDay]:
    """Trade and quote files of the same folder and date, read together; either may be named."""
    days: dict[tuple[Path, str], LeanDay] = {}
    for path in paths:
        match = _NAME.match(path.name)
        if match is None:
            raise ReplayError(f"{path}: a bar zip must be named YYYYMMDD_trade.zip or YYYYMMDD_quote.zip")
        stamp, kind = match.groups()
        key = (path.resolve().parent, stamp)
        if key not in days:
            try:
                day = datetime.strptime(stamp, "%Y%m%d").date()
            except ValueError:
                raise ReplayError(f"{path}: {stamp!r} in the file name is not a date") from None
            days[key] = LeanDay(path.parent, day)
        for sibling in ("trade", "quote"):
            candidate = path.with_name(f"{stamp}_{sibling}.zip")
            if getattr(days[key], sibling) is None and candidate.is_file():
                setattr(days[key], sibling, candidate)
    for day in days.values():
        if day.trade is None:
            raise ReplayError(f"{day.quote}: quotes are replayed as the bid/ask of trade bars, and there is no "
                              f"{day.day:%Y%m%d}_trade.zip beside it")
    return list(days.values())


def bar_instrument(path: Path) -> BarInstrument:
    """The instrument a bar file belongs to, from its folders (see the module docstring)."""
    folder = path.parent.resolve()
    ancestors = [p.name.lower() for p in folder.parents]
    name = folder.name.lower()
    if any(a.startswith("equity") for a in ancestors):
        settings = InstrumentSettings(EQUITY_VENUE, name.upper(), "equity", "us", tick_size=0.01, lot_size=1.0,
                                      freshness_s=BAR_FRESHNESS_S)
        return BarInstrument(settings, EQUITY_PRICE_DIVISOR, EQUITY_TZ)
    if any(a.startswith("crypto") for a in ancestors):
        if "-" in name:
            venue, pair = name.split("-", 1)
        elif folder.parent.name.lower() == "minute":
            venue, pair = folder.parent.parent.name.lower(), name
        else:
            raise ReplayError(f"{path}: crypto bars need a '<venue>-<pair>' folder (coinbase-btcusd) or Lean's "
                              f"crypto/<venue>/minute/<pair>")
        try:
            base, quote = split_pair(pair)
        except SymbolError as exc:
            raise ReplayError(f"{path}: {exc}") from None
        settings = InstrumentSettings(venue, f"{base}/{quote}", "spot", "crypto", tick_size=1e-8,
                                      freshness_s=BAR_FRESHNESS_S)
        return BarInstrument(settings, 1.0, timezone.utc)
    raise ReplayError(f"{path}: cannot tell equity from crypto bars: keep the file under a folder named "
                      f"equity... or crypto..., as in Lean's data layout")


class LeanMinuteBars:
    """Reads one instrument-day into time-ordered `bar` events; `stats` counts what it met."""

    header = None

    def __init__(self, day: LeanDay, report: Report) -> None:
        self.day = day
        self.report = report
        self.instrument = bar_instrument(day.trade)
        self.instruments = [self.instrument.settings]
        self.stats: Counter[str] = Counter()
        self._midnight = datetime.combine(day.day, time())
        for path in (day.trade, day.quote):
            if path is not None:
                _member(path)  # refuse a damaged zip before the run starts

    def events(self) -> Iterator[BarEvent]:
        quotes = self._rows(self.day.quote, _QUOTE_FIELDS) if self.day.quote is not None else iter(())
        quote = next(quotes, None)
        settings = self.instrument.settings
        for ms, row in self._rows(self.day.trade, _TRADE_FIELDS):
            while quote is not None and quote[0] < ms:
                self.stats["quote minutes without a trade"] += 1
                quote = next(quotes, None)
            bid = ask = None
            if quote is not None and quote[0] == ms:
                bid, ask = quote[1][_BID_CLOSE], quote[1][_ASK_CLOSE]
                quote = next(quotes, None)
            self.stats["bars"] += 1
            yield BarEvent(self._ts(ms), settings.venue, settings.symbol, INTERVAL, row[1], row[2], row[3], row[4],
                           row[5], bid=bid, ask=ask)
        for _ in ([quote] if quote is not None else []) + list(quotes):
            self.stats["quote minutes without a trade"] += 1

    def _ts(self, ms: int) -> float:
        """Seconds since the epoch of wall-clock time `ms` after midnight in the file's time zone."""
        local = self._midnight + timedelta(milliseconds=ms)
        return local.replace(tzinfo=self.instrument.tz).timestamp()

    def _rows(self, path: Path, width: int) -> Iterator[tuple[int, list[float | None]]]:
        """(ms, fields scaled to prices) per valid row, in time order; a bad row is reported and skipped."""
        divisor = self.instrument.price_divisor
        last_ms = -1
        line_no = 0
        try:
            with zipfile.ZipFile(path) as archive, archive.open(_member(path)) as raw:
                for line_no, line in enumerate(io.TextIOWrapper(raw, encoding="ascii"), start=1):
                    if not line.strip():
                        continue
                    try:
                        ms, row = _parse_row(line, width, divisor)
                    except ValueError as exc:
                        self.report(f"{path}:{line_no}: {exc}")
                        continue
                    if ms <= last_ms:
                        self.report(f"{path}:{line_no}: time {ms} ms is not after the previous row's {last_ms} ms, "
                                    f"row skipped")
                        continue
                    last_ms = ms
                    yield ms, row
        except _DAMAGED as exc:
            self.report(f"{path}: damaged after line {line_no} ({exc}), replay of this file ended")


def _member(path: Path) -> str:
    """The zip's one CSV; a zip that cannot be opened, or holds something else, refuses the file."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReplayError(f"{path}: not a readable zip ({exc})") from None
    if len(names) != 1 or not names[0].endswith(".csv"):
        raise ReplayError(f"{path}: expected one CSV in the zip, found {names}")
    return names[0]


def _parse_row(line: str, width: int, divisor: float) -> tuple[int, list[float | None]]:
    """A trade row (prices scaled, volume not) or a quote row (prices scaled, sizes not; empty side None)."""
    fields = line.rstrip("\r\n").split(",")
    if len(fields) != width:
        raise ValueError(f"expected {width} comma-separated fields, got {len(fields)}")
    try:
        ms = int(fields[0])
        values = [float(f) if f else None for f in fields]
    except ValueError:
        raise ValueError(f"not a number in {line.strip()!r}") from None
    if not 0 <= ms < 86_400_000:
        raise ValueError(f"time {ms} ms is not within a day")
    if any(v is not None and not 0.0 <= v < math.inf for v in values):
        raise ValueError(f"a negative or non-finite number in {line.strip()!r}")
    sizes = (5,) if width == _TRADE_FIELDS else (5, 10)
    row = [v if v is None or i in sizes or i == 0 else v / divisor for i, v in enumerate(values)]
    if width == _TRADE_FIELDS:
        if None in row:
            raise ValueError("a trade bar needs every field")
        _, open_, high, low, close, _ = row
        if not (0 < low <= min(open_, close) and max(open_, close) <= high):
            raise ValueError(f"high/low do not bracket open/close in {line.strip()!r}")
    return ms, row
