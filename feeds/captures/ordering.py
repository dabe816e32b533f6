"""Put a capture's events in time order by their exchange time.

A capture is written in receive order, and the streams it multiplexes (depth, trades...) each carry the
exchange's own clock: across streams those times are not monotonic (up to ~0.2 s back in the Binance
captures). FORMAT.md wants `ts` to be exchange time and files in time order, so events wait in a small
heap until no earlier one can still arrive: an event is released once the newest time seen is `window_s`
past it. An event that still arrives behind what was released (a capture more out of order than the
window) is replayed at the last released time and reported, never dropped: dropping a book diff would
break the book. Events a reader held back on purpose (diffs waiting for their snapshot) are `catching_up`:
they are moved up the same way without a report, as a live client's book also starts when its snapshot comes.
"""

from __future__ import annotations

import heapq
from typing import Callable, Iterator

from feeds.events import Event

REORDER_WINDOW_S = 2.0


class TimeOrder:
    """A reorder buffer: `push` events as read, take what is safe from `ready`, the rest from `drain`."""

    def __init__(self, on_late: Callable[[Event, float], None], window_s: float = REORDER_WINDOW_S) -> None:
        self.window_s = window_s
        self.on_late = on_late  # called with the event (already moved) and its original ts
        self._heap: list[tuple[float, int, Event]] = []
        self._count = 0  # ties keep arrival order, so a snapshot stays before the diffs on top of it
        self._newest = float("-inf")
        self._released = float("-inf")

    def push(self, event: Event, catching_up: bool = False) -> None:
        ts = event.ts
        if ts < self._released:
            event.ts = self._released
            if not catching_up:
                self.on_late(event, ts)
            ts = event.ts
        elif ts > self._newest:
            self._newest = ts
        self._count += 1
        heapq.heappush(self._heap, (ts, self._count, event))

    def ready(self) -> Iterator[Event]:
        heap = self._heap
        horizon = self._newest - self.window_s
        while heap and heap[0][0] <= horizon:
            ts, _, event = heapq.heappop(heap)
            self._released = ts
            yield event

    def drain(self) -> Iterator[Event]:
        """Everything still held, in order: the end of the capture."""
        heap = self._heap
        while heap:
            ts, _, event = heapq.heappop(heap)
            self._released = ts
            yield event
