"""Write the event stream to a recording in the ../shared/FORMAT.md section 1 format.

Other tools read these files, so the layout is exact: a header line, then one compact JSON object a line,
in time order. Sources run side by side (the simulator and live venues, each venue with its own lag) hand
over batches whose times interleave a little, so lines wait in a reorder buffer until the newest time seen is
REORDER_WINDOW_S past them. One instrument's events keep the order the runtime saw them in (a book diff
must follow the snapshot it builds on): one stamped earlier than the instrument's previous event, or than
what the file has already reached (a feed lagging more than the window), is written at that later time and
counted in `moved`. Moving it keeps the event; writing it out of order would have the replay skip it.
"""

from __future__ import annotations

import gzip
import heapq
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from feeds.captures.ordering import REORDER_WINDOW_S
from feeds.events import Event, to_record

FORMAT_VERSION = 1
_SEPARATORS = (",", ":")
_GZIP_LEVEL = 6  # zlib's default: level 9 costs several times the CPU on a live stream for a few % of size


def encode(record: dict) -> str:
    """One recording line, newline included. NaN/inf raise ValueError: they are not JSON numbers."""
    return json.dumps(record, separators=_SEPARATORS, allow_nan=False) + "\n"


class Recorder:
    """Appends batches of events to a `.jsonl` or `.jsonl.gz` file; `write` fits a source's `emit`."""

    def __init__(self, path: str | Path, source: str, window_s: float = REORDER_WINDOW_S) -> None:
        self.path = Path(path)
        self.window_s = window_s
        self.events = 0
        self.moved = 0  # events that came later than the window: written at the time the file had reached
        self._held: list[tuple[float, int, str]] = []  # (ts, arrival, line): a heap, ties in arrival order
        self._arrivals = 0
        self._newest = -math.inf
        self._written = -math.inf  # the time of the last line written
        self._latest: dict[tuple[str, str | None], float] = {}  # each instrument's last (possibly moved) time
        self._file: BinaryIO = _open_for_writing(self.path)
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._file.write(encode({"t": "header", "v": FORMAT_VERSION, "created": created,
                                 "source": source}).encode())

    def write(self, batch: list[Event]) -> None:
        """Append a batch, buffered. The batch is encoded first, so a bad event leaves none of it written."""
        lines, latest = [], dict(self._latest)
        moved = 0
        for event in batch:
            record = to_record(event)
            key = (event.venue, event.symbol)
            floor = max(self._written, latest.get(key, -math.inf))
            if event.ts < floor:
                record["ts"] = floor  # the event itself is the runtime's: only the line moves
                moved += 1
            latest[key] = record["ts"]
            lines.append((record["ts"], encode(record)))
        self._latest = latest
        self.moved += moved
        held = self._held
        for ts, line in lines:
            self._arrivals += 1
            heapq.heappush(held, (ts, self._arrivals, line))
            self._newest = max(self._newest, ts)
        self.events += len(batch)
        self._write_until(self._newest - self.window_s)

    def close(self) -> None:
        """Write what is held, flush and close; a second call does nothing."""
        if not self._file.closed:
            self._write_until(math.inf)
        self._file.close()

    def _write_until(self, horizon: float) -> None:
        held, out = self._held, []
        while held and held[0][0] <= horizon:
            ts, _, line = heapq.heappop(held)
            out.append(line)
            self._written = ts
        if out:
            self._file.write("".join(out).encode())

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _open_for_writing(path: Path) -> BinaryIO:
    """Binary, so lines end in exactly "\\n" on every platform; both kinds buffer their writes."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=_GZIP_LEVEL)
    return open(path, "wb")
