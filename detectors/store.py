"""The durable alert store: SQLite in WAL mode (aiosqlite), written by one task in batches.

The hot path only queues: alert changes coalesce per alert id (the latest state wins), audit entries and
state puts keep their order. The writer task commits everything queued in one transaction at least every
`flush_interval_s`, at once when `flush_rows` are waiting, with `synchronous=FULL`: a committed flush
survives the process being killed and the machine losing power. What a crash can lose is what was queued
since the last commit, at most one flush interval of changes.

A failed write (disk full, file unwritable) is rolled back and nothing queued is dropped: the status turns
to `error`, alerts stay in memory, and the writer tries again every `retry_s`.

One process writes a store: the one holding its WriterLock. Another process opening the same file runs
read-only: it restores the writer's unresolved alerts, follows the writer's changes, keeps its own alerts
in memory, and hands its operators' acknowledgements and resolutions to the writer through the `requests`
table, which the writer answers within one flush.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from contextlib import asynccontextmanager, suppress
from typing import Any, AsyncIterator, Callable

import aiosqlite

from detectors.alert_settings import StoreSettings
from detectors.alerts import SYSTEM, Alert, AuditEntry, LifecycleError
from detectors.engine import AlertEngine
from detectors.store_lock import WriterLock
from detectors.store_schema import (INSERT_AUDIT, SCHEMA_VERSION, SELECT_ALERTS, UPSERT_ALERT, StoreError,
                                    alert_from_row, alert_row, migrate, schema_version)

StatusListener = Callable[[str, str], None]  # (level, text) whenever the level or the problem changes
REQUESTS = {"acknowledged": "acknowledge", "resolved": "resolve"}  # audit action -> request action
UPSERT_STATE = ("INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
INSERT_REQUEST = "INSERT INTO requests (alert_id, action, operator, reason, at) VALUES (?, ?, ?, ?, ?)"
IO_ERRORS = (OSError, sqlite3.Error)


def describe(exc: BaseException) -> str:
    """An I/O failure as words ('database or disk is full'), without a traceback."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def connect(path: str) -> aiosqlite.Connection:
    """A connection in autocommit mode (transactions are explicit) on the WAL journal."""
    db = await aiosqlite.connect(path, isolation_level=None, timeout=5.0)
    try:
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = FULL")
    except BaseException as exc:
        await db.close()
        if getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
            raise StoreError(f"{path}: not an alert store ({exc})") from None  # retrying would not help
        raise
    return db


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back if anything inside fails."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with suppress(*IO_ERRORS):
                await db.rollback()
        raise


async def submit_request(db: aiosqlite.Connection, requests: list[tuple[str, str, str, str | None]]) -> int:
    """Hand (alert id, action, operator, reason) requests to the writer; returns the last one's seq."""
    now = time.time()
    cursor = None
    async with transaction(db):
        for request in requests:
            cursor = await db.execute(INSERT_REQUEST, (*request, now))
    return cursor.lastrowid if cursor else 0


class AlertStore:
    """Persists one AlertEngine: its alerts, its audit trail, and a small key-value state."""

    def __init__(self, settings: StoreSettings, path: str, engine: AlertEngine,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.path = path
        self.engine = engine
        self.clock = clock
        self.level = "starting"  # ok / read-only / error
        self.problem = ""  # what is wrong while level is error or read-only
        self.status_listeners: list[StatusListener] = []
        self._told = ""  # the last status text listeners heard
        self.alerts_written = 0  # alert rows committed (each commit of a changed alert counts once)
        self.audit_written = 0
        self._lock = WriterLock(path)
        self._db: aiosqlite.Connection | None = None
        self._alerts: dict[str, Alert] = {}
        self._audit: list[AuditEntry] = []
        self._puts: dict[str, tuple[str, float]] = {}
        self._state: dict[str, str] = {}  # every key's latest value as JSON text
        self._answers: list[tuple[float, str, int]] = []  # (done_at, result, request seq) to commit
        self._outbox: list[tuple[str, str, str, str | None]] = []  # read-only: operator actions for the writer
        self._waiters: list[asyncio.Future] = []
        self._wake = asyncio.Event()  # enough is queued to flush before the interval is up
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._restored = False
        self._data_version: int | None = None  # changes by other connections show as a new data_version
        self._last_update = 0.0  # the newest updated_at written (writer) or followed (read-only)
        engine.listeners.append(self._alert_changed)
        engine.audit_listeners.append(self._audited)

    # -- the hot path: queue only ---------------------------------------------------------------------
    def _alert_changed(self, alert: Alert, change: str) -> None:
        if self.level != "read-only":
            self._alerts[alert.id] = alert
            if len(self._alerts) + len(self._audit) >= self.settings.flush_rows:
                self._wake.set()

    def _audited(self, entry: AuditEntry) -> None:
        if self.level != "read-only":
            self._audit.append(entry)
        elif entry.operator != SYSTEM and entry.action in REQUESTS:
            self._outbox.append((entry.alert_id, REQUESTS[entry.action], entry.operator, entry.reason))

    def put_state(self, key: str, value: dict[str, Any]) -> None:
        """Remember `value` (JSON-able) under `key` across restarts; written with the next flush."""
        text = json.dumps(value)
        self._state[key] = text
        if self.level != "read-only":
            self._puts[key] = (text, self.clock())

    async def get_state(self, key: str) -> dict[str, Any] | None:
        """The latest value put under `key`, by this run or an earlier one (read when the store opened)."""
        text = self._state.get(key)
        return None if text is None else json.loads(text)

    @property
    def pending(self) -> int:
        """Changes queued and not yet committed."""
        return len(self._alerts) + len(self._audit) + len(self._puts)

    def status(self) -> tuple[str, str]:
        """(level, one line) for a status bar: level `error` should show red."""
        if self.level == "error":
            fate = ("could not be written before exit" if self._stop.is_set()
                    else f"kept in memory, retrying every {self.settings.retry_s:g} s")
            return "error", f"STORE ERROR {self.path}: {self.problem}; {self.pending} changes {fate}"
        if self.level == "read-only":
            return "read-only", f"store read-only: {self.problem}"
        return self.level, f"store {self.level}"

    # -- start and stop ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the store and restore what earlier runs left unresolved, before any feed starts.

        A disk problem does not stop the program (the writer keeps retrying); a file that is not a
        store this version understands raises StoreError.
        """
        self._stop.clear()
        await self._try_open()
        self._task = asyncio.create_task(self._run(), name=f"alert-store:{self.path}")

    async def stop(self) -> None:
        """Commit what is queued (one last attempt), close the file and let another process write it."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def flushed(self) -> None:
        """Wait until everything queued before this call is committed by the writer's own schedule."""
        if self._task is None:
            raise RuntimeError("the alert store's writer is not running (start() it first)")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    # -- the writer task --------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while True:
                if self._db is None and not await self._try_open():
                    if self._stop.is_set():
                        return  # that was the last attempt
                    await self._pause()
                    continue
                await self._wait_for_work()
                try:
                    if self._lock.held:
                        await self._answer_requests()
                        await self._flush()
                    else:
                        await self._follow()
                except IO_ERRORS as exc:
                    self._set_status("error", f"cannot write: {describe(exc)}")
                    if not self._stop.is_set():
                        await self._pause()
                if self._stop.is_set():
                    return
        finally:
            if self.pending and self.level == "error":
                self._tell_status()  # say what is lost, once, as the program ends
            await self._close()

    async def _wait_for_work(self) -> None:
        if self._stop.is_set() or len(self._alerts) + len(self._audit) >= self.settings.flush_rows:
            return
        self._wake.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.flush_interval_s)

    async def _pause(self) -> None:
        """Wait `retry_s` before trying the disk again, unless asked to stop."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.settings.retry_s)

    async def _try_open(self) -> bool:
        try:
            await self._open()
            return True
        except IO_ERRORS as exc:
            await self._close()
            self._set_status("error", f"cannot open: {describe(exc)}")
            return False
        except StoreError:
            await self._close()
            raise

    async def _open(self) -> None:
        writer = self._lock.acquire()
        self._db = db = await connect(self.path)
        if writer:
            await migrate(db, self.path)
        elif await schema_version(db, self.path) < SCHEMA_VERSION:
            raise sqlite3.OperationalError(f"waiting for the writer (pid {self._lock.holder()}) to set it up")
        self._state = {**dict(await db.execute_fetchall("SELECT key, value FROM state")), **self._state}
        (self._last_update,), = await db.execute_fetchall("SELECT coalesce(max(updated_at), 0) FROM alerts")
        if not self._restored:
            rows = await db.execute_fetchall(f"{SELECT_ALERTS} WHERE state != 'resolved' ORDER BY ts")
            self.engine.restore(alert_from_row(row) for row in rows)
            self._restored = True
        self._data_version = None
        if writer:
            self._set_status("ok", "")
        else:
            self._alerts.clear()  # nothing of this process's own is written from now on
            self._audit.clear()
            self._puts.clear()
            self._set_status("read-only", f"pid {self._lock.holder()} writes {self.path}; "
                                          "this console's own alerts stay in memory")

    async def _close(self) -> None:
        if self._db is not None:
            with suppress(*IO_ERRORS):
                await self._db.close()
            self._db = None
        self._lock.release()

    # -- writer: flush and answer other processes' requests ---------------------------------------------
    async def _flush(self) -> None:
        alerts, audit, puts, answers = self._alerts, self._audit, self._puts, self._answers
        waiters, self._waiters = self._waiters, []
        if alerts or audit or puts or answers:
            self._alerts, self._audit, self._puts, self._answers = {}, [], {}, []
            try:
                await self._commit(alerts, audit, puts, answers)
            except BaseException:  # keep every change, in order, for the next attempt
                self._alerts = {**alerts, **self._alerts}
                self._audit[:0] = audit
                self._puts = {**puts, **self._puts}
                self._answers[:0] = answers
                self._waiters[:0] = waiters
                raise
            self.alerts_written += len(alerts)
            self.audit_written += len(audit)
        if self.level != "ok":
            self._set_status("ok", "")
        _release(waiters)

    async def _commit(self, alerts: dict[str, Alert], audit: list[AuditEntry], puts: dict[str, tuple[str, float]],
                      answers: list[tuple[float, str, int]]) -> None:
        db = self._db
        now = self._last_update = max(self.clock(), self._last_update + 1e-6)  # followers read changes in order
        async with transaction(db):
            if alerts:
                await db.executemany(UPSERT_ALERT, [alert_row(alert, now) for alert in alerts.values()])
            if audit:
                await db.executemany(INSERT_AUDIT, audit)
            if puts:
                await db.executemany(UPSERT_STATE, [(key, text, at) for key, (text, at) in puts.items()])
            if answers:
                await db.executemany("UPDATE requests SET done_at = ?, result = ? WHERE seq = ?", answers)

    async def _answer_requests(self) -> None:
        """Apply acknowledgements and resolutions other processes queued; their answers commit with the audit."""
        if not await self._changed_elsewhere():
            return
        answering = {seq for _, _, seq in self._answers}
        rows = await self._db.execute_fetchall(
            "SELECT seq, alert_id, action, operator, reason FROM requests WHERE done_at IS NULL ORDER BY seq")
        for seq, alert_id, action, operator, reason in rows:
            if seq not in answering:
                self._answers.append((self.clock(), self._apply(alert_id, action, operator, reason), seq))

    def _apply(self, alert_id: str, action: str, operator: str, reason: str | None) -> str:
        try:
            if action == "acknowledge":
                self.engine.acknowledge(alert_id, operator, reason)
            elif action == "resolve":
                self.engine.resolve(alert_id, operator, reason)
            else:
                return f"unknown action {action!r}"
        except LifecycleError as exc:
            return str(exc)
        return "ok"

    async def _changed_elsewhere(self) -> bool:
        (version,), = await self._db.execute_fetchall("PRAGMA data_version")
        changed, self._data_version = version != self._data_version, version
        return changed

    # -- read-only: follow the writer ---------------------------------------------------------------------
    async def _follow(self) -> None:
        waiters, self._waiters = self._waiters, []
        if self._outbox:
            outbox, self._outbox = self._outbox, []
            try:
                await submit_request(self._db, outbox)
            except BaseException:
                self._outbox[:0] = outbox
                self._waiters[:0] = waiters
                raise
        _release(waiters)
        if await self._changed_elsewhere():
            rows = await self._db.execute_fetchall(f"{SELECT_ALERTS} WHERE updated_at > ? ORDER BY updated_at",
                                                   (self._last_update,))
            for row in rows:
                self.engine.merge(alert_from_row(row))
            if rows:
                self._last_update = rows[-1][-1]
        if self.level == "error":
            self._set_status("read-only", f"pid {self._lock.holder()} writes {self.path}; "
                                          "this console's own alerts stay in memory")

    def _set_status(self, level: str, problem: str) -> None:
        if (level, problem) != (self.level, self.problem):
            self.level, self.problem = level, problem
            self._tell_status()

    def _tell_status(self) -> None:
        level, text = self.status()
        if text != self._told:
            self._told = text
            for listener in self.status_listeners:
                listener(level, text)


def _release(waiters: list[asyncio.Future]) -> None:
    """Wake the `flushed()` callers whose changes are now committed."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
