"""OKX v5 websocket captures in cryptofeed's raw format (`OKX.ws.1.0`).

Lines are `<url> <-> <time>` (connected), `<url> <- <time>: <json>` and `<time>: <json>`, with `<time>` the
receive time in seconds. Requests (`op`) and acknowledgements (`event`) set nothing up that replay needs;
data messages (`arg` + `data`) become events:
- `books`: `action` `snapshot` or `update`, levels `[price, size, liquidated, orders]`, size "0" deletes.
  After applying each message the CRC32 `checksum` over the top 25 levels is validated; a mismatch is a gap
  (a `status` event with state `gap`) and the book waits for the next snapshot;
- `trades`: one `trade` per print, `side` is the taker's;
- `tickers`: counted, not replayed (FORMAT.md has no ticker event; the book carries the best bid/ask).
`ts` is the exchange's `ts`, put in order by `TimeOrder`. Instruments are named by ccxt unified symbols
with the kind their instId implies (spot, perp for swaps, future for dated contracts).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from pathlib import Path

import orjson
from sortedcontainers import SortedDict

from feeds.captures.fields import (MESSAGE_ERRORS, MessageError, checked_level, json_object, level_list, millis,
                                   price, quantity, text)
from feeds.captures.files import Report, numbered_lines
from feeds.captures.linecapture import LineCapture
from feeds.captures.symbols import SymbolError, okx_symbol
from feeds.events import BookEvent, Event, Level, StatusEvent, TradeEvent
from feeds.settings import InstrumentSettings

VENUE = "okx"  # the ccxt exchange id
CHECKSUM_DEPTH = 25
SUBSCRIBE_LINES = 1_000  # subscriptions are made when the connection opens: look for them this far
DEFAULT_TICK = 1e-8  # a capture does not say; the live feed takes it from load_markets
_LINE = re.compile(rb"^(?:\S+ (?:<-|->|<->) )?(\d+(?:\.\d+)?)(?:: (.*))?$", re.DOTALL)


def is_okx_capture(first_line: bytes) -> bool:
    """A cryptofeed raw capture of OKX's public websocket (the file's first line is its connection)."""
    url = first_line.split(b" ", 1)[0]
    return url.startswith((b"wss://", b"ws://")) and (b"okx.com" in url or b"okex.com" in url)


class ChecksumBook:
    """OKX's view of one book, kept with the price and size strings as sent: the checksum is over them."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()  # price -> (price text, size text)
        self.asks: SortedDict = SortedDict()

    def apply(self, data: dict, snapshot: bool) -> tuple[list[Level], list[Level]]:
        """Apply one books message; returns its (bids, asks) as float levels. A malformed message changes nothing."""
        bids, asks = _parse_side(data, "bids"), _parse_side(data, "asks")
        if snapshot:
            self.bids.clear()
            self.asks.clear()
        return _apply_side(self.bids, bids), _apply_side(self.asks, asks)

    def checksum(self) -> int:
        """CRC32 of `bid1px:bid1sz:ask1px:ask1sz:...` over the top 25 levels, as a signed 32-bit integer."""
        bids, asks = self.bids, self.asks
        parts: list[str] = []
        for i in range(CHECKSUM_DEPTH):
            if i < len(bids):
                parts.extend(bids.peekitem(-1 - i)[1])
            if i < len(asks):
                parts.extend(asks.peekitem(i)[1])
        crc = zlib.crc32(":".join(parts).encode())
        return crc - (1 << 32) if crc >= 1 << 31 else crc


class OkxCapture(LineCapture):
    """Reads one OKX capture file into time-ordered FORMAT.md events."""

    def __init__(self, path: Path, report: Report) -> None:
        super().__init__(path, report)
        self.gaps = 0
        self.books: dict[str, ChecksumBook] = {}  # by instId, only while in sync
        self._symbols: dict[str, str | None] = {}  # instId -> unified; None for one that cannot be mapped
        self._unsynced: Counter[str] = Counter()  # book updates skipped while waiting for a snapshot
        self.instruments = self._subscribed()

    def _handle(self, line: bytes) -> list[Event] | None:
        if not line.strip():
            return None
        match = _LINE.match(line.rstrip(b"\r\n"))
        if match is None:
            raise MessageError("not a capture line: expected '[<url> <-|->|<-> ]<time>[: <json>]'")
        body = match.group(2)
        if body is None:
            self.stats["connection"] += 1
            return None
        message = json_object(body, match.start(2))
        if "data" not in message:
            return self._control(message)
        arg, data = message.get("arg"), message["data"]
        if not isinstance(arg, dict) or not isinstance(data, list):
            raise MessageError("a data message needs an 'arg' object and a 'data' list")
        channel = arg.get("channel")
        inst_id = text(arg.get("instId"), "arg.instId")
        symbol = self._symbol(inst_id)
        if symbol is None:
            return None
        if channel == "books":
            return self._book(message, inst_id, symbol)
        if channel == "trades":
            return [self._trade(item, symbol) for item in data]
        self.stats[str(channel)] += 1
        if channel != "tickers" and self.stats[str(channel)] == 1:
            raise MessageError(f"channel {channel!r} is not replayed (books, trades and tickers are); further "
                               f"messages of it are skipped without a report")
        return None

    def _finish(self) -> None:
        for inst_id, count in self._unsynced.items():
            self.report(f"{self.path}: {inst_id}: {count} book updates skipped while out of sync (no snapshot "
                        f"after them)")

    def _control(self, message: dict) -> None:
        if message.get("event") == "error":
            raise MessageError(f"OKX error {message.get('code')}: {message.get('msg')}")
        if "op" not in message and "event" not in message:
            raise MessageError("neither a request, an event nor a data message")
        self.stats["control"] += 1

    def _symbol(self, inst_id: str) -> str | None:
        if inst_id not in self._symbols:
            try:
                self._symbols[inst_id] = okx_symbol(inst_id)[0]
            except SymbolError as exc:
                self._symbols[inst_id] = None
                raise MessageError(f"{exc}; its messages are skipped") from None
        return self._symbols[inst_id]

    def _book(self, message: dict, inst_id: str, symbol: str) -> list[Event]:
        self.stats["books"] += 1
        action = message.get("action")
        if action not in ("snapshot", "update"):
            raise MessageError(f"field 'action' must be snapshot or update, got {action!r}")
        data = message["data"]
        if len(data) != 1 or not isinstance(data[0], dict):
            raise MessageError("a books message must hold exactly one book object")
        data = data[0]
        ts = millis(data["ts"], "ts")
        expected = data["checksum"]
        if type(expected) is not int:
            raise MessageError(f"field 'checksum' must be an integer, got {expected!r}")
        snapshot = action == "snapshot"
        book = self.books.get(inst_id)
        if book is None:
            if not snapshot:
                self._unsynced[inst_id] += 1
                return []
            book = self.books[inst_id] = ChecksumBook()
        bids, asks = book.apply(data, snapshot)
        actual = book.checksum()
        if actual != expected:
            del self.books[inst_id]
            self.gaps += 1
            return [StatusEvent(ts, VENUE, symbol, "gap", f"book checksum {actual} != {expected}: book out of "
                                                          f"sync until the next snapshot")]
        return [BookEvent(ts, VENUE, symbol, snapshot, bids, asks)]

    def _trade(self, item: dict, symbol: str) -> TradeEvent:
        self.stats["trades"] += 1
        side = item["side"]
        if side not in ("buy", "sell"):
            raise MessageError(f"field 'side' must be buy or sell, got {side!r}")
        return TradeEvent(millis(item["ts"], "ts"), VENUE, symbol, price(item["px"], "px"),
                          quantity(item["sz"], "sz"), side, id=text(item["tradeId"], "tradeId"))

    def _subscribed(self) -> list[InstrumentSettings]:
        """The instruments the capture subscribed to, with the kind their instId implies."""
        instruments: dict[str, InstrumentSettings] = {}
        for line_no, line in numbered_lines(self.path, lambda message: None):
            if line_no > SUBSCRIBE_LINES:
                break
            match = _LINE.match(line.rstrip(b"\r\n"))
            if match is None or match.group(2) is None or b'"subscribe"' not in line:
                continue
            try:
                message = orjson.loads(match.group(2))
                args = message.get("args") or [message.get("arg")]
                for arg in args:
                    symbol, kind = okx_symbol(arg["instId"])
                    instruments[symbol] = InstrumentSettings(VENUE, symbol, kind, "crypto", DEFAULT_TICK)
            except MESSAGE_ERRORS:  # orjson's decode error is a ValueError
                continue  # the main pass reports the line
        return list(instruments.values())


def _parse_side(data: dict, key: str) -> list[tuple[float, float, str, str]]:
    """(price, size, price text, size text) per level, all checked before any is applied."""
    levels = []
    for level in level_list(data, key):
        if not isinstance(level, list) or len(level) < 2:
            raise MessageError(f"field '{key}' has a bad level {level!r}")
        price_text, size_text = text(level[0], key), text(level[1], key)
        price_value, size = float(price_text), float(size_text)
        checked_level(price_value, size, key, level)
        levels.append((price_value, size, price_text, size_text))
    return levels


def _apply_side(side: SortedDict, levels: list[tuple[float, float, str, str]]) -> list[Level]:
    for price_value, size, price_text, size_text in levels:
        if size > 0:
            side[price_value] = (price_text, size_text)
        else:
            side.pop(price_value, None)
    return [(price_value, size) for price_value, size, _, _ in levels]
