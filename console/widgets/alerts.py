"""The alerts view: every alert raised this run, newest first, one row per alert id.

Rows are added when alerts appear and updated cell by cell while they can still change (until they
are resolved), so a frame costs the number of live alerts, not the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from console.widgets.fmt import fmt_value, market_clock
from console.widgets.model import GLYPH, key_label
from console.widgets.table import Table
from detectors.alerts import SEVERITIES, Alert
from detectors.engine import AlertEngine

COLUMNS = (("time", "time"), ("severity", "sev"), ("instrument", "instrument"), ("kind", "kind"),
           ("value", "value/limit"), ("count", "n"), ("state", "state"))  # (key, label)
SEVERITY_WORD = {"info": "info", "warning": "warn", "critical": "crit"}


@dataclass(frozen=True, order=True)
class MarketTime:
    """A time cell that shows HH:MM:SS but sorts by the full timestamp, then by arrival."""

    ts: float
    seq: int

    def __str__(self) -> str:
        return market_clock(self.ts)


class AlertsTable(Table):
    """The engine's alert history as rows keyed by alert id."""

    COMPONENT_CLASSES = {f"alerts--{severity}" for severity in SEVERITIES} | {"alerts--resolved"}

    def __init__(self, engine: AlertEngine, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.engine = engine
        self._seen = 0  # alerts of engine.history already in the table
        self._live: dict[str, tuple[Alert, tuple]] = {}  # id -> (alert, values drawn) while it can still change

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(Text(label, justify="right") if key in ("value", "count") else label, key=key)

    def sync(self) -> None:
        for alert_id, (alert, shown) in list(self._live.items()):
            values = _values(alert)
            for (key, _), old, new in zip(COLUMNS[1:], shown, values):
                if old != new:
                    self.update_cell(alert_id, key, self._cell(key, new, alert), update_width=True)
            if alert.state == "resolved":
                del self._live[alert_id]
            else:
                self._live[alert_id] = (alert, values)
        new_alerts = self.engine.history[self._seen:]
        for alert in new_alerts:
            values = _values(alert)
            cells = [self._cell(key, value, alert) for (key, _), value in zip(COLUMNS[1:], values)]
            self.add_row(MarketTime(alert.ts, self._seen), *cells, key=alert.id)
            self._seen += 1
            if alert.state != "resolved":
                self._live[alert.id] = (alert, values)
        if new_alerts:
            self.sort("time", reverse=True)

    def _cell(self, column: str, value: str, alert: Alert) -> str | Text:
        """The severity as glyph and word, coloured by severity (dimmed once resolved); numbers to the right."""
        if column in ("value", "count"):
            return Text(value, justify="right")
        if column != "severity":
            return value
        style = "alerts--resolved" if alert.state == "resolved" else f"alerts--{alert.severity}"
        return Text(f"{GLYPH[alert.severity]} {SEVERITY_WORD[alert.severity]}",
                    self.get_component_rich_style(style, partial=True))


def _values(alert: Alert) -> tuple[str, ...]:
    """Every column but the time (which never changes), as plain values to compare between frames."""
    return (f"{alert.severity} {alert.state}", key_label(alert.venue, alert.symbol), alert.kind,
            f"{fmt_value(alert.value)}/{fmt_value(alert.threshold)}", str(alert.count), alert.state)
