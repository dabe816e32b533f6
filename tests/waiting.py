"""Waiting on a condition in async tests: as quick as the machine allows, never a fixed guess of how long."""

from __future__ import annotations

import asyncio
from typing import Callable

WAIT_S = 60.0  # generous: a loaded 2-core CI machine may be slow, but a condition that holds is met quickly


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S,
                explain: Callable[[], str] = lambda: "") -> None:
    """Return once `condition()` holds; fail naming `what` (and `explain()`'s context) after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            context = explain()
            raise AssertionError(f"timed out waiting for {what}" + (f"; {context}" if context else ""))
        await asyncio.sleep(0.02)
