"""Play recordings and real exchange captures back as a Source, merged by time and paced by market time.

Each file's format is told by its content (feeds.captures.detect_format): our FORMAT.md recordings
(../shared/FORMAT.md section 1), raw Binance and OKX websocket captures, and Lean minute-bar zips. Every
reader yields its events in `ts` order, so one merge interleaves them all.

With `check_books`, each Binance capture's bookTickers are checked against the runtime's rebuilt books
(feeds.captures.tickercheck): the caller attaches `book_checks` to the runtime, and the end of the run
says how many agreed, through `on_note`.

Bad input never stops a replay: each corrupt line, backwards timestamp or truncated gzip is reported as one
line naming the file and line, counted in `errors`, and skipped. Only a file that cannot be read at all (a
recording's bad header, an unknown capture, a damaged zip) is refused, before the run starts.
"""

from __future__ import annotations

import heapq
import json
import sys
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Callable, Iterator, Protocol

from feeds.captures import BARS, BINANCE, OKX, detect_format
from feeds.captures.bars import LeanMinuteBars, group_days
from feeds.captures.binance import BinanceCapture
from feeds.captures.files import TRUNCATED, Report, ReplayError, numbered_lines, open_for_reading
from feeds.captures.okx import OkxCapture
from feeds.captures.tickercheck import BookTickerCheck
from feeds.events import Event, event_from_record
from feeds.recorder import FORMAT_VERSION
from feeds.settings import InstrumentSettings
from feeds.source import Emit, Pacer

__all__ = ["BATCH_MAX", "BATCH_SPAN_S", "ReplayError", "ReplaySource", "read_header"]

BATCH_MAX = 500  # events per emitted batch
BATCH_SPAN_S = 0.1  # market seconds per emitted batch, so pacing stays smooth at low event rates


class Reader(Protocol):
    """One input of a replay: its header (recordings only), the instruments it reveals, its events in order."""

    header: dict | None
    instruments: list[InstrumentSettings]

    def events(self) -> Iterator[Event]: ...


def read_header(path: str | Path) -> dict:
    """The header of a recording, checked: it must be line 1 and have a version this reader takes.

    A file that cannot be opened raises OSError (FileNotFoundError...) unchanged, so a caller can tell a
    missing recording from a bad one.
    """
    try:
        with open_for_reading(Path(path)) as file:
            line = file.readline()
    except TRUNCATED as exc:
        raise ReplayError(f"{path}:1: cannot read the header: {exc}") from None
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("t") != "header":
        raise ReplayError(f"{path}:1: not a recording, the first line is not a header")
    if "v" not in header:
        raise ReplayError(f"{path}:1: the header has no version 'v'")
    version = header["v"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise ReplayError(f"{path}:1: unsupported recording version v={version!r}, this reader takes "
                          f"v={FORMAT_VERSION}")
    return header


class RecordingReader:
    """A FORMAT.md recording: validated records after the header, in the order written."""

    def __init__(self, path: Path, report: Report) -> None:
        self.path = path
        self.report = report
        self.header = read_header(path)  # refuse a bad file before the run starts
        self.instruments: list[InstrumentSettings] = []  # the config or the runtime sets up what it names

    def events(self) -> Iterator[Event]:
        """The file's events; one going back in time is reported and skipped, as FORMAT.md wants order."""
        last_ts = 0.0
        for line_no, line in numbered_lines(self.path, self.report, start=2):
            event = self._parse(f"{self.path}:{line_no}", line)
            if event is None:
                continue
            if event.ts < last_ts:
                self.report(f"{self.path}:{line_no}: timestamp goes backwards ({event.ts} < {last_ts}), "
                            f"event skipped")
                continue
            last_ts = event.ts
            yield event

    def _parse(self, where: str, line: bytes) -> Event | None:
        """The event on a line, or None (reported) for a line that is not one; blank lines are skipped."""
        text = line.strip()  # also drops the newline, so a JSON error's column is the column on this line
        if not text:
            return None
        try:
            return event_from_record(json.loads(text))
        except json.JSONDecodeError as exc:
            self.report(f"{where}: bad JSON ({exc.msg} at column {exc.colno})")
        except ValueError as exc:  # EventFormatError, or bytes that are not UTF-8
            self.report(f"{where}: {exc}")
        return None


def open_readers(paths: list[Path], report: Report, check_books: bool = False) -> list[Reader]:
    """A reader per file, in the order given; a day's trade and quote bar zips share one reader."""
    readers: list[Reader] = []
    bar_zips: list[Path] = []
    for path in paths:
        kind = detect_format(path)
        if kind == BARS:
            bar_zips.append(path)
        elif kind == BINANCE:
            readers.append(BinanceCapture(path, report, check_books))
        elif kind == OKX:
            readers.append(OkxCapture(path, report))
        else:
            readers.append(RecordingReader(path, report))
    readers.extend(LeanMinuteBars(day, report) for day in group_days(bar_zips))
    return readers


class ReplaySource:
    """Replays recordings and captures in time order as `speed` market seconds per wall second (0: max)."""

    name = "replay"

    def __init__(self, paths: list[str | Path], speed: float = 0.0,
                 on_error: Callable[[str], None] | None = None, check_books: bool = False,
                 on_note: Callable[[str], None] | None = None) -> None:
        self.paths = [Path(path) for path in paths]
        self.speed = speed
        self.on_error = on_error or _to_stderr
        self.on_note = on_note or _to_stderr  # the end-of-run summary lines (book checks)
        self.events = 0
        self.errors = 0
        self.last_ts: float | None = None
        self.readers = open_readers(self.paths, self._report, check_books)  # refuse a bad file before the run starts
        self.headers = [reader.header for reader in self.readers]  # None for a capture
        self.instruments = [i for reader in self.readers for i in reader.instruments]  # what captures reveal
        self.book_checks: list[BookTickerCheck] = [check for reader in self.readers
                                                   for check in getattr(reader, "book_checks", {}).values()]

    async def run(self, emit: Emit) -> None:
        """Emit every file's events merged by `ts`, in batches; equal timestamps keep the files' order."""
        pacer = Pacer(self.speed)
        batch: list[Event] = []
        try:
            with ExitStack() as stack:  # close every file even when the run is cancelled
                streams = [stack.enter_context(closing(reader.events())) for reader in self.readers]
                for event in heapq.merge(*streams, key=_ts):
                    if batch and (len(batch) >= BATCH_MAX or event.ts - batch[0].ts >= BATCH_SPAN_S):
                        await self._emit(batch, pacer, emit)
                        batch = []
                    batch.append(event)
            if batch:
                await self._emit(batch, pacer, emit)
        finally:  # also when --duration stops the run: what was checked so far
            for check in self.book_checks:
                self.on_note(check.summary())

    async def _emit(self, batch: list[Event], pacer: Pacer, emit: Emit) -> None:
        await pacer.wait_until(batch[0].ts)
        emit(batch)
        self.events += len(batch)
        self.last_ts = batch[-1].ts

    def _report(self, message: str) -> None:
        self.errors += 1
        self.on_error(message)


def _ts(event: Event) -> float:
    return event.ts


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)
