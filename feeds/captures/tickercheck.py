"""Proof, during a replay, that a rebuilt Binance book is the exchange's book.

A Binance capture records the `bookTicker` stream beside the depth diffs: the best bid and ask with their
quantities, stamped with the update id `u` of the last change to them. Whenever a diff the runtime applies
ends on that same update id, the runtime's book must show exactly that bid and ask. The reader hands each
ticker line over with its id (only the id is read: most lines are tickers and only about one in eighty
matches a diff); the runtime calls `on_book` after applying each diff, and only a matching ticker is parsed.

Tickers carry increasing ids: those behind the book's id when a diff is applied can no longer match and are
let go (tickers between two diffs' ids are never compared). While the book is out of sync nothing is let go,
so at most PENDING_MAX tickers wait.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import orjson

from feeds.book import OrderBook
from feeds.captures.files import Report
from feeds.events import BookEvent, TradeEvent
from feeds.settings import InstrumentSettings

PENDING_MAX = 20_000  # ~2 minutes of one busy symbol's tickers
_ID = b'"u":'


class BookTickerCheck:
    """One instrument's runtime book against its capture's bookTickers; a runtime watcher (on_book/on_trade)."""

    def __init__(self, path: Path, instrument: InstrumentSettings, report: Report) -> None:
        self.path = path
        self.instrument = instrument
        self.report = report
        self.pending: deque[tuple[int, int, bytes]] = deque(maxlen=PENDING_MAX)  # (u, line number, line)
        self.agree = 0
        self.disagree = 0

    def add(self, line_no: int, line: bytes, start: int) -> None:
        """Queue a ticker line, its `u` found from byte `start` on; a line without one is not comparable."""
        at = line.find(_ID, start) + len(_ID)
        if at < len(_ID):
            return
        try:
            self.pending.append((int(line[at:line.find(b",", at)]), line_no, line))
        except ValueError:  # not a number
            pass

    def on_book(self, book: OrderBook, event: BookEvent) -> None:
        seq = event.seq
        pending = self.pending
        while pending and seq is not None and pending[0][0] <= seq:
            update_id, line_no, line = pending.popleft()
            if update_id == seq:
                self._compare(book, line_no, line)

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        """Trades say nothing about the best bid and ask."""

    def summary(self) -> str:
        return (f"{self.path}: {self.instrument.symbol}: bookTicker checks: {self.agree} agree, {self.disagree} "
                f"disagree with the rebuilt book")

    def _compare(self, book: OrderBook, line_no: int, line: bytes) -> None:
        try:
            data = orjson.loads(line.partition(b" ")[2])["data"]
            ticker = (float(data["b"]), float(data["B"])), (float(data["a"]), float(data["A"]))
        except (ValueError, TypeError, KeyError):
            self.report(f"{self.path}:{line_no}: bookTicker unreadable, not compared with the book")
            return
        rebuilt = book.best_bid(), book.best_ask()
        if rebuilt == ticker:
            self.agree += 1
            return
        self.disagree += 1
        self.report(f"{self.path}:{line_no}: bookTicker u={data.get('u')} bid {ticker[0]} ask {ticker[1]} disagrees "
                    f"with the rebuilt book: bid {rebuilt[0]} ask {rebuilt[1]}")
