"""Headless mode: the runtime with no UI. Alerts go to stdout as FORMAT.md section 2 JSON lines; nothing else does.

SIGTERM (`kill`, systemd, `docker stop`) and SIGHUP (an SSH disconnect) end a run as its --duration would:
services stop in order, so a live maker's orders are cancelled on the exchange instead of outliving the
process (console.stop_signals).
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from console.gc_tuning import StreamingGc
from console.runtime import Runtime
from console.stop_signals import stopping_on_signals
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
        with stopping_on_signals(runtime.stop):
            await runtime.run(duration)
    finally:
        collector.stop()
    wall = time.monotonic() - started
    counts = runtime.engine.open_counts()
    raised = len(runtime.engine.history)
    log.write(f"watchfloor: {runtime.events} events in {wall:.1f} s ({runtime.events / max(wall, 1e-9):,.0f}/s), "
              f"{raised} alerts raised, open: {counts['critical']} critical, {counts['warning']} warning, "
              f"{counts['info']} info; book gaps {runtime.book_gaps}\n")

