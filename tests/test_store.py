"""The SQLite alert store: batches, restart, migrations, the append-only audit, disk trouble, two consoles."""

import asyncio
import sqlite3
from contextlib import closing

import aiosqlite
import pytest

from detectors.alert_settings import StoreSettings
from detectors.alerts import Signal
from detectors.engine import AlertEngine
from detectors.store import AlertStore
from detectors.store_schema import SCHEMA_VERSION, StoreError, migrate

T0 = 1_767_225_600.0
FAST = StoreSettings(flush_interval_s=0.02, retry_s=0.05)


def fire(engine, symbol="ETH/USDT", severity="warning", ts=T0, value=7.0):
    engine.submit(Signal(ts, "sim-alpha", symbol, "spread_wide", severity, value, 5.0, 3.0, "wide", {"mean_bps": 2.0}))


def query(path, sql, *params):
    """What another process reading the file sees."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql, params).fetchall()


async def started(path, settings=FAST):
    engine = AlertEngine()
    store = AlertStore(settings, str(path), engine)
    await store.start()
    return engine, store


async def test_alerts_audit_and_state_survive_a_restart(tmp_path):
    path = tmp_path / "alerts.db"
    engine, store = await started(path)
    for symbol in ("A", "B", "C"):
        fire(engine, symbol)
    a, b, c = engine.history
    engine.acknowledge(a.id, "ana", "on it")
    engine.resolve(b.id, "ana", "false positive")
    store.put_state("maker.defensive", {"on": True, "since": 12.5})
    await store.stop()

    engine2, store2 = await started(path)
    try:
        restored = {alert.id: alert for alert in engine2.history}
        assert set(restored) == {a.id, c.id}  # resolved alerts stay in the file, not in the work queue
        assert (restored[a.id].state, restored[a.id].acked_by, restored[a.id].evidence) == (
            "acknowledged", "ana", {"mean_bps": 2.0})
        assert restored[c.id].state == "open"
        assert await store2.get_state("maker.defensive") == {"on": True, "since": 12.5}
        assert await store2.get_state("nothing") is None
    finally:
        await store2.stop()
    assert query(path, "SELECT action, operator, reason FROM audit WHERE alert_id = ? ORDER BY seq", b.id) == [
        ("opened", "system", None), ("resolved", "ana", "false positive")]
    assert query(path, "PRAGMA journal_mode") == [("wal",)]


async def test_an_acknowledgement_reaches_the_file_with_the_writers_next_flush(tmp_path):
    path = tmp_path / "alerts.db"
    engine, store = await started(path, StoreSettings())  # the default 100 ms flush interval
    try:
        fire(engine)
        await store.flushed()
        alert = engine.history[0]
        engine.acknowledge(alert.id, "ana")
        assert query(path, "SELECT state FROM alerts") == [("open",)]  # queued: the hot path did not wait
        await store.flushed()  # the writer's own timer, nothing forces it
        assert query(path, "SELECT state, acked_by FROM alerts") == [("acknowledged", "ana")]
    finally:
        await store.stop()


async def test_many_firings_of_one_alert_become_one_row(tmp_path):
    path = tmp_path / "alerts.db"
    engine, store = await started(path)
    for i in range(2000):
        fire(engine, ts=T0 + i * 0.1, value=7.0 + i % 5)
    await store.stop()
    assert query(path, "SELECT count, last_ts FROM alerts") == [(2000, pytest.approx(T0 + 199.9))]
    assert query(path, "SELECT count(*) FROM audit") == [(1,)]


async def test_the_audit_trail_cannot_be_rewritten(tmp_path):
    path = tmp_path / "alerts.db"
    engine, store = await started(path)
    fire(engine)
    await store.stop()
    with closing(sqlite3.connect(path)) as db:
        for sql in ("UPDATE audit SET operator = 'mallory'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(sql)
    assert query(path, "SELECT operator FROM audit") == [("system",)]


async def test_an_older_file_is_upgraded_and_keeps_its_alerts(tmp_path):
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db, str(path), upto=1)
        await db.execute("INSERT INTO alerts VALUES ('al-1', ?, 'sim-alpha', 'ETH/USDT', 'spread_wide', 'critical', "
                         "40, 20, 9, 'wide', 'open', 3, ?, '{}', 900, NULL, NULL, NULL, NULL, NULL)", (T0, T0 + 5))
    engine, store = await started(path)
    try:
        assert [(a.id, a.count, a.state) for a in engine.history] == [("al-1", 3, "open")]
        store.put_state("k", {"v": 1})  # a table the old version did not have
        engine.acknowledge("al-1", "ana")
    finally:
        await store.stop()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(path, "SELECT state FROM alerts") == [("acknowledged",)]
    assert query(path, "SELECT value FROM state") == [('{"v": 1}',)]


async def test_a_newer_or_foreign_file_is_refused_with_one_line(tmp_path):
    newer = tmp_path / "newer.db"
    with closing(sqlite3.connect(newer)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=rf"newer.db: alert store schema version {SCHEMA_VERSION + 1} is newer"):
        await started(newer)
    foreign = tmp_path / "notes.db"
    foreign.write_text("these are not the alerts you are looking for" * 20)
    with pytest.raises(StoreError, match="notes.db: not an alert store"):
        await started(foreign)
    other_app = tmp_path / "other.db"
    with closing(sqlite3.connect(other_app)) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="no watchfloor schema version"):
        await started(other_app)


async def test_an_unwritable_location_keeps_alerts_in_memory_and_retries(tmp_path):
    folder = tmp_path / "not-yet"
    path = folder / "alerts.db"
    statuses = []
    engine = AlertEngine()
    store = AlertStore(FAST, str(path), engine)
    store.status_listeners.append(lambda level, text: statuses.append((level, text)))
    await store.start()  # does not raise: the console keeps running
    try:
        level, text = store.status()
        assert level == "error" and "cannot open" in text and str(path) in text
        fire(engine, "A")
        fire(engine, "B")
        assert store.pending == 4 and len(engine.history) == 2
        folder.mkdir()  # the operator fixes the disk
        await store.flushed()
        assert store.status() == ("ok", "store ok")
    finally:
        await store.stop()
    assert query(path, "SELECT count(*) FROM alerts") == [(2,)]
    assert [level for level, _ in statuses] == ["error", "ok"]


async def test_a_full_disk_loses_nothing_once_space_returns(tmp_path):
    path = tmp_path / "alerts.db"
    engine, store = await started(path)
    try:
        fire(engine, "A")
        await store.flushed()
        (pages,), = await store._db.execute_fetchall("PRAGMA page_count")
        await store._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own 'database or disk is full'
        for i in range(300):
            fire(engine, f"S{i}")
        while store.status()[0] != "error":
            await asyncio.sleep(0.01)
        assert "database or disk is full" in store.status()[1]
        assert len(engine.history) == 301  # the console still has every alert
        await store._db.execute("PRAGMA max_page_count = 1073741823")
        await store.flushed()
    finally:
        await store.stop()
    assert query(path, "SELECT count(*) FROM alerts") == [(301,)]
    assert query(path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_second_console_is_read_only_follows_the_writer_and_hands_it_its_actions(tmp_path):
    path = tmp_path / "alerts.db"
    writer_engine, writer = await started(path)
    fire(writer_engine, "A")
    fire(writer_engine, "B")
    await writer.flushed()
    a, b = writer_engine.history
    reader_engine, reader = await started(path)
    try:
        assert reader.status()[0] == "read-only"
        assert [alert.id for alert in reader_engine.history] == [a.id, b.id]  # the writer's open alerts
        fire(reader_engine, "OWN")  # the reader's own alert stays in its memory
        reader_engine.acknowledge(a.id, "bo", "seen on desk 2")
        while a.state != "acknowledged":  # the writer applies it ...
            await asyncio.sleep(0.01)
        writer_engine.resolve(b.id, "ana", "duplicate")
        reader_b = next(alert for alert in reader_engine.history if alert.id == b.id)
        while reader_b.state != "resolved":  # ... and the reader follows the writer's changes
            await asyncio.sleep(0.01)
        assert reader_b.resolved_by == "ana"
    finally:
        await reader.stop()
        await writer.stop()
    assert query(path, "SELECT operator, reason FROM audit WHERE alert_id = ? AND action = 'acknowledged'", a.id) == [
        ("bo", "seen on desk 2")]
    assert query(path, "SELECT count(*) FROM alerts WHERE symbol = 'OWN'") == [(0,)]
