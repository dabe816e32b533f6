"""Alerts and the signals detectors send to raise, escalate or clear them (FORMAT.md sections 2 and 3)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
STATES = ("open", "acknowledged", "resolved", "escalated")
SYSTEM = "system"  # the operator name on changes the engine makes by itself
CONDITION_CLEARED = "condition cleared"  # the reason recorded when a detector's all-clear resolves an alert


@dataclass(slots=True)
class Signal:
    """A detector's verdict for one instrument and kind at market time `ts`; severity None means all clear."""

    ts: float
    venue: str
    symbol: str | None
    kind: str
    severity: str | None
    value: float = 0.0
    threshold: float = 0.0
    zscore: float | None = None
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Alert:
    """One alert and where it stands in its lifecycle. `ts` and `last_ts` are market time; the `*_at`
    fields are wall-clock times of what operators (or the system) did, for the audit and the report."""

    id: str
    ts: float
    venue: str
    symbol: str | None
    kind: str
    severity: str
    value: float
    threshold: float
    zscore: float | None
    message: str
    state: str = "open"
    count: int = 1
    last_ts: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)
    opened_at: float = 0.0
    acked_at: float | None = None  # the first acknowledgement: time to acknowledge is measured to it
    acked_by: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    resolution: str | None = None  # the reason given when it was resolved

    def to_line(self) -> dict[str, Any]:
        """The headless JSON line, fields in FORMAT.md order."""
        return {
            "id": self.id, "ts": self.ts, "venue": self.venue, "symbol": self.symbol, "kind": self.kind,
            "severity": self.severity, "value": _round(self.value), "threshold": _round(self.threshold),
            "zscore": None if self.zscore is None else _round(self.zscore), "message": self.message,
            "state": self.state,
        }


class AuditEntry(NamedTuple):
    """One state change of one alert: who, when (wall clock and market time), why. Never rewritten.

    A tuple in the audit table's column order, so the store writes it as it is.
    """

    alert_id: str
    at: float
    market_ts: float
    action: str  # opened / escalated / acknowledged / resolved
    operator: str  # SYSTEM for what the engine did by itself
    reason: str | None
    severity: str
    state: str


class LifecycleError(ValueError):
    """An operator action that the alert's state does not allow, as one line for the operator."""


def alert_id(venue: str, symbol: str | None, kind: str, ts: float) -> str:
    """Deterministic from what raised it, so a replay of the same data yields the same ids."""
    digest = hashlib.blake2b(f"{venue}|{symbol}|{kind}|{ts:.6f}".encode(), digest_size=6).hexdigest()
    return f"al-{digest}"


def _round(value: float) -> float:
    return round(value, 6)
