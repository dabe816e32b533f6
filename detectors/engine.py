"""The alert engine: turns detector signals into alerts and carries each through its lifecycle.

One alert per (venue, symbol, kind) is active at a time: a repeated signal updates it (count, last value)
instead of creating a new one, a higher severity escalates it (announced again under the same id), and the
detector's all-clear resolves it, by operator `system` with reason `condition cleared`. Operators
acknowledge and resolve alerts by id. Every state change becomes an AuditEntry for the audit listeners
(the store queues it); memory is updated first and nothing here waits on disk.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from detectors.alerts import (CONDITION_CLEARED, SEVERITY_RANK, SYSTEM, Alert, AuditEntry, LifecycleError, Signal,
                              alert_id)

AlertListener = Callable[[Alert, str], None]  # (alert, change): opened/escalated/updated/cleared/acknowledged/resolved
AuditListener = Callable[[AuditEntry], None]
Key = tuple[str, str | None, str]


class AlertEngine:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.open: dict[Key, Alert] = {}  # alerts whose condition is active now, by (venue, symbol, kind)
        self.history: list[Alert] = []  # every alert known this run, restored ones first, newest last
        self.by_id: dict[str, Alert] = {}
        self.listeners: list[AlertListener] = []
        self.audit_listeners: list[AuditListener] = []
        self.clock = clock  # wall clock for the audit trail (market time comes with the signals)

    # -- detectors ------------------------------------------------------------------------------------
    def submit(self, signal: Signal) -> None:
        key = (signal.venue, signal.symbol, signal.kind)
        alert = self.open.get(key)
        if signal.severity is None:
            if alert is not None:
                alert.last_ts = signal.ts
                self._resolve(alert, SYSTEM, CONDITION_CLEARED, "cleared")
            return
        if alert is None:
            self._open(key, signal)
            return
        alert.count += 1
        alert.last_ts = signal.ts
        alert.value = signal.value
        alert.zscore = signal.zscore
        alert.evidence = signal.evidence
        if SEVERITY_RANK[signal.severity] > SEVERITY_RANK[alert.severity]:
            alert.severity = signal.severity
            alert.threshold = signal.threshold
            alert.message = signal.message
            alert.state = "escalated"
            self._record(alert, "escalated", SYSTEM, None)
            self._tell(alert, "escalated")
        else:
            self._tell(alert, "updated")

    def _open(self, key: Key, signal: Signal) -> None:
        new_id = alert_id(signal.venue, signal.symbol, signal.kind, signal.ts)
        alert = self.by_id.get(new_id)
        if alert is None:
            alert = Alert(new_id, signal.ts, signal.venue, signal.symbol, signal.kind, signal.severity, signal.value,
                          signal.threshold, signal.zscore, signal.message, last_ts=signal.ts,
                          evidence=signal.evidence, opened_at=self.clock())
            self.by_id[new_id] = alert
            self.history.append(alert)
        else:
            # The same data raised this alert in an earlier run (a replay into the same store): it is the
            # same alert, raised again, so it keeps its id and its row instead of becoming a twin.
            alert.severity, alert.value, alert.threshold = signal.severity, signal.value, signal.threshold
            alert.zscore, alert.message, alert.evidence = signal.zscore, signal.message, signal.evidence
            alert.state, alert.last_ts, alert.count = "open", signal.ts, alert.count + 1
            alert.resolved_at = alert.resolved_by = alert.resolution = None
        self.open[key] = alert
        self._record(alert, "opened", SYSTEM, None)
        self._tell(alert, "opened")

    # -- operators ------------------------------------------------------------------------------------
    def acknowledge(self, alert_id: str, operator: str, reason: str | None = None) -> Alert:
        """`operator` has seen the alert and is on it. Allowed while open or escalated."""
        alert = self._actionable(alert_id)
        operator = _required(operator, "an operator name")
        if alert.state == "acknowledged":
            raise LifecycleError(f"{alert_id} is already acknowledged by {alert.acked_by}")
        alert.state = "acknowledged"
        if alert.acked_at is None:
            alert.acked_at, alert.acked_by = self.clock(), operator
        self._record(alert, "acknowledged", operator, (reason or "").strip() or None)
        self._tell(alert, "acknowledged")
        return alert

    def resolve(self, alert_id: str, operator: str, reason: str) -> Alert:
        """`operator` closes the alert, saying why. If its condition persists, the next signal opens a new one."""
        alert = self._actionable(alert_id)
        self._resolve(alert, _required(operator, "an operator name"), _required(reason, "a reason"), "resolved")
        return alert

    def _actionable(self, alert_id: str) -> Alert:
        alert = self.by_id.get(alert_id)
        if alert is None:
            raise LifecycleError(f"no alert {alert_id}")
        if alert.state == "resolved":
            raise LifecycleError(f"{alert_id} is already resolved by {alert.resolved_by} ({alert.resolution})")
        return alert

    def _resolve(self, alert: Alert, operator: str, reason: str, change: str) -> None:
        key = (alert.venue, alert.symbol, alert.kind)
        if self.open.get(key) is alert:
            del self.open[key]
        alert.state = "resolved"
        alert.resolved_at, alert.resolved_by, alert.resolution = self.clock(), operator, reason
        self._record(alert, "resolved", operator, reason)
        self._tell(alert, change)

    # -- restart --------------------------------------------------------------------------------------
    def restore(self, alerts: Iterable[Alert]) -> None:
        """Take back alerts an earlier run left unresolved, for operators to acknowledge and resolve.

        Their detectors start afresh, so they are not active conditions: a condition still present
        raises a new alert, and only an operator resolves a restored one.
        """
        for alert in alerts:
            if alert.id not in self.by_id:
                self.by_id[alert.id] = alert
                self.history.append(alert)

    def merge(self, stored: Alert) -> None:
        """Take an alert as another process's store has it now (a second console follows the writer):
        a known one takes the stored lifecycle, an unknown one joins the history."""
        alert = self.by_id.get(stored.id)
        if alert is None:
            self.restore([stored])
            return
        for name in ("severity", "state", "count", "acked_at", "acked_by", "resolved_at", "resolved_by",
                     "resolution"):
            setattr(alert, name, getattr(stored, name))
        key = (alert.venue, alert.symbol, alert.kind)
        if alert.state == "resolved" and self.open.get(key) is alert:
            del self.open[key]

    def unresolved(self) -> list[Alert]:
        return [alert for alert in self.history if alert.state != "resolved"]

    def open_counts(self) -> dict[str, int]:
        counts = {severity: 0 for severity in SEVERITY_RANK}
        for alert in self.open.values():
            counts[alert.severity] += 1
        return counts

    # -- telling others -------------------------------------------------------------------------------
    def _record(self, alert: Alert, action: str, operator: str, reason: str | None) -> None:
        entry = AuditEntry(alert.id, self.clock(), alert.last_ts, action, operator, reason, alert.severity,
                           alert.state)
        for listener in self.audit_listeners:
            listener(entry)

    def _tell(self, alert: Alert, change: str) -> None:
        for listener in self.listeners:
            listener(alert, change)


def _required(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise LifecycleError(f"{what} is required")
    return text
