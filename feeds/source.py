"""What a market-data source is, and how a source paces market time against the wall clock."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Protocol

from feeds.events import Event

Emit = Callable[[list[Event]], None]


class Source(Protocol):
    """A producer of normalized events. `run` hands batches (in time order) to `emit` and returns when done."""

    name: str

    async def run(self, emit: Emit) -> None: ...


SLICE_S = 0.002  # longest stretch of a source's work between two turns of the event loop


class Pacer:
    """Holds a source to `speed` market seconds per wall second; speed 0 (max) only yields to the loop.

    It also shares the loop: the console runs in the same thread, and a key press or a frame can only be
    handled when the loop runs, so a source doing a long burst of work calls `breathe` between pieces of it.
    """

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.slice_s = SLICE_S
        self._origin: tuple[float, float] | None = None  # (market ts, wall time) at the first batch
        self._resumed = time.monotonic()  # when the loop last handed control back to the source

    async def wait_until(self, market_ts: float) -> None:
        if self.speed <= 0:
            await self._yield(0.0)
            return
        now = time.monotonic()
        if self._origin is None:
            self._origin = (market_ts, now)
        start_ts, start_wall = self._origin
        delay = start_wall + (market_ts - start_ts) / self.speed - now
        await self._yield(max(delay, 0.0))

    async def breathe(self) -> None:
        """Let the loop run if the source has kept it for `slice_s` or more since it last did."""
        if time.monotonic() - self._resumed >= self.slice_s:
            await self._yield(0.0)

    async def _yield(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._resumed = time.monotonic()
