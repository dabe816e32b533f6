"""The read-only table the alerts and maker views share."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class Table(DataTable, inherit_bindings=False):
    """A read-only row-cursor table: only the movement keys, with vi keys too."""

    BINDINGS = [
        Binding("up,k", "cursor_up", "Previous row", show=False),
        Binding("down,j", "cursor_down", "Next row", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
