"""The alert engine: turns detector signals into alerts, one open alert per instrument and kind.

A repeated signal updates the open alert (count, last value) instead of creating a new one; a higher
severity escalates it and is announced again under the same id; an all-clear resolves it.
"""

from __future__ import annotations

from typing import Callable

from detectors.alerts import SEVERITY_RANK, Alert, Signal, alert_id

AlertListener = Callable[[Alert, str], None]  # (alert, change) with change in opened/escalated/updated/cleared


class AlertEngine:
    def __init__(self) -> None:
        self.open: dict[tuple[str, str | None, str], Alert] = {}
        self.history: list[Alert] = []  # every alert raised this run, newest last
        self.listeners: list[AlertListener] = []

    def submit(self, signal: Signal) -> None:
        key = (signal.venue, signal.symbol, signal.kind)
        alert = self.open.get(key)
        if signal.severity is None:
            if alert is not None:
                del self.open[key]
                alert.state = "resolved"
                alert.last_ts = signal.ts
                self._tell(alert, "cleared")
            return
        if alert is None:
            alert = Alert(alert_id(signal.venue, signal.symbol, signal.kind, signal.ts), signal.ts, signal.venue,
                          signal.symbol, signal.kind, signal.severity, signal.value, signal.threshold,
                          signal.zscore, signal.message, last_ts=signal.ts, evidence=signal.evidence)
            self.open[key] = alert
            self.history.append(alert)
            self._tell(alert, "opened")
            return
        escalated = SEVERITY_RANK[signal.severity] > SEVERITY_RANK[alert.severity]
        alert.count += 1
        alert.last_ts = signal.ts
        alert.value = signal.value
        alert.zscore = signal.zscore
        alert.evidence = signal.evidence
        if escalated:
            alert.severity = signal.severity
            alert.threshold = signal.threshold
            alert.message = signal.message
            alert.state = "escalated"
            self._tell(alert, "escalated")
        else:
            self._tell(alert, "updated")

    def open_counts(self) -> dict[str, int]:
        counts = {severity: 0 for severity in SEVERITY_RANK}
        for alert in self.open.values():
            counts[alert.severity] += 1
        return counts

    def _tell(self, alert: Alert, change: str) -> None:
        for listener in self.listeners:
            listener(alert, change)
