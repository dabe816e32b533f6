"""Headless mode: the runtime with no UI. Alerts go to stdout as FORMAT.md section 2 JSON lines; nothing else does.

SIGTERM (`kill`, systemd, `docker stop`) ends a run as its --duration would: services stop in order, so a
live maker's orders are cancelled on the exchange instead of outliving the process.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from console.gc_tuning import StreamingGc
from console.runtime import Runtime
from detectors.alerts import Alert

ANNOUNCED = ("opened", "escalated")


def alert_printer(out: TextIO):
    """A listener printing each new alert, and each escalation under the same id, as one JSON line."""
    def print_alert(alert: Alert, change: str) -> None:
        if change in ANNOUNCED:
            out.write(json.dumps(alert.to_line(), separators=(",", ":")) + "\n")
            out.flush()
    return print_alert


async def run_headless(runtime: Runtime, duration: float | None, out: TextIO = sys.stdout,
                       log: TextIO = sys.stderr) -> None:
    runtime.engine.listeners.append(alert_printer(out))
    started = time.monotonic()
    collector = StreamingGc()  # a stream of short-lived events, as in the console: see console.gc_tuning
    collector.start()
    try:
        with _on_sigterm(runtime.stop):
            await runtime.run(duration)
    finally:
        collector.stop()
    wall = time.monotonic() - started
    counts = runtime.engine.open_counts()
    raised = len(runtime.engine.history)
    log.write(f"watchfloor: {runtime.events} events in {wall:.1f} s ({runtime.events / max(wall, 1e-9):,.0f}/s), "
              f"{raised} alerts raised, open: {counts['critical']} critical, {counts['warning']} warning, "
              f"{counts['info']} info; book gaps {runtime.book_gaps}\n")


@contextmanager
def _on_sigterm(stop: Callable[[], None]) -> Iterator[None]:
    """Calls `stop` on SIGTERM while inside (where the loop can take signals: the main thread, not Windows)."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
        added = True
    except (NotImplementedError, ValueError):  # Windows' loops have no signal handlers; ValueError: not main thread
        added = False
    try:
        yield
    finally:
        if added:
            loop.remove_signal_handler(signal.SIGTERM)
