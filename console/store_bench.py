"""The alert store's figures for `watchfloor bench`: sustained alert writes per second, and ack-to-disk time.

Alerts are raised through the real engine into the real store (a fresh file in a temporary folder, WAL,
synchronous=FULL), a thousand per turn of the event loop while the writer task commits in the background,
so the rate is what the hot path can sustain with durability, not a single bulk insert. The rate per CPU
second (both threads: the event loop's and SQLite's) does not depend on other programs sharing the machine.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from detectors.alert_settings import StoreSettings
from detectors.alerts import Signal
from detectors.engine import AlertEngine
from detectors.store import AlertStore

CHUNK = 1000  # alerts raised per turn of the event loop
ACKS = 10  # acknowledgements timed to disk


def measure_store(alerts: int, settings: StoreSettings = StoreSettings()) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="watchfloor-bench-") as folder:
        return asyncio.run(_measure(str(Path(folder) / "bench.db"), alerts, settings))


async def _measure(path: str, count: int, settings: StoreSettings) -> dict[str, float]:
    engine = AlertEngine()
    store = AlertStore(settings, path, engine)
    await store.start()
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        for first in range(0, count, CHUNK):
            for i in range(first, min(first + CHUNK, count)):
                engine.submit(Signal(1_767_225_600.0 + i * 1e-3, "bench", f"S{i}", "spread_wide", "warning", 7.5, 5.0,
                                     3.2, "spread 7.5 bps > 5.0 bps, z 3.2", {"mean_bps": 2.0, "std_bps": 1.7}))
            await asyncio.sleep(0)
        await store.flushed()
        write_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        rows = store.alerts_written + store.audit_written
        ack_ms = []
        for alert in engine.history[:ACKS]:
            acked = time.perf_counter()
            engine.acknowledge(alert.id, "bench")
            await store.flushed()
            ack_ms.append((time.perf_counter() - acked) * 1000)
    finally:
        await store.stop()
    return {"store_alerts": count, "store_alert_writes_per_s": count / write_s,
            "store_alert_writes_per_cpu_s": count / cpu_s,
            "store_rows_per_s": rows / write_s,
            "ack_to_disk_ms_mean": statistics.fmean(ack_ms), "ack_to_disk_ms_max": max(ack_ms),
            "flush_interval_ms": settings.flush_interval_s * 1000}
