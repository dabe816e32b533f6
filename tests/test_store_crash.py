"""No loss: a process raising alerts is killed with SIGKILL mid-stream; everything it reported committed is there."""

import asyncio
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from detectors.alert_settings import StoreSettings
from detectors.alerts import alert_id
from detectors.engine import AlertEngine
from detectors.store import AlertStore

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "store_child.py"
T0 = 1_767_225_600.0
KILL_AFTER = 5000  # committed alerts before the kill, so it lands while the child is busy


def test_sigkill_loses_nothing_that_was_committed(tmp_path):
    path = tmp_path / "alerts.db"
    child = subprocess.Popen([sys.executable, str(CHILD), str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={"PYTHONPATH": str(ROOT)})
    durable = 0
    try:
        for line in child.stdout:
            if line.startswith("durable "):
                durable = int(line.split()[1])
                if durable >= KILL_AFTER:
                    child.send_signal(signal.SIGKILL)
                    break
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert durable >= KILL_AFTER

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in db.execute("SELECT id FROM alerts")}
        audit = db.execute("SELECT count(*), count(DISTINCT alert_id) FROM audit").fetchone()
    expected = {alert_id("crash", f"S{i}", "spread_wide", T0 + i / 1000) for i in range(durable)}
    assert expected <= stored  # every alert reported committed is there ...
    assert audit[0] == audit[1] == len(stored)  # ... with its audit row, and nothing half-written

    async def restart():
        engine = AlertEngine()
        store = AlertStore(StoreSettings(), str(path), engine)
        await store.start()  # the dead writer's lock is gone with it
        try:
            assert store.status()[0] == "ok"
            return {alert.id for alert in engine.history}
        finally:
            await store.stop()
    assert asyncio.run(restart()) == stored  # the restarted store has them all back, open
