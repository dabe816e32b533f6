"""An alert in full: what it measured, its evidence, who did what to it, and a chart of its metric.

The audit trail joins this session's entries (kept by the console's History) with the alert store's,
which hold what earlier runs did to a restored alert; the store is read in a worker, never on the frame.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from console.widgets.chart import Chart, Line, Panel
from console.widgets.fmt import fmt_value, market_clock
from console.widgets.history import History
from console.widgets.model import GLYPH, key_label
from detectors.alerts import Alert, AuditEntry
from detectors.store import connect
from detectors.store_schema import AUDIT_COLUMNS

CONTEXT_BEFORE_S = 120.0  # the mid chart starts this long before the alert was raised ...
CONTEXT_AFTER_S = 60.0  # ... and ends this long after its last signal
SELECT_AUDIT = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit WHERE alert_id = ? ORDER BY seq"


async def stored_audit(path: str, alert_id: str) -> list[AuditEntry]:
    """The alert's audit rows as the store has them (other runs' included)."""
    db = await connect(path)
    try:
        rows = await db.execute_fetchall(SELECT_AUDIT, (alert_id,))
    finally:
        await db.close()
    return [AuditEntry(*row) for row in rows]


def merge_audit(*trails: list[AuditEntry]) -> list[AuditEntry]:
    """One trail, in time order, each entry once (the store and memory both hold this session's)."""
    seen: dict[tuple, AuditEntry] = {}
    for trail in trails:
        for entry in trail:
            seen.setdefault((entry.at, entry.action, entry.operator, entry.reason), entry)
    return sorted(seen.values(), key=lambda entry: entry.at)


def wall_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def alert_panels(alert: Alert, history: History) -> tuple[Panel, ...]:
    """The alert's metric against its threshold since it was raised, and the instrument's mid around it.

    Times are seconds from the moment it was raised.
    """
    panels = []
    series = history.alert_values.get(alert.id)
    if series is not None and len(series):
        xs = tuple(t - alert.ts for t in series.ts)
        limit = Line((xs[0], xs[-1]), (alert.threshold, alert.threshold), marker="-")
        panels.append(Panel(f"{alert.kind} value (-- threshold), s from raise", (Line(xs, tuple(series.values)), limit)))
    mids = history.mids.get((alert.venue, alert.symbol)) if alert.symbol else None
    if mids is not None:
        ts, values = mids.between(alert.ts - CONTEXT_BEFORE_S, max(alert.last_ts, alert.ts) + CONTEXT_AFTER_S)
        if ts:
            panels.append(Panel("mid, s from raise", (Line(tuple(t - alert.ts for t in ts), values),)))
    return tuple(panels)


class AlertDetails(ModalScreen[None]):
    """`escape` closes; arrows or j/k scroll the text."""

    BINDINGS = [
        Binding("escape,enter", "dismiss", "Close details"),
        Binding("up,k", "scroll(-1)", "Scroll up"),
        Binding("down,j", "scroll(1)", "Scroll down"),
    ]

    def __init__(self, alert: Alert, history: History, store_path: str | None = None) -> None:
        super().__init__()
        self.alert = alert
        self.history = history
        self.store_path = store_path

    def compose(self) -> ComposeResult:
        alert = self.alert
        box = Vertical(id="details-box", classes="modal-box")
        box.border_title = f"alert {alert.id}"
        with box:
            with VerticalScroll(id="details-scroll"):
                yield Static(self._summary(), id="details-summary")
                yield Static(self._evidence(), id="details-evidence")
                yield Static(self._audit(self.history.audit.get(alert.id, [])), id="details-audit")
            yield Chart(id="details-chart")
            yield Static("esc: close    j/k: scroll", classes="modal-keys")

    def on_mount(self) -> None:
        self.query_one(Chart).show(alert_panels(self.alert, self.history))
        if self.store_path is not None:
            self.run_worker(self._load_stored_audit(), exclusive=True)

    async def _load_stored_audit(self) -> None:
        try:
            stored = await stored_audit(self.store_path, self.alert.id)
        except Exception as exc:  # noqa: BLE001  an unreadable store must not break the screen: say so instead
            self.query_one("#details-audit", Static).update(
                Content.assemble(self._audit(self.history.audit.get(self.alert.id, [])),
                                 (f"\n  (store not readable: {exc})", "$warning")))
            return
        trail = merge_audit(stored, self.history.audit.get(self.alert.id, []))
        self.query_one("#details-audit", Static).update(self._audit(trail))

    def _summary(self) -> Content:
        alert = self.alert
        severity = {"critical": "bold $error", "warning": "bold $warning", "info": "$primary"}[alert.severity]
        z = "" if alert.zscore is None else f"   z {alert.zscore:.1f}"
        lines = [
            Content.assemble((f"{GLYPH[alert.severity]} {alert.severity}", severity), f"  {alert.kind}  ",
                             (key_label(alert.venue, alert.symbol), "bold"), f"   state {alert.state}"),
            Content(f"raised {market_clock(alert.ts)}   last signal {market_clock(alert.last_ts or alert.ts)}"
                    f"   signals {alert.count}"),
            Content(f"value {fmt_value(alert.value)} vs threshold {fmt_value(alert.threshold)}{z}"),
            Content(alert.message),
        ]
        if alert.acked_by:
            lines.append(Content(f"acknowledged by {alert.acked_by} at {wall_time(alert.acked_at)}"))
        if alert.resolved_by:
            lines.append(Content(f"resolved by {alert.resolved_by} at {wall_time(alert.resolved_at)}: "
                                 f"{alert.resolution}"))
        return Content("\n").join(lines)

    def _evidence(self) -> Content:
        lines = [Content.styled("evidence", "bold $accent")]
        lines += [Content(f"  {name}: {_show(value)}") for name, value in self.alert.evidence.items()]
        if not self.alert.evidence:
            lines.append(Content("  none recorded"))
        return Content("\n").join(lines)

    @staticmethod
    def _audit(trail: list[AuditEntry]) -> Content:
        lines = [Content.styled("audit trail (UTC)", "bold $accent")]
        for entry in trail:
            reason = f": {entry.reason}" if entry.reason else ""
            lines.append(Content(f"  {wall_time(entry.at)}  {entry.action:<12} {entry.operator}{reason}"))
        if not trail:
            lines.append(Content("  nothing recorded this session"))
        return Content("\n").join(lines)

    def action_scroll(self, direction: int) -> None:
        self.query_one("#details-scroll", VerticalScroll).scroll_relative(y=direction, animate=False)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(item) for item in value)
    return str(value)
