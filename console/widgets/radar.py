"""The radar: every instrument against every detector family, in one Line-API widget.

A row per instrument (grouped by market under a heading line), a column per detector family whose
cell shows the worst state of that family's detectors, then a summary (last, change, spread, rate).
Each frame rebuilds the small row models and repaints only the lines whose model changed.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.runtime import Runtime
from console.widgets.fmt import fmt_bps, fmt_pct, fmt_price, fmt_rate, price_decimals
from console.widgets.model import CELL_STATES, Cell, Key, family_cells, families, key_label, ordered_keys

MARKER = "▸ "  # the cursor row's first column, visible without colour
CELL_MIN = 7  # wide enough for "~ 30/30" and "X crit"
SUMMARY = (("last", 12), ("chg", 8), ("spr bp", 7), ("ev/s", 6))  # (title, width), right-aligned
REVERSE = Style(reverse=True)  # the cursor cell, visible without colour


class Heading(NamedTuple):
    market: str


class Row(NamedTuple):
    key: Key
    label: str
    cells: tuple[Cell | None, ...]  # None: the instrument has no detector of that family
    summary: tuple[str, ...]


class Radar(ScrollView, can_focus=True, inherit_bindings=False):
    """Instruments x detector families. Arrows or hjkl move the cursor; enter opens the instrument's book."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Previous instrument"),
        Binding("down,j", "move(1)", "Next instrument"),
        Binding("left,h", "move_column(-1)", "Previous detector family"),
        Binding("right,l", "move_column(1)", "Next detector family"),
        Binding("pageup", "page(-1)", "Page up"),
        Binding("pagedown", "page(1)", "Page down"),
        Binding("home", "first", "First instrument"),
        Binding("end", "last", "Last instrument"),
        Binding("enter", "open_book", "Open the book"),
    ]
    COMPONENT_CLASSES = {"radar--header", "radar--heading", "radar--cursor", "radar--up", "radar--down"} | {
        f"radar--{state}" for state in CELL_STATES
    }

    cursor_column: reactive[int] = reactive(0)

    class OpenBook(Message):
        """The operator asked for the book of `key`."""

        def __init__(self, key: Key) -> None:
            super().__init__()
            self.key = key

    def __init__(self, runtime: Runtime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        self.families: list[str] = []
        self._lines: list[Heading | Row] = []
        self._row_lines: list[int] = []  # indices into _lines of the instrument rows, top to bottom
        self._widths: tuple[int, list[int]] = (0, [])  # label width, family column widths
        self.selected: Key | None = None

    # -- model ----------------------------------------------------------------------------------------
    def sync(self) -> None:
        """Rebuild the row models from the runtime; repaint the lines that changed."""
        runtime = self.runtime
        families_now = families(runtime)
        cells = family_cells(runtime)
        lines: list[Heading | Row] = []
        market = None
        for key in ordered_keys(runtime):
            state = runtime.instruments[key]
            if state.settings.market != market:
                market = state.settings.market
                lines.append(Heading(market))
            decimals = price_decimals(state.settings.tick_size)
            summary = (fmt_price(state.last_price, decimals), fmt_pct(state.change_pct),
                       fmt_bps(state.book.spread_bps()), fmt_rate(state.rate))
            row_cells = tuple(cells[key].get(family) for family in families_now)
            lines.append(Row(key, key_label(*key), row_cells, summary))
        if families_now != self.families or _shape(lines) != _shape(self._lines):
            self._set_lines(families_now, lines)
            return
        for index, (old, new) in enumerate(zip(self._lines, lines)):
            if old != new:
                self._lines[index] = new
                self.refresh_line(index + 1)

    def _set_lines(self, families_now: list[str], lines: list[Heading | Row]) -> None:
        """New layout: instruments or families came or went."""
        self.families = families_now
        self._lines = lines
        self._row_lines = [i for i, line in enumerate(lines) if isinstance(line, Row)]
        rows = [lines[i] for i in self._row_lines]
        label_width = max([len("instrument")] + [len(row.label) for row in rows])
        family_widths = [max(CELL_MIN, len(family)) for family in families_now]
        self._widths = (label_width, family_widths)
        width = len(MARKER) + label_width + sum(w + 1 for w in family_widths) + sum(w + 1 for _, w in SUMMARY)
        self.virtual_size = Size(width, len(lines) + 1)
        if self.selected not in {row.key for row in rows}:
            self.selected = rows[0].key if rows else None
        self.cursor_column = min(self.cursor_column, max(len(families_now) - 1, 0))
        self.refresh()

    # -- cursor ---------------------------------------------------------------------------------------
    def _cursor_index(self) -> int:
        """Position of the selected instrument among the rows."""
        for index, line in enumerate(self._row_lines):
            if self._lines[line].key == self.selected:
                return index
        return 0

    def _select(self, index: int) -> None:
        """Put the cursor on row `index` (clamped) and keep it in view."""
        if not self._row_lines:
            return
        index = max(0, min(len(self._row_lines) - 1, index))
        self.selected = self._lines[self._row_lines[index]].key
        self._scroll_to_cursor()
        self.refresh()

    def action_move(self, delta: int) -> None:
        self._select(self._cursor_index() + delta)

    def action_page(self, direction: int) -> None:
        self._select(self._cursor_index() + direction * max(self.scrollable_content_region.height - 2, 1))

    def action_first(self) -> None:
        self._select(0)

    def action_last(self) -> None:
        self._select(len(self._row_lines) - 1)

    def action_move_column(self, delta: int) -> None:
        if self.families:
            self.cursor_column = max(0, min(len(self.families) - 1, self.cursor_column + delta))

    def watch_cursor_column(self) -> None:
        label_width, family_widths = self._widths
        left = len(MARKER) + label_width + sum(w + 1 for w in family_widths[:self.cursor_column])
        right = left + 1 + (family_widths[self.cursor_column] if family_widths else 0)
        visible = self.scrollable_content_region.width
        if left < self.scroll_x:
            self.scroll_to(x=left, animate=False)
        elif right > self.scroll_x + visible:
            self.scroll_to(x=right - visible, animate=False)
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        """Keep the cursor row inside the lines below the fixed column header."""
        line = self._row_lines[self._cursor_index()]
        visible = max(self.scrollable_content_region.height - 1, 1)
        if line == self._row_lines[0]:
            line = 0  # show the first market's heading too
        if line < self.scroll_y:
            self.scroll_to(y=line, animate=False)
        elif line >= self.scroll_y + visible:
            self.scroll_to(y=line - visible + 1, animate=False)

    def action_open_book(self) -> None:
        if self.selected is not None:
            self.post_message(self.OpenBook(self.selected))

    # -- drawing --------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """Line 0 is the column header, fixed; the rest scroll."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            segments = self._header_segments()
        else:
            index = y - 1 + scroll_y
            if index >= len(self._lines):
                return Strip.blank(width, base)
            line = self._lines[index]
            segments = self._heading_segments(line) if isinstance(line, Heading) else self._row_segments(line)
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)

    def _header_segments(self) -> list[Segment]:
        label_width, family_widths = self._widths
        text = " " * len(MARKER) + "instrument".ljust(label_width)
        text += "".join(" " + family.ljust(w) for family, w in zip(self.families, family_widths))
        text += "".join(" " + title.rjust(w) for title, w in SUMMARY)
        return [Segment(text, self.get_component_rich_style("radar--header"))]

    def _heading_segments(self, heading: Heading) -> list[Segment]:
        title = f"── {heading.market} "
        return [Segment(title + "─" * max(self.virtual_size.width - len(title), 0),
                        self.get_component_rich_style("radar--heading"))]

    def _row_segments(self, row: Row) -> list[Segment]:
        """The label, a cell per family, the summary; state colours go over the row's (cursor) background."""
        label_width, family_widths = self._widths
        selected = row.key == self.selected
        style = self.get_component_rich_style("radar--cursor") if selected else self.rich_style
        background = Style(bgcolor=style.bgcolor)  # full component styles carry the widget's background
        segments = [Segment((MARKER if selected else " " * len(MARKER)) + row.label.ljust(label_width), style)]
        for column, (cell, w) in enumerate(zip(row.cells, family_widths)):
            segments.append(Segment(" ", style))
            if cell is None:
                segments.append(Segment(" " * w, style))
                continue
            cell_style = self.get_component_rich_style(f"radar--{cell.state}") + background
            if selected and column == self.cursor_column:
                cell_style += REVERSE
            segments.append(Segment(cell.text.ljust(w), cell_style))
        for value, (title, w) in zip(row.summary, SUMMARY):
            value_style = style
            if title == "chg" and value[:1] in "+-":
                direction = "radar--up" if value[0] == "+" else "radar--down"
                value_style = self.get_component_rich_style(direction) + background
            segments.append(Segment(" " + value.rjust(w), value_style))
        return segments


def _shape(lines: list[Heading | Row]) -> list[str | Key]:
    """What decides the layout: the headings and instruments, in order."""
    return [line.market if isinstance(line, Heading) else line.key for line in lines]
