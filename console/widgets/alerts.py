"""The alert desk: every alert of this run (and those restored from the store), newest first, one row per id.

The table hears which alerts changed from the engine and, once a frame, redraws only their cells, adds
the new ones and drops those the filters no longer match, so a frame costs the alerts that changed, not
the length of the history. The cursor stays on the same alert while rows come and go above it, so `a`
always acknowledges the alert the operator is looking at.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input

from console.screens.confirm import ConfirmScreen
from console.screens.details import AlertDetails
from console.screens.resolve import ResolveScreen
from console.widgets.fmt import fmt_value, market_clock
from console.widgets.history import History
from console.widgets.model import GLYPH, key_label
from console.widgets.table import Table
from console.widgets.text import TextLine
from detectors.alerts import SEVERITIES, SEVERITY_RANK, Alert, LifecycleError
from detectors.engine import AlertEngine

# (key, label): when, how bad, whether still live, where, what, then the numbers and the owner.
COLUMNS = (("time", "time"), ("severity", "sev"), ("state", "state"), ("instrument", "instrument"),
           ("kind", "kind"), ("value", "value/limit"), ("count", "n"), ("owner", "owner"))
NUMERIC = ("value", "count")
SEVERITY_WORD = {"info": "info", "warning": "warn", "critical": "crit"}
STATE_WORD = {"acknowledged": "acked"}  # the rest fit as they are
GAP = " "  # between columns: DataTable's padding (one each side) would take 16 of 80 columns
ACKABLE = ("open", "escalated")
# The state filter's choices, in the order `t` cycles through them: name -> states shown (None: all).
STATE_FILTERS: dict[str, tuple[str, ...] | None] = {
    "all": None, "unresolved": ("open", "escalated", "acknowledged"), "unacked": ACKABLE,
    "acked": ("acknowledged",), "resolved": ("resolved",)}
SEVERITY_FILTERS = (None, "warning", "critical")  # minimum severity, in the order `v` cycles


@dataclass(frozen=True)
class DeskFilter:
    """What the desk shows: a minimum severity, a state group, one kind, and text anywhere in the row."""

    severity: str | None = None
    state: str = "all"
    kind: str | None = None
    text: str = ""

    def matches(self, alert: Alert) -> bool:
        if self.severity is not None and SEVERITY_RANK[alert.severity] < SEVERITY_RANK[self.severity]:
            return False
        states = STATE_FILTERS[self.state]
        if states is not None and alert.state not in states:
            return False
        if self.kind is not None and alert.kind != self.kind:
            return False
        if self.text:
            row = f"{alert.id} {key_label(alert.venue, alert.symbol)} {alert.kind} {alert.message} {owner(alert)}"
            return self.text.lower() in row.lower()
        return True

    def describe(self) -> str:
        parts = [f"severity {'all' if self.severity is None else self.severity + '+'}", f"state {self.state}",
                 f"kind {self.kind or 'all'}"]
        if self.text:
            parts.append(f"text “{self.text}”")
        return " · ".join(parts)


def owner(alert: Alert) -> str:
    """Who has the alert: whoever acknowledged it, else whoever resolved it."""
    return alert.acked_by or alert.resolved_by or ""


@dataclass(frozen=True, order=True)
class MarketTime:
    """A time cell that shows HH:MM:SS but sorts by the full timestamp, then by arrival."""

    ts: float
    seq: int

    def __str__(self) -> str:
        return GAP + market_clock(self.ts)


class AlertsTable(Table):
    """The engine's alerts that match `filter`, as rows keyed by alert id."""

    COMPONENT_CLASSES = {f"alerts--{severity}" for severity in SEVERITIES} | {"alerts--resolved"}

    def __init__(self, engine: AlertEngine, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cell_padding = 0
        self.engine = engine
        self.filter = DeskFilter()
        self._seen = 0  # alerts of engine.history already looked at
        self._order: dict[str, int] = {}  # alert id -> arrival number, for ties in the time sort
        self._shown: dict[str, tuple[str, ...]] = {}  # alert id -> values drawn in its row
        self._dirty: set[str] = set()  # alerts changed since the last sync

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(Text(GAP + label, justify="right" if key in NUMERIC else "left"), key=key)
        self.engine.listeners.append(self._changed)

    def on_unmount(self) -> None:
        if self._changed in self.engine.listeners:
            self.engine.listeners.remove(self._changed)

    def _changed(self, alert: Alert, change: str) -> None:
        self._dirty.add(alert.id)

    # -- following the engine -----------------------------------------------------------------------
    def sync(self) -> None:
        """New alerts, changed alerts and alerts that stopped or started matching the filter."""
        history = self.engine.history
        new = history[self._seen:]
        if not new and not self._dirty:
            return
        selected = self.selected_id()
        added = False
        for alert in new:
            self._order[alert.id] = self._seen
            self._seen += 1
            added |= self._place(alert)
        dirty, self._dirty = self._dirty, set()
        for alert_id in dirty:
            alert = self.engine.by_id.get(alert_id)
            if alert is not None and alert_id in self._order:
                added |= self._place(alert)
        if added:
            self.sort("time", reverse=True)
        self._keep_cursor(selected)

    def set_filter(self, desk_filter: DeskFilter) -> None:
        """Show what the new filter matches, keeping the cursor on the same alert where it can."""
        selected = self.selected_id()
        self.filter = desk_filter
        self.clear()
        self._shown.clear()
        for alert in self.engine.history[:self._seen]:
            self._place(alert)
        self.sort("time", reverse=True)
        self._keep_cursor(selected)

    def _place(self, alert: Alert) -> bool:
        """Add, update or remove the alert's row; True when a row was added (the order must be sorted)."""
        shown = self._shown.get(alert.id)
        if not self.filter.matches(alert):
            if shown is not None:
                self.remove_row(alert.id)
                del self._shown[alert.id]
            return False
        values = _values(alert)
        if shown is None:
            cells = [self._cell(key, value, alert) for (key, _), value in zip(COLUMNS[1:], values)]
            self.add_row(MarketTime(alert.ts, self._order[alert.id]), *cells, key=alert.id)
            self._shown[alert.id] = values
            return True
        for (key, _), old, new in zip(COLUMNS[1:], shown, values):
            if old != new:
                self.update_cell(alert.id, key, self._cell(key, new, alert), update_width=True)
        self._shown[alert.id] = values
        return False

    def _keep_cursor(self, alert_id: str | None) -> None:
        if alert_id is not None and alert_id in self._shown:
            row = self.get_row_index(alert_id)
            if row != self.cursor_row:
                self.move_cursor(row=row, animate=False)

    def _cell(self, column: str, value: str, alert: Alert) -> Text:
        """The severity as glyph and word, coloured by severity (dimmed once resolved); numbers to the right."""
        if column == "severity":
            style = "alerts--resolved" if alert.state == "resolved" else f"alerts--{alert.severity}"
            return Text(f"{GAP}{GLYPH[alert.severity]} {SEVERITY_WORD[alert.severity]}",
                        self.get_component_rich_style(style, partial=True))
        return Text(GAP + value, justify="right" if column in NUMERIC else "left")

    # -- what the operator has in front of them -----------------------------------------------------
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def selected(self) -> Alert | None:
        alert_id = self.selected_id()
        return None if alert_id is None else self.engine.by_id.get(alert_id)

    def shown(self) -> list[Alert]:
        """The alerts with a row, top to bottom."""
        by_id = self.engine.by_id
        return [by_id[row.key.value] for row in self.ordered_rows]


def _values(alert: Alert) -> tuple[str, ...]:
    """Every column but the time (which never changes), as plain values to compare between frames."""
    return (f"{alert.severity} {alert.state}", STATE_WORD.get(alert.state, alert.state),
            key_label(alert.venue, alert.symbol), alert.kind,
            f"{fmt_value(alert.value)}/{fmt_value(alert.threshold)}", str(alert.count), owner(alert) or "-")


class AlertsView(Vertical):
    """The desk: a filter line, the table, and the `/` text filter that opens at the bottom."""

    BINDINGS = [
        Binding("a", "acknowledge", "Ack"),
        Binding("A", "acknowledge_all", "Ack all shown"),
        Binding("r", "resolve", "Resolve"),
        Binding("enter", "details", "Details"),
        Binding("v", "cycle_severity", "Severity filter", show=False),
        Binding("t", "cycle_state", "State filter", show=False),
        Binding("n", "cycle_kind", "Kind filter", show=False),
        Binding("slash", "search", "Text filter"),
        Binding("c", "clear_filters", "Clear filters", show=False),
        Binding("escape", "close_search", "Close the text filter", show=False),
    ]

    def __init__(self, engine: AlertEngine, history: History, operator: str, store_path: str | None = None,
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.engine = engine
        self.history = history
        self.operator = operator
        self.store_path = store_path
        self._bindings_state: tuple | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(id="alerts-filter")
        yield AlertsTable(self.engine, id="alerts-table")
        yield Input(placeholder="text filter: id, instrument, kind, message, owner", id="alerts-search")

    @property
    def table(self) -> AlertsTable:
        return self.query_one(AlertsTable)

    def sync(self) -> None:
        table = self.table
        table.sync()
        self.query_one("#alerts-filter", TextLine).show(
            f"{table.row_count} of {len(self.engine.history)} alerts · {table.filter.describe()}"
            "   (v t n / c: filters)")
        selected = table.selected()
        state = (selected and selected.id, selected and selected.state,
                 any(alert.state in ACKABLE for alert in table.shown()))
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._bindings_state = None  # the selection moved: the footer's greyed keys may change
        self.sync()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Greyed out in the footer (None) when the selected alert does not allow it."""
        if action == "close_search":
            return self.query_one("#alerts-search", Input).display
        selected = self.table.selected() if self.is_mounted else None
        if action == "acknowledge":
            return selected is not None and selected.state in ACKABLE or None
        if action == "resolve":
            return selected is not None and selected.state != "resolved" or None
        if action == "details":
            return selected is not None or None
        if action == "acknowledge_all":
            return any(alert.state in ACKABLE for alert in self.table.shown()) or None
        return True

    # -- lifecycle actions --------------------------------------------------------------------------
    def action_acknowledge(self) -> None:
        alert = self.table.selected()
        if alert is not None:
            self._lifecycle(self.engine.acknowledge, alert.id, self.operator)

    def action_acknowledge_all(self) -> None:
        targets = [alert for alert in self.table.shown() if alert.state in ACKABLE]
        if not targets:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                for alert in targets:
                    if alert.state in ACKABLE:  # one may have resolved while the question was open
                        self._lifecycle(self.engine.acknowledge, alert.id, self.operator)
                self.notify(f"acknowledged {len(targets)} alerts as {self.operator}")

        self.app.push_screen(ConfirmScreen("acknowledge all shown",
                                           f"Acknowledge the {len(targets)} unacknowledged alerts shown "
                                           f"({self.table.filter.describe()}) as {self.operator}?"), answered)

    def action_resolve(self) -> None:
        alert = self.table.selected()
        if alert is None:
            return

        def resolved(reason: str | None) -> None:
            if reason:
                self._lifecycle(self.engine.resolve, alert.id, self.operator, reason)

        self.app.push_screen(ResolveScreen(alert), resolved)

    def action_details(self) -> None:
        alert = self.table.selected()
        if alert is not None:
            self.app.push_screen(AlertDetails(alert, self.history, self.store_path))

    def _lifecycle(self, change, *args) -> None:
        try:
            change(*args)
        except LifecycleError as exc:
            self.notify(str(exc), title="not done", severity="warning")
        self.sync()

    # -- filters ------------------------------------------------------------------------------------
    def _filter(self, **changes) -> None:
        self.table.set_filter(replace(self.table.filter, **changes))
        self.sync()

    def action_cycle_severity(self) -> None:
        current = SEVERITY_FILTERS.index(self.table.filter.severity)
        self._filter(severity=SEVERITY_FILTERS[(current + 1) % len(SEVERITY_FILTERS)])

    def action_cycle_state(self) -> None:
        names = list(STATE_FILTERS)
        self._filter(state=names[(names.index(self.table.filter.state) + 1) % len(names)])

    def action_cycle_kind(self) -> None:
        """Through the kinds present, in the order they first appeared, then back to all."""
        kinds: list[str | None] = [None, *dict.fromkeys(alert.kind for alert in self.engine.history)]
        current = self.table.filter.kind
        index = kinds.index(current) if current in kinds else 0
        self._filter(kind=kinds[(index + 1) % len(kinds)])

    def action_clear_filters(self) -> None:
        self.query_one("#alerts-search", Input).value = ""
        self._filter(severity=None, state="all", kind=None, text="")

    def action_search(self) -> None:
        search = self.query_one("#alerts-search", Input)
        search.display = True
        search.focus()
        self.refresh_bindings()

    def action_close_search(self) -> None:
        """`escape` in the text filter: drop the text and go back to the table."""
        search = self.query_one("#alerts-search", Input)
        search.value = ""
        self._hide_search()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._filter(text=event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """`enter` keeps the text filter and goes back to the table."""
        event.stop()
        self._hide_search()

    def _hide_search(self) -> None:
        search = self.query_one("#alerts-search", Input)
        search.display = False
        self.table.focus()
        self.refresh_bindings()
