"""The alert store's schema: numbered forward migrations, recorded in SQLite's `user_version`.

Opening a file at an older version applies the missing migrations, each in its own transaction together
with its version bump, so an interrupted upgrade leaves the file at the last complete version. A file
written by a newer watchfloor is refused rather than guessed at. Append migrations; never edit old ones.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Sequence

import aiosqlite

from detectors.alerts import Alert, AuditEntry

MIGRATIONS: tuple[str, ...] = (
    # 1: alerts (current state, one row per alert id) and the append-only audit trail
    """
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,                 -- market time it was raised
        venue TEXT NOT NULL,
        symbol TEXT,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        value REAL NOT NULL,
        threshold REAL NOT NULL,
        zscore REAL,
        message TEXT NOT NULL,
        state TEXT NOT NULL,
        count INTEGER NOT NULL,
        last_ts REAL NOT NULL,            -- market time of the latest signal
        evidence TEXT NOT NULL,           -- JSON object
        opened_at REAL NOT NULL,          -- wall-clock times from here on
        acked_at REAL,
        acked_by TEXT,
        resolved_at REAL,
        resolved_by TEXT,
        resolution TEXT
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,          -- rows are never deleted, so a seq is never reused
        alert_id TEXT NOT NULL,
        at REAL NOT NULL,
        market_ts REAL NOT NULL,
        action TEXT NOT NULL,
        operator TEXT NOT NULL,
        reason TEXT,
        severity TEXT NOT NULL,
        state TEXT NOT NULL
    );
    CREATE INDEX audit_by_alert ON audit (alert_id, seq);
    CREATE TRIGGER audit_never_updated BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_never_deleted BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    """,
    # 2: key-value state (the maker's defensive mode), requests from other processes, change tracking
    """
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL);
    CREATE TABLE requests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL,
        action TEXT NOT NULL,             -- acknowledge / resolve
        operator TEXT NOT NULL,
        reason TEXT,
        at REAL NOT NULL,
        done_at REAL,
        result TEXT                       -- 'ok' or the reason it was refused
    );
    ALTER TABLE alerts ADD COLUMN updated_at REAL NOT NULL DEFAULT 0;  -- wall time of the flush that wrote it
    CREATE INDEX alerts_by_ts ON alerts (ts);
    CREATE INDEX alerts_by_update ON alerts (updated_at);
    CREATE INDEX alerts_unresolved ON alerts (state) WHERE state != 'resolved';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The store cannot be used as it is (newer schema, not a watchfloor database): one line for the user."""


def check_version(path: str, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: alert store schema version {version} is newer than this watchfloor "
                         f"understands ({SCHEMA_VERSION}); upgrade watchfloor or choose another store.path")


async def schema_version(db: aiosqlite.Connection, path: str) -> int:
    """The file's version, after checking it is a SQLite database this program can read."""
    try:
        (version,), = await db.execute_fetchall("PRAGMA user_version")
    except sqlite3.DatabaseError as exc:  # 'file is not a database'
        raise StoreError(f"{path}: not an alert store ({exc})") from None
    check_version(path, version)
    return version


async def migrate(db: aiosqlite.Connection, path: str, upto: int = SCHEMA_VERSION) -> int:
    """Bring the file (opened in autocommit mode) to version `upto`; returns the version it had."""
    found = await schema_version(db, path)
    if found == 0 and await db.execute_fetchall("SELECT 1 FROM sqlite_master LIMIT 1"):
        raise StoreError(f"{path}: not an alert store (it has tables but no watchfloor schema version)")
    for version in range(found + 1, upto + 1):
        try:
            await db.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[version - 1]}\n"
                                   f"PRAGMA user_version = {version};\nCOMMIT;")
        except BaseException:
            if db.in_transaction:
                await db.rollback()
            raise
    return found


# -- rows ---------------------------------------------------------------------------------------------
ALERT_COLUMNS = ("id", "ts", "venue", "symbol", "kind", "severity", "value", "threshold", "zscore", "message",
                 "state", "count", "last_ts", "evidence", "opened_at", "acked_at", "acked_by", "resolved_at",
                 "resolved_by", "resolution", "updated_at")
AUDIT_COLUMNS = AuditEntry._fields
UPSERT_ALERT = (f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({', '.join('?' * len(ALERT_COLUMNS))}) "
                f"ON CONFLICT (id) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in ALERT_COLUMNS[1:]))
INSERT_AUDIT = f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})"
SELECT_ALERTS = f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts"
_EVIDENCE_JSON = json.JSONEncoder(default=str).encode  # built once: json.dumps(default=...) builds one per call


def alert_row(alert: Alert, updated_at: float) -> tuple:
    """The alert as an `alerts` row; numbers are made plain floats (detectors may hand numpy scalars)."""
    return (alert.id, float(alert.ts), alert.venue, alert.symbol, alert.kind, alert.severity, float(alert.value),
            float(alert.threshold), None if alert.zscore is None else float(alert.zscore), alert.message,
            alert.state, alert.count, float(alert.last_ts), _EVIDENCE_JSON(alert.evidence),
            alert.opened_at, alert.acked_at, alert.acked_by, alert.resolved_at, alert.resolved_by,
            alert.resolution, updated_at)


def alert_from_row(row: Sequence[Any]) -> Alert:
    """An Alert from a row selected with SELECT_ALERTS."""
    values = dict(zip(ALERT_COLUMNS, row))
    values["evidence"] = json.loads(values["evidence"])
    del values["updated_at"]
    return Alert(**values)
