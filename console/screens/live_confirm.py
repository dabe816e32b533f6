"""The typed confirmation before live quoting: nothing is sent to the exchange until the operator types LIVE.

A yes/no key is too easy to hit by habit; typing the word is not. The screen lists what is at stake, for
every venue the run quotes on: the venue, the account (the API key masked to its last 4 characters) and
the instruments. One word arms every venue listed. Escape quits the console without trading.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from maker.live import LiveExchange

CONFIRM_WORD = "LIVE"


class LiveConfirmScreen(ModalScreen[bool]):
    """Dismisses True once the operator typed LIVE (or, with one venue, its name) and pressed enter; False on
    escape. Each venue at stake is (venue, account, instruments): the first as arguments, any others after."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Quit without trading")]

    def __init__(self, venue: str, account: str, instruments: list[str],
                 *more: tuple[str, str, list[str]]) -> None:
        super().__init__()
        self.stakes = [(venue, account, instruments), *more]
        self.words = (CONFIRM_WORD, venue) if not more else (CONFIRM_WORD,)  # a venue's name arms only itself

    @classmethod
    def for_venues(cls, venues: list[LiveExchange]) -> LiveConfirmScreen:
        """The confirmation for these live venues, each with its masked API key and the instruments it quotes."""
        stakes = [(v.venue.name, f"API key {v.credentials.masked_key}", [f"{v.venue.name}:{s}" for s in v.symbols])
                  for v in venues]
        return cls(*stakes[0], *stakes[1:])

    def compose(self) -> ComposeResult:
        box = Vertical(id="live-confirm-box", classes="modal-box")
        box.border_title = "LIVE QUOTING: real orders, real money"
        what = "\n\n".join(f"venue        {venue}\naccount      {account}\ninstruments  {', '.join(instruments)}"
                            for venue, account, instruments in self.stakes)
        if len(self.stakes) == 1:
            question = f"Type {CONFIRM_WORD} (or the venue name, {self.stakes[0][0]}) and press enter to start " \
                       "sending orders."
        else:
            question = f"Type {CONFIRM_WORD} and press enter to start sending orders on all {len(self.stakes)} venues."
        with box:
            yield Static(what, id="live-confirm-what")
            yield Static(question, id="live-confirm-question")
            yield Input(placeholder=CONFIRM_WORD, id="live-confirm-input")
            yield Static("", id="live-confirm-error")
            yield Static("enter: confirm    esc: quit without trading", classes="modal-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() in self.words:
            self.dismiss(True)
            return
        self.query_one("#live-confirm-error", Static).update(
            f"{event.value.strip()!r} is not {CONFIRM_WORD}: nothing was sent. Type it exactly, or esc to quit.")
        event.input.value = ""
