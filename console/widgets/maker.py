"""The maker view: a row per quoted instrument, and the selected one in detail with its charts.

Everything shown is read from the MakerEngine (states and reasons, resting orders, the quote plan,
positions and PnL) and, for the charts, from the console's History. `s` starts or stops quoting the
selected instrument, `S` stops them all after a confirmation, `R` resumes it after a risk trip; the
kill switch (`x`) and defensive mode (`D`, `L`) are the app's, so they work from every view.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable

from console.screens.confirm import ConfirmScreen
from console.widgets.chart import Chart, Line, Panel
from console.widgets.fmt import DASH, fmt_price, fmt_qty, price_decimals
from console.widgets.history import History
from console.widgets.model import Key, key_label
from console.widgets.table import Table
from console.widgets.text import TextLine
from maker.engine import STOPPED, MakerEngine
from maker.live import live_venues
from maker.orders import PENDING_CANCEL, REJECTED
from maker.risk import ACTIVE

COLUMNS = (("instrument", "instrument"), ("state", "state"), ("bid", "our bid"), ("ask", "our ask"),
           ("position", "position"), ("upnl", "unreal"), ("rpnl", "real"), ("fills", "fills"),
           ("rate", "ord/min"), ("why", "why"))  # (key, label); the reason last, it is the widest
NUMERIC = {"bid", "ask", "position", "upnl", "rpnl", "fills", "rate"}
RATE_WINDOW_S = 60.0
BAR_WIDTH = 10
NOT_CONFIGURED = ("The market maker is not configured: list the instruments to quote in config.yaml under "
                  "maker.instruments (e.g. [\"sim-alpha:BTC/USDT\"]) and start the console again.")


class Touch(NamedTuple):
    """Our best resting order on each side: (price, remaining size), or None."""

    bid: tuple[float, float] | None
    ask: tuple[float, float] | None
    working: int


def our_touch(engine: MakerEngine, key: Key) -> Touch:
    """Our best live bid and ask (orders being cancelled do not count)."""
    bids = asks = None
    working = 0
    for order in engine.orders.working(key):
        if order.state == PENDING_CANCEL:
            continue
        working += 1
        if order.side == "buy" and (bids is None or order.price > bids[0]):
            bids = (order.price, order.remaining)
        elif order.side == "sell" and (asks is None or order.price < asks[0]):
            asks = (order.price, order.remaining)
    return Touch(bids, asks, working)


def orders_per_minute(engine: MakerEngine) -> dict[Key, int]:
    """Orders sent per instrument in the last minute of market time (live ones and the kept history)."""
    since = engine.market_time - RATE_WINDOW_S
    counts: dict[Key, int] = {}
    for order in reversed(engine.orders.history):
        if order.ts < since:
            break
        if order.state != REJECTED:
            counts[order.key] = counts.get(order.key, 0) + 1
    for order in engine.orders.orders.values():
        if order.ts >= since:
            counts[order.key] = counts.get(order.key, 0) + 1
    return counts


def state_word(engine: MakerEngine, key: Key) -> tuple[str, str]:
    """(state as shown, reason): the engine's state, marked `+DEF` while the instrument is defending."""
    state, reason = engine.status(key)
    return (f"{state}+DEF" if engine.quoted[key].defence is not None else state), reason


def _money(value: float) -> str:
    return f"{value:+,.2f}"


class MakerView(Vertical):
    """The maker's summary line, its instruments, and the selected one's quotes, PnL and charts."""

    BINDINGS = [
        Binding("s", "toggle_quoting", "Start/stop"),
        Binding("S", "stop_all", "Stop all"),
        Binding("R", "resume", "Resume"),
    ]

    def __init__(self, engine: MakerEngine | None, history: History, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.engine = engine
        self.history = history
        self._shown: dict[Key, tuple[str, ...]] = {}
        self._bindings_state: tuple | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(id="maker-note")
        yield Table(id="maker-table")
        with Horizontal(id="maker-detail"):
            yield TextLine(id="maker-info")
            yield Chart(id="maker-chart")

    def on_mount(self) -> None:
        table = self.query_one("#maker-table", Table)
        for key, label in COLUMNS:
            table.add_column(Text(label, justify="right") if key in NUMERIC else label, key=key)
        if self.engine is None:
            self.query_one("#maker-note", TextLine).show("maker not configured")
            self.query_one("#maker-info", TextLine).show(NOT_CONFIGURED)
            self.query_one("#maker-chart").display = False

    @property
    def table(self) -> Table:
        return self.query_one("#maker-table", Table)

    def selected(self) -> Key | None:
        table = self.table
        if not table.row_count:
            return None
        return tuple(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value.split(":", 1))

    # -- drawing ------------------------------------------------------------------------------------
    def sync(self) -> None:
        engine = self.engine
        if engine is None:
            return
        self.query_one("#maker-note", TextLine).show(self._summary())
        table = self.table
        rates = orders_per_minute(engine)
        for key in engine.quoted:
            values = self._row(key, rates.get(key, 0))
            label = key_label(*key)
            shown = self._shown.get(key)
            if shown is None:
                table.add_row(*self._cells(values), key=label)
            else:
                for (column, _), old, new in zip(COLUMNS, shown, values):
                    if old != new:
                        table.update_cell(label, column, self._cell(column, new), update_width=True)
            self._shown[key] = values
        selected = self.selected()
        if selected is not None:
            self.query_one("#maker-info", TextLine).show(self._detail(selected, rates.get(selected, 0)))
            self.query_one(Chart).show(self._panels(selected))
        state = tuple(state_word(engine, key)[0] for key in engine.quoted) + (selected,)
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if self.engine is not None and self.selected() is not None:
            self.query_one(Chart).show(self._panels(self.selected()), force=True)
            self.sync()

    def _summary(self) -> Content:
        engine = self.engine
        total = engine.inventory.total
        quoting = sum(q.quoting for q in engine.quoted.values())
        fills = sum(p.fills for p in engine.inventory.positions.values())
        return Content.assemble(
            (f"maker {engine.settings.mode}", "bold"), f" · {quoting}/{len(engine.quoted)} quoting",
            " · PnL ", (_money(total.total), "bold $success" if total.total >= 0 else "bold $error"),
            f" (fees {total.fees:,.2f}) · drawdown {total.drawdown:,.2f} · exposure {total.exposure:,.0f}"
            f" · fills {fills}")

    def _row(self, key: Key, rate: int) -> tuple[str, ...]:
        engine = self.engine
        decimals = price_decimals(engine.quoted[key].settings.tick_size)
        touch = our_touch(engine, key)
        position = engine.inventory.positions.get(key)
        state, reason = state_word(engine, key)
        bid = DASH if touch.bid is None else fmt_price(touch.bid[0], decimals)
        ask = DASH if touch.ask is None else fmt_price(touch.ask[0], decimals)
        if position is None:
            numbers = ("0", _money(0.0), _money(0.0), "0")
        else:
            numbers = (f"{position.qty:+g}" if position.qty else "0", _money(position.unrealised),
                       _money(position.realised), str(position.fills))
        return (key_label(*key), state, bid, ask, *numbers, str(rate), reason or "")

    def _cells(self, values: tuple[str, ...]) -> list[Text]:
        return [self._cell(column, value) for (column, _), value in zip(COLUMNS, values)]

    @staticmethod
    def _cell(column: str, value: str) -> Text:
        if column == "state":
            style = "" if value.startswith(ACTIVE) and "+DEF" not in value else "bold"
            return Text(value, style=style)
        return Text(value, justify="right" if column in NUMERIC else "left")

    def _detail(self, key: Key, rate: int) -> Content:
        """The selected instrument: why it is in its state, its quotes and their parts, inventory, PnL."""
        engine = self.engine
        q = engine.quoted[key]
        decimals = price_decimals(q.settings.tick_size)
        state, reason = state_word(engine, key)
        touch = our_touch(engine, key)
        position = engine.inventory.positions.get(key)
        lines = [Content.assemble((key_label(*key), "bold"), "  ", (f" {state} ", "bold reverse")),
                 Content(f"why    {reason or 'quoting normally'}")]
        quotes = " / ".join(DASH if level is None else f"{fmt_price(level[0], decimals)} ×{fmt_qty(level[1])}"
                            for level in (touch.bid, touch.ask))
        lines.append(Content(f"quotes {quotes if touch.working else 'none resting'}"))
        plan = q.plan
        if plan is None:
            lines.append(Content("spread no plan yet (warming up or one-sided book)"))
        else:
            fair = plan.fair
            mid = q.quoter.mid or fair
            lines += [
                Content(f"spread {2 * plan.half_spread / fair * 1e4:.2f} bps {plan.model} "
                        f"(min {q.quoter.params.min_spread_bps:g})"),
                Content(f"  σ {plan.sigma / fair * 1e4:.2f} bp/√s  A {plan.A:.2f}/s  k {plan.k * fair / 1e4:.3g}/bp"),
                Content(f"skew   {plan.skew / fair * 1e4:+.2f} bps inventory, {(fair - mid) / mid * 1e4:+.2f} imbalance"),
            ]
        lines.append(self._inventory_line(key, position.qty if position else 0.0,
                                          position.exposure if position else 0.0))
        if position is not None:
            lines += [Content(f"PnL    {_money(position.total)} (real {_money(position.realised)} "
                              f"unr {_money(position.unrealised)} fee {position.fees:,.2f})"),
                      Content(f"       peak {_money(position.peak)}  drawdown {position.drawdown:,.2f}")]
        lines.append(Content(f"fills {position.fills if position else 0}  orders {rate}/min  "
                             f"({touch.working} working)"))
        for venue in live_venues(engine.orders.exchange):
            if venue.venue.name == key[0] and venue.errors.recent:  # what its real exchange refused, and why
                lines.append(Content.assemble(("exch   ", "bold $error"), venue.errors.summary(),
                                              f" · last: {venue.errors.recent[-1][1]}"))
        return Content("\n").join(lines)

    def _inventory_line(self, key: Key, qty: float, exposure: float) -> Content:
        """The position against its bound: max_inventory (base units) if set, else the max_position notional."""
        q = self.engine.quoted[key]
        bound = q.quoter.params.max_inventory
        limit = self.engine.settings.limits.max_position
        if bound:
            used, text = abs(qty) / bound, f"{qty:+g} / ±{bound:g} max_inventory"
        elif limit:
            used, text = exposure / limit, f"{qty:+g} ({exposure:,.0f} / {limit:,.0f} max_position)"
        else:
            return Content(f"inv    {qty:+g} (no limit set)")
        filled = min(BAR_WIDTH, round(used * BAR_WIDTH))
        style = "$error" if used >= 1 else "$warning" if used >= 0.8 else "$success"
        return Content.assemble("inv    ", ("█" * filled, style), ("░" * (BAR_WIDTH - filled), "$text-muted"),
                                f" {used:.0%}  {text}")

    def _panels(self, key: Key) -> tuple[Panel, ...]:
        series = self.history.maker.get(key)
        if series is None:
            return (Panel("PnL", ()), Panel("position", ()), Panel("mid", ()))
        now = self.engine.market_time
        return tuple(Panel(f"{title}, s ago", (Line(tuple(t - now for t in s.ts), tuple(s.values)),))
                     for title, s in (("PnL", series.pnl), ("position", series.position), ("mid", series.mid)))

    # -- actions ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        engine = self.engine
        key = self.selected() if engine is not None and self.is_mounted else None
        if action == "toggle_quoting":
            return key is not None or None
        if action == "stop_all":
            return engine is not None and any(q.quoting for q in engine.quoted.values()) or None
        if action == "resume":
            return key is not None and engine.status(key)[0] not in (ACTIVE, STOPPED) or None
        return True

    def action_toggle_quoting(self) -> None:
        key = self.selected()
        if key is not None:
            self.engine.toggle(key)
            self.notify(f"{key_label(*key)}: quoting {'started' if self.engine.quoted[key].quoting else 'stopped'}")
            self.sync()

    def action_stop_all(self) -> None:
        quoting = [key for key, q in self.engine.quoted.items() if q.quoting]

        def answered(yes: bool | None) -> None:
            if yes:
                self.engine.stop_all()
                self.notify(f"stopped quoting {len(quoting)} instruments; their orders are being cancelled")
                self.sync()

        self.app.push_screen(ConfirmScreen("stop all quoting", f"Stop quoting all {len(quoting)} instruments "
                                           "and cancel their orders?"), answered)

    def action_resume(self) -> None:
        key = self.selected()
        if key is not None:
            self.engine.resume(key)
            self.sync()
