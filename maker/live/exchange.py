"""The maker's orders on a real exchange through ccxt.pro: `maker.orders.Exchange` plus a runtime service.

Requests are fire-and-forget, as on the paper exchange: `place`, `cancel` and `cancel_all` queue work
for one worker task that calls ccxt, so the engine's hot path never waits on the network. Reports come
back through the listener from the exchange's user stream (ccxt's watch_orders / watch_my_trades), or
from REST polling where the exchange has no such stream.

Safety, beyond what the paper path has:
- Nothing is quoted until the operator armed live trading (`arm`), the user stream is up and the
  exchange's open orders and fills were reconciled with ours: `quoting_allowed` is the engine's gate.
- Reconciliation, at start and after every reconnect: open orders we did not send (orphans) are
  cancelled, fills made during the gap are applied (deduplicated by trade id) before quoting resumes,
  and our orders that vanished are reported cancelled.
- Dead-man: the user stream down for `dead_man_s` -> every order is cancelled over REST, retried under
  backoff until it goes through. On `stop` (exit) every order is cancelled too.
- A kill switch (`cancel_all`) jumps the queue and drops the placements not yet sent.
- Errors are classified (maker.live.errors): counted, shown, retried only where a retry can help.

Memory stays flat over a day of quoting: a finished order is forgotten RETAIN_FINISHED_S after it finished,
and only while the stream is up and reconciled, so a late or gap-time report of it is still recognised.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable

from feeds.live.backoff import Backoff
from feeds.live.counters import FeedCounters
from feeds.live.exchange import LiveFeedError, load_markets, open_exchange
from feeds.settings import VenueSettings
from maker.live.credentials import Credentials, keep_out_of_logs
from maker.live.errors import ErrorLog, Problem, classify
from maker.live.rounding import below_minimum, round_amount, round_price
from maker.orders import CANCELLED, OPEN, REJECTED, ExchangeListener, Fill, Key, Order
from maker.settings import FeeSettings, LiveSettings

log = logging.getLogger(__name__)

RETRIES = 3  # extra attempts for a request failing on the network or a rate limit
STOP_ATTEMPTS = 5  # cancel-all attempts on exit before giving up (the dead-man keeps trying while running)
CANCEL_BATCH = 20  # orders per cancel_orders request where there is no cancel-all (OKX's cancel-batch-orders limit)
TRADES_MARGIN_MS = 60_000  # fills are fetched from this long before a gap began (they are deduplicated)
STREAM_SETTLE_S = 1.0  # without an authenticate step, a stream that stayed up this long counts as connected
DUST = 1e-9
RETAIN_FINISHED_S = 600.0  # a finished order's late reports (a fill racing its cancel) arrive well within this
STATUSES = {"open": OPEN, "canceled": CANCELLED, "cancelled": CANCELLED, "expired": CANCELLED,
            "rejected": REJECTED}  # ccxt order status -> ours; "closed" (filled) is told by the fills themselves
OKX_POST_ONLY_TOOK = "31"  # OKX's cancelSource for a post-only order that would take: accepted, then cancelled


class Failed(Exception):
    """A request that failed for good; carries the classified problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.text)
        self.problem = problem


@dataclass
class Sent:
    """One of our orders as the adapter knows it on the exchange."""

    order: Order
    client_id: str
    exchange_id: str | None = None  # known once the exchange accepted it
    filled: float = 0.0
    done: bool = False
    trade_ids: set[str] = field(default_factory=set)  # its fills told already (streams and REST repeat them)


class LiveExchange:
    """Implements `maker.orders.Exchange` on one ccxt.pro exchange, and the runtime's `Service` protocol."""

    def __init__(self, venue: VenueSettings, symbols: list[str], credentials: Credentials, settings: LiveSettings,
                 fees: FeeSettings) -> None:
        self.venue = venue
        self.symbols = symbols
        self.credentials = credentials
        self.settings = settings
        self.fees = fees  # estimates a fee paid in a third currency (BNB), as fills are booked in quote currency
        self.listener: ExchangeListener | None = None
        self.errors = ErrorLog()
        self.counters = FeedCounters()
        self.exchange = open_exchange(venue, self.counters)
        for name, value in credentials.ccxt_options().items():
            setattr(self.exchange, name, value)
        keep_out_of_logs(credentials)
        self.session = _base36(int(time.time() * 10))  # makes our client order ids unique across sessions
        self.sent: dict[str, Sent] = {}  # our order id -> what was sent
        self.by_client: dict[str, str] = {}  # client order id -> our order id
        self.by_exchange: dict[str, str] = {}  # exchange order id -> our order id
        self._finished: deque[tuple[float, str]] = deque()  # (monotonic time it finished, our order id)
        self.account = ""  # the exchange's account id, when fetch_balance tells it
        self.armed = False  # the operator confirmed live trading
        self.connected = False  # the user stream is up (or the last poll succeeded)
        self.reconciled = False
        self.disconnected_since: float | None = None  # monotonic time the stream was lost
        self.dead_man_fired = False
        self.orphans_cancelled = 0
        self._gap_start_ms = _now_ms()  # fills are fetched from here at the next reconciliation
        self._requests: deque[tuple[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._backoff = Backoff(venue.reconnect_base_s, venue.reconnect_max_s)
        self._tasks: list[asyncio.Task] = []

    # -- the engine's gate and the console's view ----------------------------------------------------------
    @property
    def quoting_allowed(self) -> bool:
        return self.armed and self.connected and self.reconciled

    @property
    def status_text(self) -> str:
        """Why quoting is held back ('' when it is not)."""
        if not self.armed:
            return "live: waiting for the operator's confirmation"
        if self.disconnected_since is not None:
            down = time.monotonic() - self.disconnected_since
            fired = "; orders cancelled (dead-man)" if self.dead_man_fired else ""
            return f"live: user stream down {down:.0f} s{fired}"
        if not self.quoting_allowed:
            return "live: reconciling orders with the exchange"
        return ""

    def quoting_allowed_for(self, key: Key) -> bool:
        return self.quoting_allowed  # one venue: the same gate for each of its instruments

    def status_text_for(self, key: Key) -> str:
        return self.status_text

    def arm(self) -> None:
        """The operator typed the confirmation: quoting may start once connected and reconciled."""
        self.armed = True

    # -- the Exchange interface (synchronous: only queues work) ----------------------------------------------
    def place(self, order: Order, ts: float) -> None:
        self._queue("place", replace(order))

    def cancel(self, order: Order, ts: float) -> None:
        self._queue("cancel", order.id)

    def cancel_all(self, ts: float, key: Key | None = None) -> None:
        """The kill switch: ahead of every queued request, and placements not yet sent are dropped."""
        self._drop_queued_places("cancelled before it was sent")
        self._requests.appendleft(("cancel_all", key))
        self._wake.set()

    def open_orders(self, key: Key | None = None) -> list[Order]:
        return [replace(s.order) for s in self.sent.values()
                if s.exchange_id is not None and not s.done and (key is None or s.order.key == key)]

    def _queue(self, action: str, payload: Any) -> None:
        self._requests.append((action, payload))
        self._wake.set()

    def _drop_queued_places(self, reason: str) -> None:
        kept = deque()
        for action, payload in self._requests:
            if action == "place":
                self._tell(payload.id, CANCELLED, reason)
            else:
                kept.append((action, payload))
        self._requests = kept

    # -- the runtime service ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load markets and read the account (failing with one line if either cannot be done), then run."""
        try:
            await self._connect()
        except BaseException:
            await self.exchange.close()  # the runtime stops only services that started
            raise
        streams = self.exchange.has.get("watchOrders") and self.exchange.has.get("watchMyTrades")
        user_data = self._stream() if streams and not self.venue.rest_only else self._poll()
        self._tasks = [asyncio.create_task(coro, name=f"live:{self.venue.name}:{coro.__name__}")
                       for coro in (self._work(), user_data, self._dead_man())]

    async def _connect(self) -> None:
        await load_markets(self.exchange, self.venue)
        missing = [s for s in self.symbols if s not in self.exchange.markets]
        if missing:
            raise LiveFeedError(f"{self.venue.name}: {self.venue.exchange} has no market {missing[0]!r}")
        try:
            balance = await self._call("read the account", self.exchange.fetch_balance)
        except Failed as failed:
            raise LiveFeedError(f"{self.venue.name}: cannot read the trading account: {failed.problem.text}") from None
        info = balance.get("info") or {}
        self.account = str(info.get("uid") or info.get("accountId") or "")

    async def stop(self) -> None:
        """Dead-man on exit: nothing new goes out, every order is cancelled, then the exchange is closed."""
        if not self._tasks:
            return  # never started (start closes the exchange itself when it fails), or stopped already
        self.armed = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._drop_queued_places("cancelled on exit before it was sent")
        try:
            if not await self._cancel_everything("exit", STOP_ATTEMPTS):
                message = f"{self.venue.name}: could not cancel every order on exit; check the exchange"
                self.errors.note("exit", message)
                log.error(message)
        finally:
            await self.exchange.close()

    # -- requests --------------------------------------------------------------------------------------------
    async def _work(self) -> None:
        """Sends queued requests one at a time, in order (a cancel never overtakes its placement)."""
        while True:
            while not self._requests:
                self._wake.clear()
                await self._wake.wait()
            action, payload = self._requests.popleft()
            if action == "place":
                await self._place(payload)
            elif action == "cancel":
                await self._cancel(payload)
            else:
                await self._cancel_all_once(payload)

    async def _call(self, what: str, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """One ccxt request under the retry policy; Failed when it failed for good."""
        import ccxt
        resynced = False
        for attempt in range(RETRIES + 1):
            try:
                return await method(*args)
            except ccxt.BaseError as exc:
                problem = classify(exc, self.credentials.redact)
            if problem.kind != "not_found":
                self._note(problem.kind, f"{what}: {problem.text}")
            if problem.kind == "rate_limit":
                self.counters.note("rate_limited", problem.text)
            if problem.retry == "resync" and not resynced:
                resynced = True
                await self._resync_clock()
            elif problem.retry == "backoff" and attempt < RETRIES:
                await asyncio.sleep(self._backoff.next_delay())
            else:
                raise Failed(problem)
        raise Failed(problem)

    async def _resync_clock(self) -> None:
        """Measure our clock against the exchange's once, so signed requests carry its time."""
        import ccxt
        try:
            await self.exchange.load_time_difference()
        except ccxt.BaseError as exc:
            problem = classify(exc, self.credentials.redact)
            self._note(problem.kind, f"clock resync: {problem.text}")

    async def _place(self, order: Order) -> None:
        self._retire_finished()
        market = self.exchange.market(order.symbol)
        price = round_price(self.exchange, market, order.side, order.price)
        amount = round_amount(self.exchange, market, order.qty)
        reason = below_minimum(market, price, amount)
        if reason is not None:
            self._note("below_minimum", f"{order.id} {order.side} {order.symbol}: {reason}")
            self._tell(order.id, REJECTED, reason)
            return
        client_id = f"wf{self.session}{order.id[3:]}"  # wf-12 -> wf<session>12: OKX takes letters and digits only
        order.price, order.qty = float(price), float(amount)
        sent = self.sent[order.id] = Sent(order, client_id)
        self.by_client[client_id] = order.id
        params: dict[str, Any] = {"clientOrderId": client_id}
        if order.post_only:
            params["postOnly"] = True
        try:
            result = await self._call(f"place {order.id}", self.exchange.create_order, order.symbol, "limit",
                                      order.side, order.qty, order.price, params)
        except Failed as failed:
            self._finish(sent)
            self._tell(order.id, REJECTED, failed.problem.text)
            return
        if result.get("id"):
            sent.exchange_id = str(result["id"])
            self.by_exchange[sent.exchange_id] = order.id
        self._apply_order(result, order.id)

    async def _cancel(self, order_id: str) -> None:
        sent = self.sent.get(order_id)
        if sent is None or sent.done or sent.exchange_id is None:
            return  # refused, already finished, or dropped before it was sent (and reported then)
        try:
            result = await self._call(f"cancel {order_id}", self.exchange.cancel_order, sent.exchange_id,
                                      sent.order.symbol)
        except Failed:
            return  # gone already (its fill or cancel arrives by the stream), or noted for the operator
        self._apply_order(result, order_id)

    async def _cancel_all_once(self, key: Key | None) -> bool:
        """Cancel every open order of ours (and anyone's) on the symbols; True when every request went through."""
        ok = True
        for symbol in self.symbols if key is None else [key[1]]:
            try:
                cancelled = await self._call(f"cancel all {symbol}", self._cancel_all_request, symbol)
            except Failed as failed:
                ok = ok and failed.problem.kind == "not_found"  # nothing open there
                continue
            for order in cancelled if isinstance(cancelled, list) else []:
                self._apply_order(order)
        return ok

    async def _cancel_all_request(self, symbol: str) -> list[dict]:
        """One cancel-all request; where ccxt has none (OKX), the symbol's open orders listed, then cancelled in
        batches."""
        if self.exchange.has.get("cancelAllOrders"):
            return await self.exchange.cancel_all_orders(symbol)
        ids = [order["id"] for order in await self.exchange.fetch_open_orders(symbol)]
        cancelled = []
        for start in range(0, len(ids), CANCEL_BATCH):
            cancelled += await self.exchange.cancel_orders(ids[start:start + CANCEL_BATCH], symbol)
        return cancelled

    async def _cancel_everything(self, why: str, attempts: int | None) -> bool:
        """Cancel-all until it goes through (at most `attempts` rounds; None: until it does)."""
        backoff = Backoff(self.venue.reconnect_base_s, self.venue.reconnect_max_s)
        round_ = 0
        while attempts is None or round_ < attempts:
            round_ += 1
            if await self._cancel_all_once(None):
                log.warning("%s: every order cancelled (%s)", self.venue.name, why)
                return True
            await asyncio.sleep(backoff.next_delay())
        return False

    def _finish(self, sent: Sent) -> None:
        if not sent.done:
            sent.done = True
            self._finished.append((time.monotonic(), sent.order.id))

    def _retire_finished(self) -> None:
        """Forget orders finished long enough ago, unless a gap in the stream may still hold reports of them."""
        if not (self.connected and self.reconciled):
            return
        cutoff = time.monotonic() - RETAIN_FINISHED_S
        while self._finished and self._finished[0][0] <= cutoff:
            sent = self.sent.pop(self._finished.popleft()[1])
            self.by_client.pop(sent.client_id, None)
            if sent.exchange_id is not None:
                self.by_exchange.pop(sent.exchange_id, None)

    # -- the exchange's reports --------------------------------------------------------------------------------
    def _ours(self, order: dict) -> str | None:
        client_id = order.get("clientOrderId")
        if client_id and client_id in self.by_client:
            return self.by_client[client_id]
        return self.by_exchange.get(str(order.get("id")))

    def _apply_order(self, order: dict, our_id: str | None = None) -> None:
        our_id = our_id or self._ours(order)
        sent = self.sent.get(our_id) if our_id else None
        if sent is None or sent.done:
            return
        if sent.exchange_id is None and order.get("id"):
            sent.exchange_id = str(order["id"])
            self.by_exchange[sent.exchange_id] = our_id
        state = STATUSES.get(order.get("status") or "")
        if state is None:
            return
        if state != OPEN:
            self._finish(sent)
        reason = "" if state == OPEN else f"{order.get('status')} by the exchange"
        if state == CANCELLED and (order.get("info") or {}).get("cancelSource") == OKX_POST_ONLY_TOOK:
            state, reason = REJECTED, "post-only rejected: it would take liquidity (cancelled on arrival)"
            self._note("post_only", f"place {our_id}: {reason}")
        self._tell(our_id, state, reason)

    def _apply_trade(self, trade: dict) -> None:
        trade_id = str(trade.get("id"))
        info = trade.get("info") or {}
        our_id = self.by_exchange.get(str(trade.get("order"))) or self.by_client.get(
            info.get("c") or info.get("clOrdId") or info.get("clientOrderId") or "")
        sent = self.sent[our_id] if our_id is not None else None
        if sent is None or trade_id in sent.trade_ids:
            return  # not one of our orders (an orphan's, or a manual trade), or told already
        sent.trade_ids.add(trade_id)
        order = sent.order
        price, qty = float(trade["price"]), float(trade["amount"])
        liquidity = trade.get("takerOrMaker") or "maker"
        sent.filled += qty
        if sent.filled >= order.qty * (1 - DUST):
            self._finish(sent)
        ts = (trade.get("timestamp") or _now_ms()) / 1000
        if self.listener is not None:
            self.listener.on_fill(Fill(our_id, order.venue, order.symbol, order.side, price, qty,
                                       self._fee(trade, price, qty, liquidity), liquidity, ts))

    def _fee(self, trade: dict, price: float, qty: float, liquidity: str) -> float:
        """The fee in quote currency: as charged in quote or base, else (a third currency) the configured rate."""
        fee = trade.get("fee") or {}
        cost, currency = fee.get("cost"), fee.get("currency")
        if cost is not None and _okx_stream_fee(self.exchange, trade):
            cost = -cost
        market = self.exchange.market(trade["symbol"])
        if cost is not None and currency == market.get("quote"):
            return float(cost)
        if cost is not None and currency == market.get("base"):
            return float(cost) * price
        return self.fees.fee(price, qty, liquidity)

    def _tell(self, order_id: str, state: str, reason: str = "") -> None:
        if self.listener is not None:
            self.listener.on_order_update(order_id, state, time.time(), reason)

    def _note(self, kind: str, text: str) -> None:
        text = self.credentials.redact(text)
        self.errors.note(kind, text)
        log.warning("%s: %s", self.venue.name, text)

    # -- the user stream, reconciliation and the dead-man ------------------------------------------------------
    async def _stream(self) -> None:
        """Keep the user stream up; each (re)connection is reconciled before quoting may resume."""
        import ccxt
        backoff = Backoff(self.venue.reconnect_base_s, self.venue.reconnect_max_s)
        while True:
            watchers: list[asyncio.Task] = []
            try:
                # Logged in first, alone: ccxt's binance lets a concurrent second caller through before the ack.
                await self._authenticated()
                watchers = [asyncio.create_task(self._watch(self.exchange.watch_orders, self._apply_order)),
                            asyncio.create_task(self._watch(self.exchange.watch_my_trades, self._apply_trade))]
                await asyncio.sleep(0)  # the watchers listen before reconciliation asks over REST
                await self._on_connected()
                backoff.attempts = 0
                done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
                problem: BaseException = next(iter(done)).exception() or ccxt.NetworkError("user stream ended")
            except (ccxt.BaseError, Failed) as exc:
                problem = exc
            finally:
                for task in watchers:
                    task.cancel()
                await asyncio.gather(*watchers, return_exceptions=True)
                await self.exchange.close_ws_clients()  # ccxt keeps a failed client's login; the next try starts clean
            self._on_lost(self.credentials.redact(" ".join(str(problem).split()))[:200])
            await asyncio.sleep(backoff.next_delay())

    async def _authenticated(self) -> None:
        """Returns once the private stream is logged in (or, where ccxt has no such step, has stayed up a while)."""
        if hasattr(self.exchange, "authenticate"):
            await self.exchange.authenticate()
        else:
            await asyncio.sleep(STREAM_SETTLE_S)

    @staticmethod
    async def _watch(method: Callable[[], Awaitable[list[dict]]], apply: Callable[[dict], None]) -> None:
        while True:
            for item in await method():
                apply(item)

    async def _poll(self) -> None:
        """Without a user stream: every poll is a reconciliation; a failed poll counts as a lost connection."""
        while True:
            try:
                await self._on_connected()
            except Failed as failed:
                self._on_lost(failed.problem.text)
            await asyncio.sleep(self.settings.poll_s)

    async def _on_connected(self) -> None:
        started_ms = _now_ms()
        await self._reconcile(self._gap_start_ms - TRADES_MARGIN_MS)
        self._gap_start_ms = started_ms
        if self.disconnected_since is not None:
            self.counters.note("reconnects", f"user stream back after {time.monotonic() - self.disconnected_since:.1f} s")
        self.disconnected_since = None
        self.dead_man_fired = False
        self.connected = self.reconciled = True

    def _on_lost(self, why: str) -> None:
        if self.disconnected_since is None:
            self.disconnected_since = time.monotonic()
            self._gap_start_ms = _now_ms()
            self._note("disconnected", f"user stream lost: {why}")
        self.connected = self.reconciled = False
        self._drop_queued_places("not sent: user stream down")

    async def _reconcile(self, since_ms: int) -> None:
        """Open orders and fills on the exchange against ours: orphans cancelled, missed fills applied, vanished
        orders reported. Failed if the exchange cannot be asked."""
        for symbol in self.symbols:
            listed = await self._call(f"reconcile {symbol}", self.exchange.fetch_open_orders, symbol)
            on_exchange = set()
            for order in listed:
                our_id = self._ours(order)
                if our_id is None:
                    await self._cancel_orphan(symbol, order)
                else:
                    on_exchange.add(our_id)
                    self._apply_order(order, our_id)
            for trade in await self._call(f"reconcile {symbol}", self.exchange.fetch_my_trades, symbol, since_ms):
                self._apply_trade(trade)
            for our_id, sent in self.sent.items():
                if sent.order.symbol == symbol and sent.exchange_id and not sent.done and our_id not in on_exchange:
                    self._finish(sent)
                    self._tell(our_id, CANCELLED, "no longer on the exchange (reconciliation)")

    async def _cancel_orphan(self, symbol: str, order: dict) -> None:
        try:
            await self._call(f"cancel orphan {order.get('id')}", self.exchange.cancel_order, order["id"], symbol)
        except Failed as failed:
            if failed.problem.kind != "not_found":
                raise
        self.orphans_cancelled += 1
        self._note("orphan", f"cancelled order {order.get('id')} on {symbol} that this session did not send "
                             f"({order.get('side')} {order.get('amount')} @ {order.get('price')})")

    async def _dead_man(self) -> None:
        """Cancel every order once the user stream has been down for `dead_man_s`, until that goes through."""
        while True:
            await asyncio.sleep(min(0.2, self.settings.dead_man_s / 4))
            since = self.disconnected_since
            if since is None or self.dead_man_fired or time.monotonic() - since < self.settings.dead_man_s:
                continue
            self._note("dead_man", f"user stream down for {self.settings.dead_man_s:g} s: cancelling every order")
            self._drop_queued_places("not sent: dead-man")
            self.dead_man_fired = await self._cancel_everything("dead-man", None)


def _okx_stream_fee(exchange, trade: dict) -> bool:
    """An OKX fill from the stream: ccxt (4.5) gives its fee with OKX's sign (fillFee, negative when charged)
    where it flips the fees of fills fetched over REST to a positive cost."""
    import ccxt.async_support
    return isinstance(exchange, ccxt.async_support.okx) and "fillFee" in (trade.get("info") or {})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while n:
        n, r = divmod(n, 36)
        text = digits[r] + text
    return text or "0"
