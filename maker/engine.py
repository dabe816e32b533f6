"""The market-making engine: quotes each configured instrument through the order manager, books fills into
the inventory, enforces the risk states, and runs defensive mode.

Per instrument the state is STOPPED (not quoting) or the risk state ACTIVE / REDUCING / HALTED, and
separately defensive or not. The runtime feeds it every book and trade event of its instruments (after
the books and detectors saw them), every batch (for timers) and every alert (for automatic defence).

Defensive mode, per instrument, from the operator or from an alert of a configured kind and severity:
pull the quotes (or widen them by a multiplier), then cut the position by `reduce_share`: a passive order
at the touch first, crossing the spread once `aggressive_after_s` has passed. Only the operator leaves it.
Defensive mode and risk trips are saved to the state store on every change and restored at start.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Protocol

from detectors.alerts import SEVERITY_RANK, Alert, Signal
from feeds.book import OrderBook
from feeds.events import BookEvent, Event, TradeEvent
from feeds.settings import InstrumentSettings
from maker.inventory import Inventory, Key
from maker.orders import Exchange, Fill, OrderManager, Wanted
from maker.quoting import QuotePlan, Quoter, round_down
from maker.risk import BOOK_VENUE, HALTED, REDUCING, RiskManager, Trip, cuts_position
from maker.settings import MakerSettings

STOPPED = "STOPPED"
STATE_KEY = "maker"  # the state store key holding defensive mode and risk trips
REDUCE_SLOT = "reduce"
FILLS_KEPT = 200
PASSIVE, AGGRESSIVE, DONE = "passive", "aggressive", "done"


class StateStore(Protocol):
    """Where state that must survive a restart goes (detectors.store.AlertStore implements it)."""

    def put_state(self, key: str, value: dict) -> None: ...
    async def get_state(self, key: str) -> dict | None: ...


@dataclass
class Defence:
    """One instrument's defensive mode: why, since when, and the inventory cut it is working on."""

    reason: str
    since: float
    side: str | None = None  # the side that cuts the position; None: nothing to cut
    target: float = 0.0  # the position (signed, base units) the cut aims for
    aggressive_at: float = 0.0  # market time the cut starts crossing the spread
    phase: str = DONE  # passive / aggressive / done


@dataclass
class Quoted:
    """One quoted instrument's live state."""

    settings: InstrumentSettings
    quoter: Quoter
    book: OrderBook | None = None
    quoting: bool = False
    plan: QuotePlan | None = None
    defence: Defence | None = None


def key_text(key: Key) -> str:
    return f"{key[0]}:{key[1]}"


def parse_key(text: str) -> Key:
    venue, _, symbol = text.partition(":")
    return venue, symbol


class MakerEngine:
    def __init__(self, settings: MakerSettings, instruments: Iterable[InstrumentSettings], exchange: Exchange,
                 sink: Callable[[Signal], None], store: StateStore | None = None) -> None:
        self.settings = settings
        self.store = store
        self.inventory = Inventory()
        self.risk = RiskManager(settings.limits, settings.capital, self.inventory, sink, self._on_trip)
        self.orders = OrderManager(exchange, settings.orders, self.risk.check_order, self._on_fill)
        self.quoted: dict[Key, Quoted] = {
            (i.venue, i.symbol): Quoted(i, Quoter(i, settings.quoting)) for i in instruments}
        self.fills: deque[Fill] = deque(maxlen=FILLS_KEPT)  # newest last
        self.market_time = 0.0
        self.quote_updates = 0

    # -- what the console shows -----------------------------------------------------------------------
    def status(self, key: Key) -> tuple[str, str]:
        """(state, reason): STOPPED, or the risk state; the reason says why it is not plainly quoting."""
        q = self.quoted[key]
        state, reason = self.risk.state(key)
        if not q.quoting:
            return STOPPED, reason or "quoting not started"
        held = self.orders.exchange.status_text_for(key)
        if held:
            reason = held + (f"; {reason}" if reason else "")
        if q.defence is not None:
            reason = f"defensive ({q.defence.phase}): {q.defence.reason}" + (f"; {reason}" if reason else "")
        elif not reason and q.plan is None:
            reason = "warming up"
        return state, reason

    @property
    def defensive(self) -> bool:
        return any(q.defence is not None for q in self.quoted.values())

    # -- operator actions (synchronous, for the console's keys) -----------------------------------------
    def start(self, key: Key) -> None:
        """Start quoting one instrument (risk and defensive mode still apply)."""
        self.quoted[key].quoting = True

    def stop(self, key: Key) -> None:
        """Stop quoting one instrument and cancel its orders."""
        self.quoted[key].quoting = False
        self.orders.cancel_key(key, self.market_time, "stopped by the operator")

    def toggle(self, key: Key) -> None:
        if self.quoted[key].quoting:
            self.stop(key)
        else:
            self.start(key)

    def start_all(self) -> None:
        for key in self.quoted:
            self.start(key)

    def stop_all(self) -> None:
        for key in self.quoted:
            self.stop(key)

    def cancel_all(self) -> None:
        """Kill switch: stop quoting everywhere and cancel every order this session has working."""
        for q in self.quoted.values():
            q.quoting = False
        self.orders.cancel_all(self.market_time, "cancel all")

    def enter_defensive(self, key: Key | None = None, reason: str = "operator") -> None:
        """Defend one instrument, or every quoted instrument when key is None."""
        keys = list(self.quoted) if key is None else [key]
        changed = [k for k in keys if self.quoted[k].defence is None]
        for k in changed:
            self._defend(self.quoted[k], reason)
        if changed:
            self._save()

    def leave_defensive(self, key: Key | None = None) -> None:
        """The only way out of defensive mode: back to normal quoting for one instrument, or all."""
        keys = list(self.quoted) if key is None else [key]
        changed = False
        for k in keys:
            q = self.quoted[k]
            if q.defence is not None:
                q.defence = None
                changed = True
        if changed:
            self._save()

    def resume(self, key: Key | None = None) -> None:
        """Back to ACTIVE after a risk trip, for one instrument or everything (a breach still there trips again)."""
        if self.risk.resume(self.market_time, key):
            self._save()

    # -- the runtime's hooks --------------------------------------------------------------------------
    def on_book(self, book: OrderBook, event: BookEvent) -> None:
        q = self.quoted.get((event.venue, event.symbol))
        if q is None:
            return
        ts = event.ts
        if ts > self.market_time:
            self.market_time = ts
        q.book = book
        quoter = q.quoter
        quoter.on_book(book, ts)
        if quoter.mid is not None:
            key = (event.venue, event.symbol)
            self.inventory.mark(key, quoter.mid)
            self.risk.check(key, ts)
        self._requote(q, ts)

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        q = self.quoted.get((event.venue, event.symbol))
        if q is not None:
            q.quoter.on_trade(event, book)

    def on_batch(self, batch: list[Event]) -> None:
        """Timers at the batch's end: a passive cut whose time is up crosses the spread without waiting
        for its instrument's next book event."""
        now = max(self.market_time, batch[-1].ts) if batch else self.market_time
        self.market_time = now
        for q in self.quoted.values():
            d = q.defence
            if d is not None and d.phase == PASSIVE and now >= d.aggressive_at and q.book is not None:
                self._requote(q, now)

    def on_alert(self, alert: Alert, change: str) -> None:
        """Automatic defence: an opened or escalated alert of a configured kind and severity."""
        defence = self.settings.defence
        if change not in ("opened", "escalated") or alert.kind not in defence.kinds \
                or SEVERITY_RANK[alert.severity] < SEVERITY_RANK[defence.min_severity]:
            return
        if defence.scope == "all" or alert.venue == BOOK_VENUE:
            keys = list(self.quoted)
        elif defence.scope == "venue" or alert.symbol is None:
            keys = [k for k in self.quoted if k[0] == alert.venue]
        else:
            keys = [k for k in self.quoted if k == (alert.venue, alert.symbol)]
        reason = f"{alert.kind} {alert.severity} on {alert.venue}" + (f":{alert.symbol}" if alert.symbol else "")
        for key in keys:
            self.enter_defensive(key, reason)

    # -- state that survives a restart ----------------------------------------------------------------
    async def restore(self) -> None:
        """Put back defensive mode and risk trips saved before a restart."""
        if self.store is None:
            return
        saved = await self.store.get_state(STATE_KEY)
        if not saved:
            return
        for text, fields in saved.get("defences", {}).items():
            q = self.quoted.get(parse_key(text))
            if q is not None:
                q.defence = Defence(**fields)
        for text, fields in saved.get("trips", {}).items():
            key = None if text == BOOK_VENUE else parse_key(text)
            if key is None or key in self.quoted:
                self.risk.restore(key, Trip(**fields))

    def _save(self) -> None:
        if self.store is None:
            return
        trips: dict[str, Any] = {key_text(k): asdict(t) for k, t in self.risk.trips.items()}
        if self.risk.book_trip is not None:
            trips[BOOK_VENUE] = asdict(self.risk.book_trip)
        defences = {key_text(k): asdict(q.defence) for k, q in self.quoted.items() if q.defence is not None}
        self.store.put_state(STATE_KEY, {"defences": defences, "trips": trips})

    # -- internals ------------------------------------------------------------------------------------
    def _defend(self, q: Quoted, reason: str) -> None:
        key = (q.settings.venue, q.settings.symbol)
        ts = self.market_time
        position = self.inventory.qty(key)
        cut = round_down(abs(position) * self.settings.defence.reduce_share, q.settings.lot_size)
        d = Defence(reason, ts, aggressive_at=ts + self.settings.defence.aggressive_after_s)
        if cut > 0:
            d.side = "sell" if position > 0 else "buy"
            d.target = position - cut if position > 0 else position + cut
            d.phase = PASSIVE
        q.defence = d
        if self.settings.defence.action == "pull":
            self.orders.cancel_key(key, ts, "defensive: quotes pulled")

    def _requote(self, q: Quoted, ts: float) -> None:
        """Bring the instrument's orders in line with its quotes, risk state and defensive mode."""
        if not q.quoting:
            return
        key = (q.settings.venue, q.settings.symbol)
        state, _ = self.risk.state(key)
        if state == HALTED:
            return  # its orders were cancelled when it tripped; nothing new goes out
        if not self.orders.exchange.quoting_allowed_for(key):
            return  # its live venue not yet confirmed, or down or reconciling: it says why (status_text_for)
        self.quote_updates += 1
        position = self.inventory.qty(key)
        d = q.defence
        wanted: list[Wanted] = []
        if d is None or self.settings.defence.action == "widen":
            multiplier = 1.0 if d is None else self.settings.defence.widen_multiplier
            q.plan = q.quoter.plan(ts, position, multiplier)
            if q.plan is not None:
                wanted = self._quotes(q.plan)
        if d is not None and d.phase != DONE:
            cut = self._cut(q, d, position, ts)
            if cut is not None:
                wanted.append(cut)
        if state == REDUCING:
            wanted = self._reducing_only(wanted, position, q.settings.lot_size)
        self.orders.sync(key, wanted, ts, q.settings.tick_size)

    def _quotes(self, plan: QuotePlan) -> list[Wanted]:
        post_only = self.settings.orders.post_only
        counts = {"buy": 0, "sell": 0}
        wanted = []
        for level in plan.levels:
            index = counts[level.side]
            counts[level.side] += 1
            wanted.append(Wanted(_slot(level.side, index), level.side, level.price, level.qty, post_only))
        return wanted

    def _cut(self, q: Quoted, d: Defence, position: float, ts: float) -> Wanted | None:
        """The order working on the defensive cut: at our side's touch, or through the spread once time is up."""
        left = position - d.target if d.side == "sell" else d.target - position
        lot = q.settings.lot_size
        qty = round_down(left, lot)
        if qty <= 0:
            d.phase = DONE
            self._save()
            return None
        book = q.book
        if book is None or not book.bids or not book.asks:
            return None
        bid, ask = book.bids.peekitem(-1)[0], book.asks.peekitem(0)[0]
        if d.phase == PASSIVE and ts >= d.aggressive_at:
            d.phase = AGGRESSIVE
            self._save()
        if d.phase == AGGRESSIVE:
            price = bid if d.side == "sell" else ask  # cross: take the opposite touch
            return Wanted(REDUCE_SLOT, d.side, price, qty, post_only=False)
        tick = q.settings.tick_size
        inside = ask - bid > tick * 1.5  # room to improve the touch by a tick and stay passive
        if d.side == "sell":
            price = round(ask - tick, 10) if inside else ask
        else:
            price = round(bid + tick, 10) if inside else bid
        return Wanted(REDUCE_SLOT, d.side, price, qty, post_only=True)

    @staticmethod
    def _reducing_only(wanted: list[Wanted], position: float, lot: float) -> list[Wanted]:
        """REDUCING: only orders on the side that cuts the position, together no bigger than it."""
        side = "sell" if position > 0 else "buy"
        room = abs(position)
        kept = []
        for want in wanted:
            if want.side != side or room <= 0:
                continue
            qty = round_down(min(want.qty, room), lot)
            if qty > 0:
                kept.append(Wanted(want.slot, want.side, want.price, qty, want.post_only))
                room -= qty
        return kept

    def _on_fill(self, fill: Fill) -> None:
        key = fill.key
        self.inventory.on_fill(key, fill.side, fill.price, fill.qty, fill.fee)
        self.fills.append(fill)
        self.risk.check(key, fill.ts)

    def _on_trip(self, key: Key | None) -> None:
        """A limit tripped: cancel what the new state forbids, at once."""
        keys = list(self.quoted) if key is None else [key]
        ts = self.market_time
        for k in keys:
            if k not in self.quoted:
                continue
            state, reason = self.risk.state(k)
            if state == HALTED:
                self.orders.cancel_key(k, ts, f"halted: {reason}")
            elif state == REDUCING:
                position = self.inventory.qty(k)
                self.orders.cancel_key(k, ts, f"reducing: {reason}",
                                       keep=lambda o, p=position: cuts_position(o.side, p))
        self._save()


_SLOTS: dict[tuple[str, int], str] = {}


def _slot(side: str, index: int) -> str:
    """`bid 0`, `ask 1`...: made once, as they are asked for on every book event."""
    name = _SLOTS.get((side, index))
    if name is None:
        name = _SLOTS[(side, index)] = f"{'bid' if side == 'buy' else 'ask'} {index}"
    return name
