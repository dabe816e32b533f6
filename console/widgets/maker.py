"""The maker view, before the market maker exists: what it would quote, honestly labelled as stopped.

With `maker.instruments` empty every instrument is listed as "maker not configured"; otherwise the
configured ones are listed as "quoting not started". Mid and spread are real, from the books.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.runtime import Runtime
from console.widgets.fmt import DASH, fmt_bps, fmt_price, price_decimals
from console.widgets.model import Key, key_label, ordered_keys
from console.widgets.table import Table
from maker.settings import MakerSettings

COLUMNS = (("instrument", "instrument"), ("state", "state"), ("reason", "reason"), ("mid", "mid"),
           ("spread", "spread bp"))  # (key, label)


class MakerView(Vertical):
    """A note on the maker's state above a row per instrument it would quote."""

    def __init__(self, runtime: Runtime, settings: MakerSettings, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        self.settings = settings
        self._shown: dict[Key, tuple[str, str]] = {}  # key -> (mid, spread) last drawn

    def compose(self) -> ComposeResult:
        configured = ", ".join(self.settings.instruments) or "none configured (maker.instruments)"
        yield Static(f"maker STOPPED · {self.settings.mode} mode · instruments: {configured}", id="maker-note")
        yield Table(id="maker-table")

    def on_mount(self) -> None:
        table = self.query_one(Table)
        for key, label in COLUMNS:
            table.add_column(Text(label, justify="right") if key in ("mid", "spread") else label, key=key)

    def _keys(self) -> list[Key]:
        if not self.settings.instruments:
            return ordered_keys(self.runtime)
        return [tuple(key.split(":", 1)) for key in self.settings.instruments]

    def sync(self) -> None:
        table = self.query_one(Table)
        reason = "quoting not started" if self.settings.instruments else "maker not configured"
        for key in self._keys():
            state = self.runtime.instruments.get(key)
            if state is None:
                values = (DASH, DASH)
            else:
                decimals = price_decimals(state.settings.tick_size)
                values = (fmt_price(state.book.mid(), decimals + 1), fmt_bps(state.book.spread_bps()))
            cells = tuple(Text(value, justify="right") for value in values)
            row = key_label(*key)
            shown = self._shown.get(key)
            if shown is None:
                table.add_row(row, "STOPPED", reason, *cells, key=row)
            elif shown != values:
                table.update_cell(row, "mid", cells[0], update_width=True)
                table.update_cell(row, "spread", cells[1], update_width=True)
            self._shown[key] = values
