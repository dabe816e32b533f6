"""The resolve form: an alert is closed only with a reason, which goes into its audit trail."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.widgets.model import key_label
from detectors.alerts import Alert

MAX_REASON = 200


class ResolveScreen(ModalScreen[str | None]):
    """Type the reason and press enter; an empty reason is refused. Dismisses with the reason, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel, keep the alert")]

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        alert = self.alert
        box = Vertical(id="resolve-box", classes="modal-box")
        box.border_title = "resolve alert"
        with box:
            yield Static(f"{alert.id}  {alert.severity} {alert.kind} on {key_label(alert.venue, alert.symbol)}\n"
                         f"{alert.message}", id="resolve-alert")
            yield Input(placeholder="why is it resolved? (required)", max_length=MAX_REASON, id="resolve-reason")
            yield Static("", id="resolve-error")
            yield Static("enter: resolve    esc: cancel", classes="modal-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if not reason:
            self.query_one("#resolve-error", Static).update("a reason is required")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
