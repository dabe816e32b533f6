"""The radar: every instrument against every detector family, in one Line-API widget.

Rows are instruments under a heading per market and venue; a column per detector family holds the
glyph of the worst state of that family's detectors (colour too, but the glyph alone reads), then a
summary (last, change, spread, rate). The bottom line spells out the cell under the cursor. Glyphs
keep the grid inside 80 columns however many families there are; the words live on the detail line.
Each frame rebuilds the small row models and repaints only the lines whose model changed.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.runtime import Runtime
from console.widgets.focus import RestyledOnFocusOnlyIfStyled
from console.widgets.fmt import fmt_bps, fmt_pct, fmt_price, fmt_rate, price_decimals
from console.widgets.text import BaseStyleCache
from console.widgets.model import CELL_STATES, GLYPH, Cell, Key, families, instrument_cells, key_label, ordered_keys

MARKER = "▸ "  # the cursor row's first column, visible without colour
SUMMARY = (("last", 10), ("chg", 7), ("bps", 5), ("ev/s", 5))  # (title, width), right-aligned; bps: spread
REVERSE = Style(reverse=True)  # the cursor cell, visible without colour
FIXED_LINES = 2  # the column header on top, the detail line at the bottom


class Heading(NamedTuple):
    market: str
    venue: str
    session: str  # the market's session state; shown in capitals unless `open`


class Row(NamedTuple):
    key: Key
    cells: tuple[Cell | None, ...]  # None: the instrument has no detector of that family
    summary: tuple[str, ...]


class Radar(RestyledOnFocusOnlyIfStyled, BaseStyleCache, ScrollView, can_focus=True, inherit_bindings=False):
    """Instruments x detector families. Arrows or hjkl move the cursor; enter opens the instrument's book."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Previous instrument", show=False),
        Binding("down,j", "move(1)", "Next instrument", show=False),
        Binding("left,h", "move_column(-1)", "Previous detector family", show=False),
        Binding("right,l", "move_column(1)", "Next detector family", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First instrument", show=False),
        Binding("end", "last", "Last instrument", show=False),
        Binding("enter", "open_book", "Open book"),
    ]
    COMPONENT_CLASSES = {"radar--header", "radar--heading", "radar--cursor", "radar--detail", "radar--up",
                         "radar--down"} | {f"radar--{state}" for state in CELL_STATES}

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
        self._label_width = 0
        self._stamps: list[int] = []  # per line, the frame its row model was last computed in
        self._frame = 0
        self._instrument_count = -1
        self.selected: Key | None = None

    # -- model ----------------------------------------------------------------------------------------
    def sync(self) -> None:
        """Follow the runtime: a new layout when instruments come or go, else repaint the visible rows that
        changed (rows scrolled out of sight are brought up to date when they are drawn)."""
        runtime = self.runtime
        if len(runtime.instruments) != self._instrument_count:
            self._instrument_count = len(runtime.instruments)
            self._set_lines(families(runtime), self._layout())
            return
        self._frame += 1
        top = self.scroll_offset.y
        wanted = set(range(top, min(top + self._visible_lines(), len(self._lines))))
        selected = self._selected_line()
        if selected is not None:
            wanted.add(selected)
        for index in sorted(wanted):
            line = self._lines[index]
            if isinstance(line, Heading):
                heading = self._heading(line.market, line.venue)
                if heading != line:  # the market opened, broke or closed
                    self._lines[index] = heading
                    self.refresh_line(index + 1)
            elif self._stamps[index] != self._frame:
                new = self._row(line.key)
                self._stamps[index] = self._frame
                if new != line:
                    self._lines[index] = new
                    self.refresh_line(index + 1)
                    if index == selected:
                        self._refresh_detail()

    def _layout(self) -> list[Heading | Row]:
        """Headings and rows of every instrument, grouped by market and venue."""
        lines: list[Heading | Row] = []
        group = None
        for key in ordered_keys(self.runtime):
            state = self.runtime.instruments[key]
            if (state.settings.market, key[0]) != group:
                group = (state.settings.market, key[0])
                lines.append(self._heading(*group))
            lines.append(Row(key, (), ()))
        return lines

    def _heading(self, market: str, venue: str) -> Heading:
        runtime = self.runtime
        return Heading(market, venue, runtime.gates[market].state_at(runtime.market_time))

    def _row(self, key: Key) -> Row:
        """One instrument's cells and summary as they are now."""
        state = self.runtime.instruments[key]
        cells = instrument_cells(self.runtime, key)
        decimals = price_decimals(state.settings.tick_size)
        summary = (fmt_price(state.last_price, decimals), fmt_pct(state.change_pct),
                   fmt_bps(state.book.spread_bps()), fmt_rate(state.rate))
        return Row(key, tuple(cells.get(family) for family in self.families), summary)

    def _current(self, index: int) -> Row:
        """The row model at `index`, recomputed if this frame has not looked at it yet."""
        line = self._lines[index]
        if self._stamps[index] != self._frame:
            line = self._lines[index] = self._row(line.key)
            self._stamps[index] = self._frame
        return line

    def _selected_line(self) -> int | None:
        for line in self._row_lines:
            if self._lines[line].key == self.selected:
                return line
        return None

    def _set_lines(self, families_now: list[str], lines: list[Heading | Row]) -> None:
        """New layout: instruments or families came or went."""
        self.families = families_now
        self._frame += 1
        self._lines = [line if isinstance(line, Heading) else self._row(line.key) for line in lines]
        self._stamps = [self._frame] * len(lines)
        self._row_lines = [i for i, line in enumerate(lines) if isinstance(line, Row)]
        rows = [self._lines[i] for i in self._row_lines]
        self._label_width = max([len("instrument")] + [len(row.key[1]) for row in rows])
        width = (len(MARKER) + self._label_width + sum(len(f) + 1 for f in families_now)
                 + sum(w + 1 for _, w in SUMMARY))
        self.virtual_size = Size(width, len(lines) + FIXED_LINES)
        if self.selected not in {row.key for row in rows}:
            self.selected = rows[0].key if rows else None
        self.cursor_column = min(self.cursor_column, max(len(families_now) - 1, 0))
        self.refresh()

    def _selected_row(self) -> Row | None:
        line = self._selected_line()
        return None if line is None else self._current(line)

    # -- cursor ---------------------------------------------------------------------------------------
    def _cursor_index(self) -> int:
        """Position of the selected instrument among the rows."""
        for index, line in enumerate(self._row_lines):
            if self._lines[line].key == self.selected:
                return index
        return 0

    def _select(self, index: int) -> None:
        """Put the cursor on row `index` (clamped) and keep it in view; repaint the two rows and the detail
        line, or everything if the view scrolled."""
        if not self._row_lines:
            return
        index = max(0, min(len(self._row_lines) - 1, index))
        before, scroll = self._selected_line(), self.scroll_offset
        self.selected = self._lines[self._row_lines[index]].key
        self._scroll_to_cursor()
        if self.scroll_offset != scroll or before is None:
            self.refresh()
            return
        for line in (before, self._row_lines[index]):
            self.refresh_line(line + 1)
        self._refresh_detail()

    def action_move(self, delta: int) -> None:
        self._select(self._cursor_index() + delta)

    def action_page(self, direction: int) -> None:
        self._select(self._cursor_index() + direction * max(self._visible_lines() - 1, 1))

    def action_first(self) -> None:
        self._select(0)

    def action_last(self) -> None:
        self._select(len(self._row_lines) - 1)

    def action_move_column(self, delta: int) -> None:
        if self.families:
            self.cursor_column = max(0, min(len(self.families) - 1, self.cursor_column + delta))

    def watch_cursor_column(self) -> None:
        """Keep the cursor's column in view when families outgrow the screen."""
        widths = [len(family) for family in self.families]
        left = len(MARKER) + self._label_width + sum(w + 1 for w in widths[:self.cursor_column])
        right = left + 1 + (widths[self.cursor_column] if widths else 0)
        visible = self.scrollable_content_region.width
        if left < self.scroll_x:
            self.scroll_to(x=left, animate=False)
        elif right > self.scroll_x + visible:
            self.scroll_to(x=right - visible, animate=False)
        self.refresh()

    def _visible_lines(self) -> int:
        return max(self.scrollable_content_region.height - FIXED_LINES, 1)

    def _scroll_to_cursor(self) -> None:
        """Keep the cursor row inside the lines between the fixed header and detail lines."""
        line = self._row_lines[self._cursor_index()]
        if line == self._row_lines[0]:
            line = 0  # show the first heading too
        visible = self._visible_lines()
        if line < self.scroll_y:
            self.scroll_to(y=line, animate=False)
        elif line >= self.scroll_y + visible:
            self.scroll_to(y=line - visible + 1, animate=False)

    def action_open_book(self) -> None:
        if self.selected is not None:
            self.post_message(self.OpenBook(self.selected))

    # -- drawing --------------------------------------------------------------------------------------
    def _refresh_detail(self) -> None:
        height = self.scrollable_content_region.height
        self.refresh(Region(0, height - 1, self.size.width, 1))

    def render_line(self, y: int) -> Strip:
        """Line 0 is the column header and the last line the detail of the cursor cell; the rest scroll."""
        scroll_x, scroll_y = self.scroll_offset
        region = self.scrollable_content_region
        width = region.width
        base = self.base_style
        if y == region.height - 1:
            return Strip(self._detail_segments()).crop_extend(0, width, base)
        if y == 0:
            segments = self._header_segments()
        else:
            index = y - 1 + scroll_y
            if index >= len(self._lines):
                return Strip.blank(width, base)
            line = self._lines[index]
            segments = (self._heading_segments(line) if isinstance(line, Heading)
                        else self._row_segments(self._current(index)))
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)

    def _header_segments(self) -> list[Segment]:
        text = " " * len(MARKER) + "instrument".ljust(self._label_width)
        text += "".join(" " + family for family in self.families)
        text += "".join(" " + title.rjust(w) for title, w in SUMMARY)
        return [Segment(text, self.component_style("radar--header"))]

    def _heading_segments(self, heading: Heading) -> list[Segment]:
        session = "" if heading.session == "open" else f"· {heading.session.upper()} "
        title = f"── {heading.market} · {heading.venue} {session}"
        return [Segment(title + "─" * max(self.virtual_size.width - len(title), 0),
                        self.component_style("radar--heading"))]

    def _row_segments(self, row: Row) -> list[Segment]:
        """The symbol, a glyph per family, the summary; state colours go over the row's (cursor) background."""
        selected = row.key == self.selected
        style = self.component_style("radar--cursor") if selected else self.base_style
        background = Style(bgcolor=style.bgcolor)  # full component styles carry the widget's background
        segments = [Segment((MARKER if selected else " " * len(MARKER)) + row.key[1].ljust(self._label_width),
                            style)]
        for column, (cell, family) in enumerate(zip(row.cells, self.families)):
            segments.append(Segment(" ", style))
            glyph = " " if cell is None else GLYPH[cell.state]
            text = glyph.center(len(family))
            cell_style = style if cell is None else self.component_style(f"radar--{cell.state}") + background
            if selected and column == self.cursor_column:
                cell_style += REVERSE
            segments.append(Segment(text, cell_style))
        for value, (title, w) in zip(row.summary, SUMMARY):
            value_style = style
            if title == "chg" and value[:1] in "+-":
                direction = "radar--up" if value[0] == "+" else "radar--down"
                value_style = self.component_style(direction) + background
            segments.append(Segment(" " + value.rjust(w), value_style))
        return segments

    def _detail_segments(self) -> list[Segment]:
        """The cursor cell in words: instrument, family, then each detector's state, worst first."""
        row = self._selected_row()
        if row is None or not self.families:
            return [Segment(" no instruments yet", self.component_style("radar--detail"))]
        family = self.families[self.cursor_column]
        cell = row.cells[self.cursor_column]
        head = f" {key_label(*row.key)} · {family}: "
        if cell is None:
            return [Segment(head + "no detector of this family", self.component_style("radar--detail"))]
        colour = Style(color=self.component_style(f"radar--{cell.state}").color)  # no reverse here
        return [Segment(head, self.component_style("radar--detail")),
                Segment(f"{GLYPH[cell.state]} " + "; ".join(cell.notes), self.base_style + colour)]
