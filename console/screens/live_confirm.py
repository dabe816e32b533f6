"""The typed confirmation before live quoting: nothing is sent to the exchange until the operator types LIVE.

A yes/no key is too easy to hit by habit; typing the word is not. The screen lists what is at stake:
the venue, the account (the exchange's account id when known, and the API key masked to its last 4
characters) and the instruments. Escape quits the console without trading.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

CONFIRM_WORD = "LIVE"


class LiveConfirmScreen(ModalScreen[bool]):
    """Dismisses True once the operator typed LIVE (or the venue's name) and pressed enter; False on escape."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Quit without trading")]

    def __init__(self, venue: str, account: str, instruments: list[str]) -> None:
        super().__init__()
        self.venue = venue
        self.account = account
        self.instruments = instruments

    def compose(self) -> ComposeResult:
        box = Vertical(id="live-confirm-box", classes="modal-box")
        box.border_title = "LIVE QUOTING: real orders, real money"
        with box:
            yield Static(f"venue        {self.venue}\naccount      {self.account}\n"
                         f"instruments  {', '.join(self.instruments)}", id="live-confirm-what")
            yield Static(f"Type {CONFIRM_WORD} (or the venue name, {self.venue}) and press enter to start "
                         "sending orders.", id="live-confirm-question")
            yield Input(placeholder=CONFIRM_WORD, id="live-confirm-input")
            yield Static("", id="live-confirm-error")
            yield Static("enter: confirm    esc: quit without trading", classes="modal-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() in (CONFIRM_WORD, self.venue):
            self.dismiss(True)
            return
        self.query_one("#live-confirm-error", Static).update(
            f"{event.value.strip()!r} is not {CONFIRM_WORD}: nothing was sent. Type it exactly, or esc to quit.")
        event.input.value = ""
