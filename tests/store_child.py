"""Raises alerts into a real alert store as fast as it can, until killed (the SIGKILL test's child).

Alert i is raised at market time T0 + i/1000 on symbol S<i>, so the test can name every alert. Each alert
writes exactly one audit row (opened), committed in order, so after the writer reports `n` audit rows
committed, alerts 0..n-1 are on disk: the child prints `durable <n>` then, and only then.
"""

import asyncio
import sys

from detectors.alert_settings import StoreSettings
from detectors.alerts import Signal
from detectors.engine import AlertEngine
from detectors.store import AlertStore

T0 = 1_767_225_600.0
PER_TURN = 200


async def main(path: str) -> None:
    engine = AlertEngine()
    store = AlertStore(StoreSettings(flush_interval_s=0.02, flush_rows=1000), path, engine)
    await store.start()
    print("started", flush=True)
    raised = reported = 0
    while True:
        for i in range(raised, raised + PER_TURN):
            engine.submit(Signal(T0 + i / 1000, "crash", f"S{i}", "spread_wide", "warning", 7.0, 5.0, 3.0, "wide"))
            if i % 7 == 0:  # repeated firings of an open alert update its row between flushes
                engine.submit(Signal(T0 + i / 1000, "crash", f"S{i}", "spread_wide", "warning", 8.0, 5.0, 3.0, "wide"))
        raised += PER_TURN
        await asyncio.sleep(0.002)
        if store.audit_written != reported:
            reported = store.audit_written
            print(f"durable {reported}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
