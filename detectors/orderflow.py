"""Large orders away from the touch and what became of them, for the spoofing and layering detectors.

With L3 `order` events (exchange-side data) every order has an id and an account: a large order is tracked
from its add to its cancel or fill, with the same account's trades on the other side while it rested and
how many large orders that account stacked on the same side. Without them (public L2 feeds) a level whose
quantity jumps far above the usual level size, away from the touch, is tracked instead, with the trades
at the other side of the book while it showed. Either way a large order cancelled unfilled becomes an
`Episode` for the listeners, which judge it by their own thresholds.

Only orders above TRACK_MULTIPLE times the usual size are tracked, so the common case (an ordinary add or
cancel) costs a comparison and a dict miss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import compress
from operator import not_
from typing import Callable

from detectors.base import InstrumentContext, Watcher
from detectors.stats import EveryGrid, Ewma
from feeds.book import OrderBook
from feeds.events import BookEvent, OrderEvent, TradeEvent

TRACK_MULTIPLE = 10.0  # the smallest size multiple any detector may ask for
SIZE_SAMPLE_S = 0.5  # the usual order (or level) size is sampled this often ...
SIZE_HALF_LIFE = 300.0  # ... with this memory, in samples
SIZE_WARMUP = 50
MAX_TRACK_S = 120.0  # a large order resting longer is not a spoof: stop tracking it
FILLED_SHARE = 0.1  # an order filled beyond this share was real liquidity


@dataclass(slots=True, eq=False)  # one order is one object: untracking removes it by identity, cheaply
class Tracked:
    ts: float
    account: str | None
    side: str  # buy or sell
    price: float
    qty: float
    size_multiple: float
    away_bps: float  # behind the best price of its side when placed (0 at or inside the touch)
    away_ticks: float
    filled: float = 0.0
    opposite_qty: float = 0.0  # taken on the other side while it rested (by its account, when known)
    opposite_ts: float | None = None  # when the other side last traded (as counted above)
    layers: int = 1  # most large orders its account had resting on the same side meanwhile


@dataclass(slots=True)
class Episode:
    """A large order cancelled unfilled."""

    order: Tracked
    ts: float  # of the cancel

    @property
    def life_s(self) -> float:
        return self.ts - self.order.ts


Listener = Callable[[Episode], None]


def _distance(book: OrderBook, side: str, price: float) -> float:
    """How far behind the best price of its own side `price` is (0 at or inside the touch)."""
    if side == "buy":
        return max(book.bids.peekitem(-1)[0] - price, 0.0) if book.bids else 0.0
    return max(price - book.asks.peekitem(0)[0], 0.0) if book.asks else 0.0


class LargeOrders(Watcher):
    """Tracks large orders (L3 when `order` events come, L2 level jumps otherwise) and reports episodes."""

    def __init__(self, context: InstrumentContext) -> None:
        self.tick_size = context.instrument.tick_size
        self.listeners: list[Listener] = []
        self.l3 = False  # order events seen: the L2 fallback stands down
        self.size = Ewma(SIZE_HALF_LIFE, SIZE_WARMUP)  # of log(order or level size), sampled on a grid
        self.grid = EveryGrid(SIZE_SAMPLE_S)
        self.usual = math.inf  # the usual size (inf until learnt) ...
        self.large = math.inf  # ... and TRACK_MULTIPLE times it: the one comparison most events cost
        self.orders: dict[str, Tracked] = {}  # L3: by order id
        self.by_account: dict[str | None, list[Tracked]] = {}
        self.levels: dict[str, dict[float, Tracked]] = {"buy": {}, "sell": {}}  # L2: by side, then price
        self.sweep_at = -math.inf  # when on_tick next drops orders tracked too long

    def _learn(self, ts: float, qty: float) -> None:
        """Sample the usual order (or level) size, at most once per SIZE_SAMPLE_S."""
        if qty > 0 and self.grid.due(ts):
            size = self.size
            size.add(math.log(qty))
            if size.ready:
                self.usual = math.exp(size.mean)
                self.large = TRACK_MULTIPLE * self.usual

    def _track(self, book: OrderBook, ts: float, account: str | None, side: str, price: float, qty: float,
               multiple: float) -> Tracked:
        away = _distance(book, side, price)
        mid = book.mid() or price
        order = Tracked(ts, account, side, price, qty, multiple, away / mid * 1e4, away / self.tick_size)
        stack = self.by_account.setdefault(account, [])
        stack.append(order)
        same_side = [o for o in stack if o.side == side]
        for o in same_side:
            o.layers = max(o.layers, len(same_side))
        return order

    def _untrack(self, order: Tracked) -> None:
        stack = self.by_account.get(order.account)
        if stack is not None:
            stack.remove(order)
            if not stack:
                del self.by_account[order.account]

    def _ended(self, order: Tracked, ts: float) -> None:
        self._untrack(order)
        if order.filled <= FILLED_SHARE * order.qty:
            episode = Episode(order, ts)
            for listener in self.listeners:
                listener(episode)

    # -- L3 -------------------------------------------------------------------------------------------
    def on_order(self, book: OrderBook, event: OrderEvent) -> None:
        """The hot path (most events are orders): an ordinary add or an untracked cancel costs two tests."""
        if event.action == "add":
            if event.qty >= self.large or event.ts >= self.grid.next_ts:
                self._add(book, event)
        elif event.order_id in self.orders:
            self._resolve(self.orders[event.order_id], event)

    def _add(self, book: OrderBook, event: OrderEvent) -> None:
        if not self.l3:
            self._go_l3()
        self._learn(event.ts, event.qty)
        if event.qty >= self.large:
            self.orders[event.order_id] = self._track(book, event.ts, event.account, event.side, event.price,
                                                      event.qty, event.qty / self.usual)

    def _resolve(self, order: Tracked, event: OrderEvent) -> None:
        """A cancel, fill or modify of a tracked order (a modify changes nothing tracked)."""
        if event.action == "cancel":
            del self.orders[event.order_id]
            self._ended(order, event.ts)
            return
        if event.action != "fill":
            return
        order.filled += event.qty
        if order.filled >= order.qty:
            del self.orders[event.order_id]
            self._untrack(order)

    def _go_l3(self) -> None:
        self.l3 = True
        self._forget_levels()
        self._forget_size()

    def _forget_size(self) -> None:
        self.size.reset()
        self.grid.reset()
        self.usual = self.large = math.inf

    def on_trade(self, book: OrderBook, event: TradeEvent) -> None:
        stacks = self.by_account
        if not stacks:
            return
        if self.l3:  # the aggressor's large orders resting on the side it just took against
            taker = event.buyer if event.side == "buy" else event.seller
            stack = stacks.get(taker) if taker is not None else None
            if stack:
                for order in stack:
                    if order.side != event.side:
                        order.opposite_ts = event.ts
                        order.opposite_qty += event.qty
            return
        # L2: every tracked level is in `levels` (and in by_account[None]); a trade takes from the resting
        # side opposite its aggressor, so the aggressor's own side is the other side of those levels
        taken = self.levels["sell" if event.side == "buy" else "buy"].get(event.price)
        if taken is not None:
            taken.filled += event.qty  # printed at the large level itself: it was real
        qty, ts = event.qty, event.ts
        for order in self.levels[event.side].values():
            order.opposite_qty += qty
            order.opposite_ts = ts

    # -- L2 fallback ----------------------------------------------------------------------------------
    def on_book(self, book: OrderBook, event: BookEvent) -> None:
        if self.l3:
            return
        if event.snapshot:
            self._forget_levels()
            return
        ts = event.ts
        learn = ts >= self.grid.next_ts  # one size sample per event at most: the first untracked level's
        large = self.large
        for side, levels in (("buy", event.bids), ("sell", event.asks)):
            if not levels:
                continue
            tracked_side = self.levels[side]
            prices, sizes = zip(*levels)  # sifted in C: most levels are neither tracked nor large
            tracked = list(map(tracked_side.__contains__, prices))
            if learn:  # levels before the sampled one are tracked or empty: none could be large, whatever `large`
                for qty, is_tracked in zip(sizes, tracked):
                    if qty > 0 and not is_tracked:
                        self._learn(ts, qty)
                        learn, large = False, self.large
                        break
            if max(compress(sizes, map(not_, tracked)), default=0.0) < large:
                for price, qty in compress(levels, tracked):  # the common case: only tracked levels to follow
                    self._follow(tracked_side, price, qty, ts)
                continue
            for price, qty in levels:  # a new large level: in order, as each level finds the book
                if price in tracked_side:
                    self._follow(tracked_side, price, qty, ts)
                elif qty >= large and _distance(book, side, price) > 0:
                    tracked_side[price] = self._track(book, ts, None, side, price, qty, qty / self.usual)

    def _follow(self, tracked_side: dict[float, Tracked], price: float, qty: float, ts: float) -> None:
        """A tracked level changed size: shrunk below half, the large order is gone."""
        tracked = tracked_side.get(price)  # None for a price repeated in one event, ended by its first mention
        if tracked is not None and qty < 0.5 * tracked.qty:
            del tracked_side[price]
            self._ended(tracked, ts)

    def _forget_levels(self) -> None:
        for tracked_side in self.levels.values():
            for order in tracked_side.values():
                self._untrack(order)
            tracked_side.clear()

    def on_tick(self, now: float) -> None:
        """Stop following large orders that have rested too long to be spoofs (bounded memory)."""
        if now < self.sweep_at:
            return
        self.sweep_at = now + MAX_TRACK_S / 10
        limit = now - MAX_TRACK_S
        for store in (self.orders, *self.levels.values()):
            stale = [key for key, order in store.items() if order.ts < limit]
            for key in stale:
                self._untrack(store.pop(key))

    def reset(self) -> None:
        self.orders.clear()
        for tracked_side in self.levels.values():
            tracked_side.clear()
        self.by_account.clear()
        self._forget_size()
