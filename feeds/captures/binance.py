"""Binance combined-stream captures: lines `<receive time ns> <json>`, plus the REST `/depth` snapshot line.

The book is rebuilt the way Binance tells a client to, per market:
- spot: drop diffs with `u <= lastUpdateId`; the first applied diff has `U <= lastUpdateId + 1 <= u`;
  then every `U` is the previous `u + 1`;
- USD-M futures: drop diffs with `u < lastUpdateId`; the first has `U <= lastUpdateId <= u`; then every
  `pu` is the previous `u`.
Diffs that arrive before the snapshot wait for it. A break is a gap: a `status` event with state `gap`
says the book is out of sync, and diffs wait again for a newer snapshot (a capture usually has only one,
so the book stays out of sync and the end of the file says how many diffs were never applied).

Times: `ts` is the exchange's time (`E` for depth, `T` for trades), put in order by `TimeOrder`. The
spot snapshot has no time of its own and takes the time of the diff that bridges it. `bookTicker` is
not a book update and FORMAT.md has no event for it: its lines are counted, not replayed, and with
`check_books` each is handed to a BookTickerCheck, which compares it with the runtime's rebuilt book (the
instruments whose tickers the first lines carry are then revealed, so the check can watch their books).
Diffs held for a snapshot that comes late are replayed when it comes, as a live client's book starts then.
Instrument kind and market follow from the unified symbol, as the runtime infers them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import orjson

from feeds.captures.fields import (INF, MessageError, checked_level, integer, json_object, level_list, price,
                                    quantity, text)
from feeds.captures.files import Report, ReplayError, numbered_lines
from feeds.captures.linecapture import LineCapture
from feeds.captures.symbols import SymbolError, binance_symbol
from feeds.captures.tickercheck import BookTickerCheck
from feeds.events import BookEvent, Event, Level, StatusEvent, TradeEvent
from feeds.settings import InstrumentSettings

SPOT_VENUE, FUTURES_VENUE = "binance", "binanceusdm"  # ccxt exchange ids
BUFFER_MAX = 100_000  # diffs held while out of sync; older ones are let go (and counted) past this
SNIFF_LINES = 1_000
DEFAULT_TICK = 1e-8  # a capture does not say; the runtime watches an instrument it meets with this tick
_STREAM_PREFIX = 80  # a stream line names its stream within this many bytes: `<ns> {"stream":"...@bookTicker"`


@dataclass(slots=True)
class Diff:
    first: int  # U
    last: int  # u
    prev: int | None  # pu (futures only)
    bids: list[Level]
    asks: list[Level]
    ts: float


@dataclass(slots=True)
class Snapshot:
    last_update_id: int
    bids: list[Level]
    asks: list[Level]
    ts: float | None  # futures snapshots carry `E`; spot ones have no time


class DepthSync:
    """One symbol's book sync state: turns snapshots and diffs into book events, or a gap."""

    def __init__(self, venue: str, symbol: str, futures: bool) -> None:
        self.venue = venue
        self.symbol = symbol
        self.futures = futures
        self.snapshot: Snapshot | None = None  # received, waiting for the diff that bridges it
        self.last_u: int | None = None  # the last applied diff's `u`; None while out of sync
        self.held: deque[Diff] = deque(maxlen=BUFFER_MAX)  # diffs waiting for a snapshot
        self.let_go = 0  # held diffs pushed out of a full buffer
        self.gaps = 0
        self.repeats = 0

    def on_snapshot(self, snapshot: Snapshot) -> list[Event]:
        """Start over from this snapshot, then apply what was held by the first-diff rule."""
        self.snapshot = snapshot
        self.last_u = None
        held = list(self.held)
        self.held.clear()
        events: list[Event] = []
        for diff in held:
            events.extend(self.on_diff(diff))
        return events

    def on_diff(self, diff: Diff) -> list[Event]:
        """The events one diff makes: itself, the snapshot it bridges and itself, a gap, or nothing (held)."""
        last_u = self.last_u
        if last_u is not None:
            prev = diff.prev if self.futures else diff.first - 1
            if prev == last_u:
                self.last_u = diff.last
                return [self._book(diff, prev)]
            if diff.last <= last_u:
                self.repeats += 1  # updates already applied: nothing new in it
                return []
            return self._gap(diff, f"depth diff {'pu' if self.futures else 'U-1'}={prev} does not follow "
                                   f"u={last_u}: book out of sync until a newer snapshot")
        snapshot = self.snapshot
        if snapshot is None:
            self._hold(diff)
            return []
        last_id = snapshot.last_update_id
        if diff.last < last_id or (diff.last == last_id and not self.futures):
            return []  # already in the snapshot
        bridge = last_id if self.futures else last_id + 1
        if diff.first > bridge:
            self.snapshot = None
            return self._gap(diff, f"snapshot lastUpdateId={last_id} is older than the diffs (U={diff.first}): "
                                   f"book out of sync until a newer snapshot")
        self.snapshot = None
        self.last_u = diff.last
        ts = diff.ts if snapshot.ts is None else min(snapshot.ts, diff.ts)
        return [BookEvent(ts, self.venue, self.symbol, True, snapshot.bids, snapshot.asks, seq=last_id),
                self._book(diff, last_id)]

    def unapplied(self) -> int:
        """Diffs never applied because no usable snapshot came after them."""
        return len(self.held) + self.let_go

    def _book(self, diff: Diff, prev: int) -> BookEvent:
        return BookEvent(diff.ts, self.venue, self.symbol, False, diff.bids, diff.asks, seq=diff.last, prev_seq=prev)

    def _gap(self, diff: Diff, detail: str) -> list[Event]:
        self.gaps += 1
        self.last_u = None
        self._hold(diff)
        return [StatusEvent(diff.ts, self.venue, self.symbol, "gap", detail)]

    def _hold(self, diff: Diff) -> None:
        if len(self.held) == BUFFER_MAX:
            self.let_go += 1
        self.held.append(diff)


class BinanceCapture(LineCapture):
    """Reads one Binance capture file into time-ordered FORMAT.md events."""

    def __init__(self, path: Path, report: Report, check_books: bool = False) -> None:
        super().__init__(path, report)
        self.futures, ticker_symbols = _sniff(path)
        self.venue = FUTURES_VENUE if self.futures else SPOT_VENUE
        self.book_checks: dict[bytes, BookTickerCheck] = {}  # by the stream's name for the symbol (`btcusdt`)
        if check_books:
            for raw in ticker_symbols:
                self._add_check(raw)
        self.instruments: list[InstrumentSettings] = [check.instrument for check in self.book_checks.values()]
        # a capture usually has one symbol: its tickers need not be told apart
        self._only_check = next(iter(self.book_checks.values())) if len(self.book_checks) == 1 else None
        self.books: dict[str, DepthSync] = {}
        self._symbols: dict[str, str | None] = {}  # raw -> unified; None for one that cannot be mapped
        self._orphan: Snapshot | None = None  # a snapshot read before any diff named its symbol

    @property
    def gaps(self) -> int:
        return sum(sync.gaps for sync in self.books.values())

    def _add_check(self, raw: str) -> None:
        try:
            symbol = binance_symbol(raw, self.futures)
        except SymbolError:
            return  # its messages are reported as they come
        instrument = InstrumentSettings(self.venue, symbol, "perp" if self.futures else "spot", "crypto",
                                        tick_size=DEFAULT_TICK)
        self.book_checks[raw.lower().encode()] = BookTickerCheck(self.path, instrument, self.report)

    def _handle(self, line: bytes) -> list[Event] | None:
        at = line.find(b"@bookTicker", 0, _STREAM_PREFIX)
        if at >= 0:
            self.stats["bookTicker"] += 1  # most lines of a capture, never replayed: not parsed here
            check = self._only_check
            if check is None and self.book_checks:
                check = self.book_checks.get(line[line.rfind(b'"', 0, at) + 1:at])
            if check is not None:
                check.add(self._line_no, line, at)
            return None
        if not line.strip():
            return None
        receive, sep, body = line.partition(b" ")
        if not sep or not receive.isdigit():
            raise MessageError("not a capture line: expected '<receive time ns> <json>'")
        message = json_object(body, len(receive) + 1)
        data = message.get("data")
        if data is None:
            if "lastUpdateId" in message:
                self._snapshot(message)
                return None
            raise MessageError("neither a stream message nor a depth snapshot")
        if not isinstance(data, dict):
            raise MessageError("field 'data' must be an object")
        stream = message.get("stream")
        if not isinstance(stream, str):
            raise MessageError("field 'stream' must be a string")
        kind = data.get("e")
        if kind == "depthUpdate":
            return self._diff(data)
        if kind == "trade":
            return self._trade(data)
        self.stats["unsupported"] += 1
        if self.stats["unsupported"] == 1:
            raise MessageError(f"stream {stream!r} is not replayed (depth and trade are, bookTicker is counted); "
                               f"further messages of unsupported streams are skipped without a report")
        return None

    def _symbol(self, data: dict) -> str | None:
        raw = data["s"]
        if raw in self._symbols:
            return self._symbols[raw]
        try:
            symbol = self._symbols[raw] = binance_symbol(text(raw, "s"), self.futures)
        except SymbolError as exc:
            self._symbols[raw] = None
            raise MessageError(f"{exc}; its messages are skipped") from None
        return symbol

    def _diff(self, data: dict) -> list[Event]:
        symbol = self._symbol(data)
        if symbol is None:
            return []
        diff = Diff(integer(data, "U"), integer(data, "u"), integer(data, "pu") if self.futures else None,
                    _levels(data, "b"), _levels(data, "a"), integer(data, "E") / 1000.0)
        self.stats["depth"] += 1
        sync = self.books.get(symbol)
        if sync is None:
            sync = self.books[symbol] = DepthSync(self.venue, symbol, self.futures)
            if self._orphan is not None:
                self._orphan, orphan = None, self._orphan
                sync.on_snapshot(orphan)
        return sync.on_diff(diff)

    def _snapshot(self, message: dict) -> None:
        """Start a book over; the diffs held for it are pushed as catching up, whatever time they carry."""
        self.stats["snapshot"] += 1
        snapshot = Snapshot(integer(message, "lastUpdateId"), _levels(message, "bids"), _levels(message, "asks"),
                            integer(message, "E") / 1000.0 if "E" in message else None)
        if len(self.books) > 1:
            raise MessageError("a depth snapshot names no symbol and this capture has several depth streams: "
                               "snapshot skipped")
        if not self.books:
            self._orphan = snapshot
            return
        for event in next(iter(self.books.values())).on_snapshot(snapshot):
            self._order.push(event, catching_up=True)

    def _trade(self, data: dict) -> list[Event]:
        symbol = self._symbol(data)
        if symbol is None:
            return []
        maker_is_buyer = data["m"]
        if not isinstance(maker_is_buyer, bool):
            raise MessageError(f"field 'm' must be true or false, got {maker_is_buyer!r}")
        trade = TradeEvent(integer(data, "T") / 1000.0, self.venue, symbol, price(data["p"], "p"),
                           quantity(data["q"], "q"), "sell" if maker_is_buyer else "buy", id=str(data["t"]))
        self.stats["trade"] += 1
        return [trade]

    def _finish(self) -> None:
        for symbol, sync in self.books.items():
            count = sync.unapplied()
            if count:
                why = "out of sync after a gap" if sync.gaps else "no usable depth snapshot"
                self.report(f"{self.path}: {symbol}: {count} depth diffs never applied ({why}, and no later "
                            f"snapshot in the capture)")
            if sync.repeats:
                self.report(f"{self.path}: {symbol}: {sync.repeats} depth diffs repeated updates already "
                            f"applied and were skipped")
        if self._orphan is not None:
            self.report(f"{self.path}: a depth snapshot but no depth stream: snapshot not replayed")


def _sniff(path: Path) -> tuple[bool, list[str]]:
    """Spot or USD-M futures, from the first message that tells, and the raw symbols (`BTCUSDT`) whose
    bookTicker stream the first SNIFF_LINES lines carry."""
    futures: bool | None = None
    tickers: dict[str, None] = {}  # in order met
    for line_no, line in numbered_lines(path, lambda message: None):
        if line_no > SNIFF_LINES:
            break
        try:
            message = orjson.loads(line.partition(b" ")[2])
        except orjson.JSONDecodeError:
            continue
        if not isinstance(message, dict):
            continue
        data = message.get("data")
        if isinstance(data, dict) and str(message.get("stream", "")).endswith("@bookTicker") \
                and isinstance(data.get("s"), str):
            tickers[data["s"]] = None
        if futures is None:
            futures = _tells_futures(message, data)
    if futures is None:
        raise ReplayError(f"{path}: cannot tell a spot capture from a USD-M one: no depth, trade or bookTicker "
                          f"message in the first {SNIFF_LINES} lines")
    return futures, list(tickers)


def _tells_futures(message: dict, data: object) -> bool | None:
    """Whether a message is USD-M's: futures diffs carry `pu`, futures trades `X`, futures bookTickers `e`,
    futures snapshots `T`; None for a message that does not tell."""
    if "lastUpdateId" in message:
        return "T" in message
    if not isinstance(data, dict):
        return None
    kind = data.get("e")
    if kind == "depthUpdate":
        return "pu" in data
    if kind == "trade":
        return "X" in data
    if str(message.get("stream", "")).endswith("@bookTicker"):
        return "e" in data
    return None


def _levels(message: dict, key: str) -> list[Level]:
    """`[["price", "qty"], ...]` as floats; a bad level rejects the whole message.

    The hot loop of a replay: one comprehension converts, one pass checks, and only a message that fails
    is walked again to name its bad level.
    """
    raw = level_list(message, key)
    try:
        levels = [(float(p), float(q)) for p, q in raw]
    except (TypeError, ValueError):
        levels = None
    if levels is None or not all(0.0 < p < INF and 0.0 <= q < INF for p, q in levels):
        for level in raw:
            if not isinstance(level, list) or len(level) != 2:
                raise MessageError(f"field '{key}' has a bad level {level!r}")
            checked_level(float(level[0]), float(level[1]), key, level)
    return levels
