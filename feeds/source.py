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


class Pacer:
    """Holds a source to `speed` market seconds per wall second; speed 0 (max) only yields to the loop."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._origin: tuple[float, float] | None = None  # (market ts, wall time) at the first batch

    async def wait_until(self, market_ts: float) -> None:
        if self.speed <= 0:
            await asyncio.sleep(0)
            return
        now = time.monotonic()
        if self._origin is None:
            self._origin = (market_ts, now)
        start_ts, start_wall = self._origin
        delay = start_wall + (market_ts - start_ts) / self.speed - now
        await asyncio.sleep(max(delay, 0.0))
