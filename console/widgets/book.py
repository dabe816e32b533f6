"""The book view: one instrument's ladder, its statistics and its trade tape.

The ladder is a Line-API widget drawing a snapshot of the top levels; `space` pauses the whole view
so the operator can read a fast book, and the snapshot simply stops being replaced.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from console.runtime import InstrumentState, Runtime
from console.widgets.fmt import fmt_price, fmt_qty, market_clock, price_decimals
from console.widgets.model import Key, key_label, ordered_keys
from console.widgets.text import TextLine

SNAPSHOT_LEVELS = 25  # more than any screen shows; the ladder draws what fits its height
QTY_WIDTH = 8
DEPTH_BANDS_BPS = (10, 50)
FULL_BLOCK = "█"


class LadderSnapshot(NamedTuple):
    asks: tuple[tuple[float, float], ...]  # best first
    bids: tuple[tuple[float, float], ...]  # best first
    decimals: int


class Ladder(Widget):
    """Asks above, bids below, best prices meeting at a spread line in the middle; depth as bars."""

    COMPONENT_CLASSES = {"ladder--bid", "ladder--ask", "ladder--price", "ladder--spread"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot = LadderSnapshot((), (), 2)

    def show(self, state: InstrumentState) -> None:
        """Take a new snapshot of the instrument's book; repaint only if it differs."""
        bids, asks = state.book.top(SNAPSHOT_LEVELS)
        snapshot = LadderSnapshot(tuple(asks), tuple(bids), price_decimals(state.settings.tick_size))
        if snapshot != self.snapshot:
            self.snapshot = snapshot
            self.refresh()

    def _levels(self) -> int:
        """Levels per side that fit around the spread line."""
        return max((self.size.height - 1) // 2, 1)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        n = self._levels()
        snap = self.snapshot
        asks, bids = snap.asks[:n], snap.bids[:n]
        price_width = max([len(fmt_price(p, snap.decimals)) for p, _ in asks + bids] + [8])
        bar_width = max((width - price_width - 2 * QTY_WIDTH - 4) // 2, 0)
        scale = max([q for _, q in asks + bids] + [1e-12])
        if y < n:  # asks, highest at the top, best just above the spread line
            level = asks[n - 1 - y] if n - 1 - y < len(asks) else None
            segments = self._ask_row(level, price_width, bar_width, scale, snap.decimals)
        elif y == n:
            segments = self._spread_row(width, snap)
        else:
            level = bids[y - n - 1] if y - n - 1 < len(bids) else None
            segments = self._bid_row(level, price_width, bar_width, scale, snap.decimals)
        return Strip(segments).crop_extend(0, width, self.rich_style)

    def _ask_row(self, level, price_width: int, bar_width: int, scale: float, decimals: int) -> list[Segment]:
        if level is None:
            return []
        price, qty = level
        ask = self.get_component_rich_style("ladder--ask")
        return [
            Segment(" " * (bar_width + QTY_WIDTH + 2), self.rich_style),
            Segment(fmt_price(price, decimals).rjust(price_width), self.get_component_rich_style("ladder--price")),
            Segment(" " + fmt_qty(qty).rjust(QTY_WIDTH) + " ", ask),
            Segment(_bar(qty, scale, bar_width), ask),
        ]

    def _bid_row(self, level, price_width: int, bar_width: int, scale: float, decimals: int) -> list[Segment]:
        if level is None:
            return []
        price, qty = level
        bid = self.get_component_rich_style("ladder--bid")
        return [
            Segment(_bar(qty, scale, bar_width).rjust(bar_width), bid),
            Segment(" " + fmt_qty(qty).rjust(QTY_WIDTH) + " ", bid),
            Segment(fmt_price(price, decimals).rjust(price_width), self.get_component_rich_style("ladder--price")),
        ]

    def _spread_row(self, width: int, snap: LadderSnapshot) -> list[Segment]:
        if snap.asks and snap.bids:
            spread = snap.asks[0][0] - snap.bids[0][0]
            text = f" spread {spread:.{snap.decimals}f} "
        else:
            text = " one-sided book " if snap.asks or snap.bids else " no book yet "
        return [Segment(text.center(width, "─"), self.get_component_rich_style("ladder--spread"))]


def _bar(qty: float, scale: float, width: int) -> str:
    """A depth bar of full blocks; any non-zero size gets at least one."""
    return FULL_BLOCK * max(1, round(qty / scale * width)) if qty > 0 and width > 0 else ""


class Tape(Static):
    """The latest trades, newest first, the side as a word."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[int, object] | None = None  # (tape length, newest trade) last drawn

    def show(self, state: InstrumentState) -> None:
        tape = state.tape
        mark = (len(tape), tape[-1] if tape else None)
        if mark == self._shown:
            return
        self._shown = mark
        decimals = price_decimals(state.settings.tick_size)
        lines = [Content.styled(f"{'time':<8} {'side':<4} {'price':>10} {'qty':>7}", "bold")]
        for trade in reversed(tape):
            lines.append(Content.assemble(
                f"{market_clock(trade.ts)} ",
                (f"{trade.side:<4}", "$success" if trade.side == "buy" else "$error"),
                f" {fmt_price(trade.price, decimals):>10} {fmt_qty(trade.qty):>7}",
            ))
        if not tape:
            lines.append(Content("no trades yet"))
        self.update(Content("\n").join(lines))


class BookView(Vertical, can_focus=True):
    """The book of one instrument; `[` `]` (or tab) step through instruments in radar order."""

    BINDINGS = [
        Binding("right_square_bracket,tab", "step(1)", "Next instrument"),
        Binding("left_square_bracket,shift+tab", "step(-1)", "Previous instrument"),
        Binding("space", "toggle_pause", "Pause / resume the book"),
    ]

    paused: reactive[bool] = reactive(False)
    key: reactive[Key | None] = reactive(None)

    def __init__(self, runtime: Runtime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime

    def compose(self) -> ComposeResult:
        yield TextLine(id="book-title")
        yield TextLine(id="book-stats")
        with Horizontal(id="book-body"):
            yield Ladder(id="ladder")
            yield Tape(id="tape")

    def show(self, key: Key) -> None:
        """Open `key`'s book, live: choosing an instrument resumes a paused view."""
        self.key = key
        self.paused = False

    def action_step(self, delta: int) -> None:
        keys = ordered_keys(self.runtime)
        if not keys:
            return
        index = keys.index(self.key) if self.key in keys else -delta
        self.show(keys[(index + delta) % len(keys)])

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def watch_key(self) -> None:
        self._draw()

    def watch_paused(self) -> None:
        self._draw_title()

    def sync(self) -> None:
        """Follow the runtime, unless paused."""
        if self.key is None:
            keys = ordered_keys(self.runtime)
            if keys:
                self.key = keys[0]
        if not self.paused:
            self._draw()

    def _draw(self) -> None:
        state = self.runtime.instruments.get(self.key) if self.key else None
        self._draw_title()
        if state is None or not self.is_mounted:
            return
        self.query_one(Ladder).show(state)
        self.query_one(Tape).show(state)
        self.query_one("#book-stats", TextLine).show(_stats(state))

    def _draw_title(self) -> None:
        if not self.is_mounted:
            return
        state = self.runtime.instruments.get(self.key) if self.key else None
        if state is None:
            self.query_one("#book-title", TextLine).show("no instrument yet")
            return
        settings = state.settings
        keys = ordered_keys(self.runtime)
        parts: list = [(key_label(*self.key), "bold"), f"  {settings.kind} · {settings.market}",
                       f"  [{keys.index(self.key) + 1}/{len(keys)}]"]
        if not state.book.in_sync:
            parts += ["  ", ("OUT OF SYNC", "bold $warning")]
        if self.paused:
            parts += ["  ", (" ‖ PAUSED ", "bold reverse $warning")]
        self.query_one("#book-title", TextLine).show(Content.assemble(*parts))


def _stats(state: InstrumentState) -> str:
    """Mid, spread, imbalance; then depth within each band per side."""
    book = state.book
    decimals = price_decimals(state.settings.tick_size)
    mid = book.mid()
    spread = book.spread_bps()
    imbalance = book.imbalance()
    line1 = (f"mid {fmt_price(mid, decimals + 1)}   spread "
             f"{'-' if spread is None else f'{spread:.2f} bps'}   imbalance "
             f"{'-' if imbalance is None else f'{imbalance:+.2f}'}")
    bands = []
    for bps in DEPTH_BANDS_BPS:
        bid, ask = book.depth_within_bps(bps)
        bands.append(f"±{bps} bps  bid {fmt_qty(bid)}  ask {fmt_qty(ask)}")
    return line1 + "\ndepth " + "   ".join(bands)
