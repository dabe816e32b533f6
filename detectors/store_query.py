"""Reading an alert store from another process (the CLI, reports): filters, alerts, the audit trail.

Reads never block the writer (WAL): a reader sees the store as of the writer's last commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from detectors.alerts import SEVERITIES, SEVERITY_RANK, Alert
from detectors.store import connect
from detectors.store_lock import WriterLock
from detectors.store_schema import (AUDIT_COLUMNS, SCHEMA_VERSION, SELECT_ALERTS, StoreError, alert_from_row, migrate,
                                    schema_version)


@dataclass(frozen=True)
class AlertFilter:
    since: float | None = None  # market time the alert was raised, from ...
    until: float | None = None  # ... to (exclusive)
    min_severity: str | None = None  # this severity or louder
    kinds: tuple[str, ...] = ()
    symbol: str | None = None  # a symbol (BTC/USDT) or venue:symbol (sim-alpha:BTC/USDT)
    states: tuple[str, ...] = ()

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions on the alerts table (as `a`), and their parameters."""
        clauses, params = ["1"], []
        if self.since is not None:
            clauses.append("a.ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("a.ts < ?")
            params.append(self.until)
        if self.min_severity is not None:
            louder = SEVERITIES[SEVERITY_RANK[self.min_severity]:]
            clauses.append(f"a.severity IN ({', '.join('?' * len(louder))})")
            params += louder
        for column, values in (("a.kind", self.kinds), ("a.state", self.states)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params += values
        if self.symbol is not None:
            clauses.append("(a.symbol = ? OR a.venue || ':' || a.symbol = ?)")
            params += [self.symbol, self.symbol]
        return " AND ".join(clauses), params


async def open_store(path: Path) -> aiosqlite.Connection:
    """An existing store, brought to the current schema if nobody is writing it; StoreError otherwise."""
    if not path.is_file():
        raise StoreError(f"no alert store at {path} (the console and headless mode create it)")
    db = await connect(str(path))
    try:
        version = await schema_version(db, str(path))
        if version < SCHEMA_VERSION:
            lock = WriterLock(str(path))
            if not lock.acquire():
                raise StoreError(f"{path} is at schema version {version}; the process writing it "
                                 f"(pid {lock.holder()}) is older than this watchfloor")
            try:
                await migrate(db, str(path))
            finally:
                lock.release()
    except BaseException:
        await db.close()
        raise
    return db


async def fetch_alerts(db: aiosqlite.Connection, where: AlertFilter, limit: int | None = None) -> list[Alert]:
    """Matching alerts, newest first."""
    sql, params = where.where()
    tail = f" LIMIT {int(limit)}" if limit else ""
    rows = await db.execute_fetchall(f"{SELECT_ALERTS} AS a WHERE {sql} ORDER BY a.ts DESC, a.id{tail}", params)
    return [alert_from_row(row) for row in rows]


async def count_alerts(db: aiosqlite.Connection, where: AlertFilter) -> int:
    sql, params = where.where()
    (count,), = await db.execute_fetchall(f"SELECT count(*) FROM alerts AS a WHERE {sql}", params)
    return count


async def fetch_audit(db: aiosqlite.Connection, where: AlertFilter) -> list[dict[str, Any]]:
    """The audit rows of the matching alerts, oldest first, with their sequence number."""
    sql, params = where.where()
    columns = ", ".join(f"u.{c}" for c in AUDIT_COLUMNS)
    rows = await db.execute_fetchall(f"SELECT u.seq, {columns} FROM audit AS u JOIN alerts AS a ON a.id = u.alert_id "
                                     f"WHERE {sql} ORDER BY u.seq", params)
    return [dict(zip(("seq", *AUDIT_COLUMNS), row)) for row in rows]


async def fetch_alert(db: aiosqlite.Connection, alert_id: str) -> Alert | None:
    rows = await db.execute_fetchall(f"{SELECT_ALERTS} WHERE id = ?", (alert_id,))
    return alert_from_row(rows[0]) if rows else None
