"""The yes/no question dangerous actions ask first (defensive mode, stop all, acknowledge all, quit)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    """`y` or `enter` answers yes, `n` or `escape` no; the question says what will happen."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes, do it"),
        Binding("n,escape", "answer(False)", "No, cancel"),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        box = Vertical(id="confirm-box", classes="modal-box")
        box.border_title = self.title_text
        with box:
            yield Static(self.question, id="confirm-question")
            yield Static("y / enter: yes    n / esc: no", id="confirm-keys", classes="modal-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
