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
from textual.geometry import Region
from textual.content import Content
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from console.runtime import InstrumentState, Runtime
from console.widgets.focus import RestyledOnFocusOnlyIfStyled
from console.widgets.fmt import fmt_price, fmt_qty, market_clock, price_decimals
from console.widgets.history import History
from console.widgets.model import Key, key_label, ordered_keys
from console.widgets.text import BaseStyleCache, TextLine
from maker.orders import PENDING_CANCEL

SNAPSHOT_LEVELS = 25  # more than any screen shows; the ladder draws what fits its height
QTY_WIDTH = 8
OURS_WIDTH = 9  # "◆ 0.0100": our resting size at a price, on the outer edge of its side
DEPTH_BANDS_BPS = (10, 50)
FULL_BLOCK = "█"
OUR_MARK = "◆"

Level = tuple[float, float, float]  # (price, book size, our resting size)


class LadderSnapshot(NamedTuple):
    asks: tuple[Level, ...]  # best first
    bids: tuple[Level, ...]  # best first
    decimals: int
    quoted: bool  # the maker quotes this instrument: the ladder keeps a column for our orders


class Row(NamedTuple):
    """What one ladder line shows; lines whose Row did not change are not repainted."""

    kind: str  # ask / bid / spread / blank
    level: Level | None
    text: str  # the spread line's text
    widths: tuple[int, int, int]  # price, bar, ours
    scale: float


def merge_ours(levels: list[tuple[float, float]], ours: dict[float, float], best_first_low: bool) -> tuple[Level, ...]:
    """The book's levels with our resting orders added: a price we rest at that the book lacks is a row too."""
    merged = {price: [qty, 0.0] for price, qty in levels}
    for price, qty in ours.items():
        merged.setdefault(price, [0.0, 0.0])[1] += qty
    prices = sorted(merged, reverse=not best_first_low)
    return tuple((price, merged[price][0], merged[price][1]) for price in prices)


def fit_levels(levels: tuple[Level, ...], n: int) -> tuple[Level, ...]:
    """The best `n` levels, except that our orders deeper than that take the outermost rows: the operator
    always sees where we rest, however far from the touch."""
    deeper = [level for level in levels[n:] if level[2] > 0][:n]
    return levels[:n - len(deeper)] + tuple(deeper)


class Ladder(BaseStyleCache, Widget):
    """Asks above, bids below, best prices meeting at a spread line in the middle; depth as bars, our
    resting orders marked ◆ with their size."""

    COMPONENT_CLASSES = {"ladder--bid", "ladder--ask", "ladder--price", "ladder--spread", "ladder--ours"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot = LadderSnapshot((), (), 2, False)
        self._rows: list[Row] = []

    def show(self, state: InstrumentState, ours: list[tuple[str, float, float]] | None) -> None:
        """Take a new snapshot of the book and our orders (None: not quoted); repaint the lines that changed."""
        bids, asks = state.book.top(SNAPSHOT_LEVELS)
        our_bids: dict[float, float] = {}
        our_asks: dict[float, float] = {}
        for side, price, qty in ours or ():
            book = our_bids if side == "buy" else our_asks
            book[price] = book.get(price, 0.0) + qty
        snapshot = LadderSnapshot(merge_ours(asks, our_asks, True), merge_ours(bids, our_bids, False),
                                  price_decimals(state.settings.tick_size), ours is not None)
        if snapshot != self.snapshot:
            self.snapshot = snapshot
            self._layout()

    def on_resize(self) -> None:
        self._layout()

    def _levels(self) -> int:
        """Levels per side that fit around the spread line."""
        return max((self.size.height - 1) // 2, 1)

    def _layout(self) -> None:
        """Row models for every line; refresh only the lines that differ from what is on screen."""
        n = self._levels()
        snap = self.snapshot
        asks, bids = fit_levels(snap.asks, n), fit_levels(snap.bids, n)
        price_width = max([len(fmt_price(p, snap.decimals)) for p, _, _ in asks + bids] + [8])
        ours_width = OURS_WIDTH if snap.quoted else 0
        bar_width = max((self.size.width - price_width - 2 * QTY_WIDTH - 4 - 2 * ours_width) // 2, 0)
        widths = (price_width, bar_width, ours_width)
        scale = max([q for _, q, _ in asks + bids] + [1e-12])
        rows = []
        for y in range(self.size.height):
            if y < n:  # asks, highest at the top, best just above the spread line
                level = asks[n - 1 - y] if n - 1 - y < len(asks) else None
                rows.append(Row("ask" if level else "blank", level, "", widths, scale))
            elif y == n:
                rows.append(Row("spread", None, _spread_text(snap), widths, scale))
            else:
                level = bids[y - n - 1] if y - n - 1 < len(bids) else None
                rows.append(Row("bid" if level else "blank", level, "", widths, scale))
        old, self._rows = self._rows, rows
        if len(old) != len(rows):
            self.refresh()
            return
        for y, (before, after) in enumerate(zip(old, rows)):
            if before != after:
                self.refresh(Region(0, y, self.size.width, 1))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._rows):
            return Strip.blank(width, self.base_style)
        row = self._rows[y]
        if row.kind == "spread":
            segments = [Segment(row.text.center(width, "─"), self.component_style("ladder--spread"))]
        elif row.kind == "blank":
            segments = []
        else:
            segments = self._level_row(row)
        return Strip(segments).crop_extend(0, width, self.base_style)

    def _level_row(self, row: Row) -> list[Segment]:
        """Bids read outwards to the left (ours, bar, size, price), asks to the right (price, size, bar, ours)."""
        price, qty, mine = row.level
        price_width, bar_width, ours_width = row.widths
        decimals = self.snapshot.decimals
        side = self.component_style(f"ladder--{row.kind}")
        ours_style = self.component_style("ladder--ours")
        price_style = self.component_style("ladder--price")
        if mine:
            price_style += ours_style
        price_text = fmt_price(price, decimals).rjust(price_width)
        size = " " + (fmt_qty(qty) if qty else "").rjust(QTY_WIDTH) + " "
        if row.kind == "bid":
            ours = (f"{OUR_MARK} {fmt_qty(mine):>{ours_width - 3}} " if mine else "").ljust(ours_width)
            return [Segment(ours, ours_style), Segment(_bar(qty, row.scale, bar_width).rjust(bar_width), side),
                    Segment(size, side), Segment(price_text, price_style)]
        ours = (f" {fmt_qty(mine):>{ours_width - 3}} {OUR_MARK}" if mine else "").rjust(ours_width)
        return [Segment(" " * (ours_width + bar_width + QTY_WIDTH + 2), self.base_style),
                Segment(price_text, price_style), Segment(size, side),
                Segment(_bar(qty, row.scale, bar_width).ljust(bar_width), side), Segment(ours, ours_style)]


def _spread_text(snap: LadderSnapshot) -> str:
    book_asks = [level for level in snap.asks if level[1] > 0]
    book_bids = [level for level in snap.bids if level[1] > 0]
    if book_asks and book_bids:
        return f" spread {book_asks[0][0] - book_bids[0][0]:.{snap.decimals}f} "
    return " one-sided book " if book_asks or book_bids else " no book yet "


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


class BookView(RestyledOnFocusOnlyIfStyled, Vertical, can_focus=True):
    """The book of one instrument; `[` `]` (or tab) step through instruments in radar order."""

    BINDINGS = [
        Binding("right_square_bracket,tab", "step(1)", "Next instrument"),
        Binding("left_square_bracket,shift+tab", "step(-1)", "Previous instrument", show=False),
        Binding("space", "toggle_pause", "Pause/resume"),
    ]

    paused: reactive[bool] = reactive(False)
    key: reactive[Key | None] = reactive(None)

    def __init__(self, runtime: Runtime, history: History, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        self.history = history

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
        self.query_one(Ladder).show(state, self._ours())
        self.query_one(Tape).show(state)
        self.query_one("#book-stats", TextLine).show(_stats(state, self.history.volatility(self.key)))

    def _ours(self) -> list[tuple[str, float, float]] | None:
        """Our resting orders on this instrument as (side, price, size); None when the maker does not quote it."""
        maker = self.runtime.maker
        if maker is None or self.key not in maker.quoted:
            return None
        return [(order.side, order.price, order.remaining) for order in maker.orders.working(self.key)
                if order.state != PENDING_CANCEL]

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


def _stats(state: InstrumentState, volatility: float | None) -> str:
    """Mid, spread, imbalance, volatility; then depth within each band per side."""
    book = state.book
    decimals = price_decimals(state.settings.tick_size)
    mid = book.mid()
    spread = book.spread_bps()
    imbalance = book.imbalance()
    line1 = (f"mid {fmt_price(mid, decimals + 1)}   spread "
             f"{'-' if spread is None else f'{spread:.2f} bps'}   imbalance "
             f"{'-' if imbalance is None else f'{imbalance:+.2f}'}   vol "
             f"{'-' if volatility is None else f'{volatility:.0%}/y'}")
    bands = []
    for bps in DEPTH_BANDS_BPS:
        bid, ask = book.depth_within_bps(bps)
        bands.append(f"±{bps} bps  bid {fmt_qty(bid)}  ask {fmt_qty(ask)}")
    return line1 + "\ndepth " + "   ".join(bands)
