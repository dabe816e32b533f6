"""Play recordings (../shared/FORMAT.md section 1) back as a Source, merged by time and paced by market time.

Bad input never stops a replay: each corrupt line, backwards timestamp or truncated gzip is reported as one
line naming the file and line, counted in `errors`, and skipped. Only an unreadable header refuses the file,
since then nothing after it can be trusted.
"""

from __future__ import annotations

import gzip
import heapq
import json
import sys
import zlib
from contextlib import ExitStack, closing
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from feeds.events import Event, event_from_record
from feeds.recorder import FORMAT_VERSION
from feeds.source import Emit, Pacer

BATCH_MAX = 500  # events per emitted batch
BATCH_SPAN_S = 0.1  # market seconds per emitted batch, so pacing stays smooth at low event rates
_GZIP_MAGIC = b"\x1f\x8b"
_TRUNCATED = (EOFError, zlib.error, gzip.BadGzipFile)  # what gzip raises on a cut or damaged stream


class ReplayError(Exception):
    """A recording that cannot be replayed at all; the message is one line naming the file and line."""


def read_header(path: str | Path) -> dict:
    """The header of a recording, checked: it must be line 1 and have a version this reader takes.

    A file that cannot be opened raises OSError (FileNotFoundError...) unchanged, so a caller can tell a
    missing recording from a bad one.
    """
    try:
        with _open_for_reading(Path(path)) as file:
            line = file.readline()
    except _TRUNCATED as exc:
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


class ReplaySource:
    """Replays recordings in time order as `speed` market seconds per wall second (0: as fast as possible)."""

    name = "replay"

    def __init__(self, paths: list[str | Path], speed: float = 0.0,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.paths = list(paths)
        self.speed = speed
        self.on_error = on_error or _print_error
        self.headers = [read_header(path) for path in self.paths]  # refuse a bad file before the run starts
        self.events = 0
        self.errors = 0
        self.last_ts: float | None = None

    async def run(self, emit: Emit) -> None:
        """Emit every file's events merged by `ts`, in batches; equal timestamps keep the files' order."""
        pacer = Pacer(self.speed)
        batch: list[Event] = []
        with ExitStack() as stack:  # close every file even when the run is cancelled
            streams = [stack.enter_context(closing(self._read(path))) for path in self.paths]
            for event in heapq.merge(*streams, key=_ts):
                if batch and (len(batch) >= BATCH_MAX or event.ts - batch[0].ts >= BATCH_SPAN_S):
                    await self._emit(batch, pacer, emit)
                    batch = []
                batch.append(event)
        if batch:
            await self._emit(batch, pacer, emit)

    async def _emit(self, batch: list[Event], pacer: Pacer, emit: Emit) -> None:
        await pacer.wait_until(batch[0].ts)
        emit(batch)
        self.events += len(batch)
        self.last_ts = batch[-1].ts

    def _read(self, path: str | Path) -> Iterator[Event]:
        """One file's events, lazily and in time order; a truncated gzip ends the file with one report."""
        line_no = 1
        last_ts = 0.0
        with _open_for_reading(Path(path)) as file:
            try:
                file.readline()  # the header, checked by read_header
                for line_no, line in enumerate(file, start=2):
                    event = self._parse(f"{path}:{line_no}", line)
                    if event is None:
                        continue
                    if event.ts < last_ts:
                        self._report(f"{path}:{line_no}: timestamp goes backwards ({event.ts} < {last_ts}), "
                                     f"event skipped")
                        continue
                    last_ts = event.ts
                    yield event
            except _TRUNCATED:
                self._report(f"{path}: truncated at line {line_no + 1}, replay of this file ended")

    def _parse(self, where: str, line: bytes) -> Event | None:
        """The event on a line, or None (reported) for a line that is not one; blank lines are skipped."""
        text = line.strip()  # also drops the newline, so a JSON error's column is the column on this line
        if not text:
            return None
        try:
            return event_from_record(json.loads(text))
        except json.JSONDecodeError as exc:
            self._report(f"{where}: bad JSON ({exc.msg} at column {exc.colno})")
        except ValueError as exc:  # EventFormatError, or bytes that are not UTF-8
            self._report(f"{where}: {exc}")
        return None

    def _report(self, message: str) -> None:
        self.errors += 1
        self.on_error(message)


def _open_for_reading(path: Path) -> BinaryIO:
    """Gzip is recognised by its magic bytes, so a renamed or misnamed file still reads."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


def _ts(event: Event) -> float:
    return event.ts


def _print_error(message: str) -> None:
    print(message, file=sys.stderr)
