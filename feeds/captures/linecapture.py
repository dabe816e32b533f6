"""The loop every text capture shares: line in, events out in time order, a bad line reported and skipped."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator

from feeds.captures.fields import MESSAGE_ERRORS, describe
from feeds.captures.files import Report, numbered_chunks
from feeds.captures.ordering import TimeOrder
from feeds.events import Event


class LineCapture:
    """A capture file read line by line; a subclass turns one line into events (`_handle`) and says at the
    end what the capture left undone (`_finish`). `stats` counts what was met, by kind."""

    header = None  # captures have no FORMAT.md header

    def __init__(self, path: Path, report: Report) -> None:
        self.path = path
        self.report = report
        self.stats: Counter[str] = Counter()
        self._line_no = 0  # the line being read, for reports raised outside `_handle`
        self._order = TimeOrder(self._late)

    def events(self) -> Iterator[Event]:
        order = self._order = TimeOrder(self._late)
        push = order.push
        handle = self._handle
        for first, lines in numbered_chunks(self.path, self.report):
            for self._line_no, line in enumerate(lines, first):
                try:
                    produced = handle(line)
                except MESSAGE_ERRORS as exc:
                    self.report(f"{self.path}:{self._line_no}: {describe(exc)}")
                    continue
                if produced:
                    for event in produced:
                        push(event)
                    yield from order.ready()
        yield from order.drain()
        self._finish()

    def _handle(self, line: bytes) -> list[Event] | None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Report what the end of the capture leaves undone (diffs never applied...)."""

    def _late(self, event: Event, original_ts: float) -> None:
        self.report(f"{self.path}:{self._line_no}: {event.t} time {original_ts:.3f} is behind events already replayed, "
                    f"replayed at {event.ts:.3f}")
