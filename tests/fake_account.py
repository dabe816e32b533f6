"""What the trading fakes share: one spot account's balances, orders and fills, and the switches a test flips.

tests/fake_binance_trading.py and tests/fake_okx_trading.py add their exchange's endpoints, authentication and
wire formats; the account under them is the same: USDT-quoted spot pairs, a commission taken in the asset
received, funds locked by open orders, and a user stream (private websocket) that a test can drop. Each
fake names order sides and states in its exchange's own words (Binance `BUY` / `NEW`, OKX `buy` / `live`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from aiohttp import WSMsgType, web

from fake_exchange import Book, Connection, FakeExchange, now_ms

QUOTE = "USDT"
COMMISSION = Decimal("0.001")  # 0.1% of the asset received, both exchanges' base spot rate


@dataclass
class FakeOrder:
    symbol: str  # the exchange's id: BTCUSDT (Binance), BTC-USDT (OKX)
    base: str  # BTC
    order_id: int
    client_id: str
    side: str  # in the exchange's words: BUY / SELL, buy / sell
    type: str  # LIMIT_MAKER, post_only ...
    price: Decimal
    qty: Decimal
    time: int
    status: str
    filled: Decimal = Decimal(0)
    quote_filled: Decimal = Decimal(0)

    @property
    def buy(self) -> bool:
        return self.side.lower() == "buy"

    @property
    def left(self) -> Decimal:
        return self.qty - self.filled


@dataclass
class FakeTrade:
    symbol: str
    trade_id: int
    order_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    buyer: bool


Refusal = tuple[int, object, str]  # HTTP status, the exchange's error code, its message


@dataclass
class FakeAccount:
    """The account behind one API key. A subclass registers the exchange's routes and speaks its formats."""

    fx: FakeExchange
    api_key: str
    secret: str
    balances: dict[str, Decimal] = field(kw_only=True, default_factory=lambda: {
        QUOTE: Decimal(100_000), "BTC": Decimal(2), "ETH": Decimal(20)})
    skew_ms: int = field(kw_only=True, default=0)  # the exchange's clock minus ours: our timestamps look stale
    rate_limit_next: int = field(kw_only=True, default=0)  # the next n order placements are refused as rate limited
    user_stream_down: bool = field(kw_only=True, default=False)  # user-stream sockets are refused
    orders: dict[int, FakeOrder] = field(kw_only=True, default_factory=dict)  # every order, open or not
    trades: list[FakeTrade] = field(kw_only=True, default_factory=list)
    requests: list[tuple[str, str, object]] = field(kw_only=True, default_factory=list)  # (method, path, params)
    refused: list[tuple[str, object]] = field(kw_only=True, default_factory=list)  # (path, code) refused
    raw_requests: list[str] = field(kw_only=True, default_factory=list)  # what came over the wire

    # the exchange's words, which each subclass sets
    STREAM = ""  # Connection.venue of its user-stream sockets
    SIDES = {}  # our side (buy / sell) -> the exchange's
    LIMIT = ""  # a plain limit order's type
    OPEN = PARTIAL = FILLED = CANCELED = ""  # an order's states
    ORDER_ROUTES = frozenset()  # (method, path) of order placements: the requests `rate_limit_next` refuses
    RATE_LIMITED = (429, 0, "")  # the exchange's refusal of a rate-limited request

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(50_000)
        self.fx.extensions.append(self)

    # -- what a test does ---------------------------------------------------------------------------------
    def open_orders(self, symbol: str | None = None) -> list[FakeOrder]:
        return [o for o in self.orders.values() if o.status in (self.OPEN, self.PARTIAL)
                and (symbol is None or o.symbol == symbol)]

    def by_client_id(self, client_id: str) -> FakeOrder:
        return next(o for o in self.orders.values() if o.client_id == client_id)

    async def fill(self, order: FakeOrder, qty: str | Decimal | None = None) -> FakeTrade:
        """Someone takes `qty` (default: all that is left) of our resting order at its price; the user stream hears."""
        amount = order.left if qty is None else Decimal(qty)
        received, asset = (amount, order.base) if order.buy else (amount * order.price, QUOTE)
        trade = FakeTrade(order.symbol, next(self._trade_ids), order.order_id, order.price, amount,
                          received * COMMISSION, asset, now_ms(), order.buy)
        self.trades.append(trade)
        order.filled += amount
        order.quote_filled += amount * order.price
        order.status = self.FILLED if order.filled >= order.qty else self.PARTIAL
        sign = 1 if order.buy else -1
        self.balances[order.base] += sign * amount
        self.balances[QUOTE] -= sign * amount * order.price
        self.balances[asset] -= trade.commission
        await self._report(order, trade)
        return trade

    def place_orphan(self, symbol: str, side: str, price: str, qty: str) -> FakeOrder:
        """An order this session never sent (left by a crashed session, or another program on the account)."""
        return self._add(symbol, self.SIDES[side.lower()], self.LIMIT, Decimal(price), Decimal(qty),
                         f"stray{next(self._ids)}")

    async def drop_user_stream(self) -> None:
        """The user-stream connection breaks and stays refused until `restore_user_stream`."""
        self.user_stream_down = True
        for connection in [c for c in self.fx.connections if c.venue == self.STREAM]:
            await connection.ws.close()

    def restore_user_stream(self) -> None:
        self.user_stream_down = False

    @property
    def user_streams(self) -> int:
        return len(self._subscribed())

    # -- for the subclasses ----------------------------------------------------------------------------------
    def book(self, symbol: str) -> Book:
        """The fake's replayed book of `symbol` (the exchange's id), against which post-only orders are checked."""
        raise NotImplementedError

    def _base(self, symbol: str) -> str:
        raise NotImplementedError

    async def _report(self, order: FakeOrder, trade: FakeTrade | None = None) -> None:
        """Tell every subscribed user stream about the order (and its trade)."""
        raise NotImplementedError

    def _authenticate(self, request: web.Request, body: str) -> tuple[object, Refusal | None]:
        """The request's parameters, and why the exchange refuses it (None: accepted)."""
        raise NotImplementedError

    def _refuse(self, refusal: Refusal) -> web.Response:
        raise NotImplementedError

    async def _user_message(self, connection: Connection, text: str) -> None:
        raise NotImplementedError

    def _signed(self, handler):
        """A private endpoint: logged as sent, authenticated, rate limited on demand, then handled."""
        async def checked(request: web.Request) -> web.Response:
            body = await request.text()
            self.raw_requests.append(f"{request.method} {request.path_qs} {dict(request.headers)} {body}")
            params, refusal = self._authenticate(request, body)
            if refusal is None and (request.method, request.path) in self.ORDER_ROUTES and self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                refusal = self.RATE_LIMITED
            if refusal is not None:
                self.refused.append((request.path, refusal[1]))
                return self._refuse(refusal)
            self.requests.append((request.method, request.path, params))
            return await handler(params)
        return checked

    def _add(self, symbol: str, side: str, kind: str, price: Decimal, qty: Decimal, client_id: str) -> FakeOrder:
        order = FakeOrder(symbol, self._base(symbol), next(self._ids), client_id, side, kind, price, qty, now_ms(),
                          self.OPEN)
        self.orders[order.order_id] = order
        return order

    def _free(self, asset: str) -> Decimal:
        """The balance less what open orders lock: the quote for bids, the base for asks."""
        locked = sum((o.price * o.left if o.buy else o.left) for o in self.open_orders()
                     if (o.buy and asset == QUOTE) or (not o.buy and o.base == asset))
        return self.balances.get(asset, Decimal(0)) - locked

    def _crosses(self, symbol: str, buy: bool, price: Decimal) -> bool:
        """Would an order at `price` take from the fake's replayed book?"""
        best_bid, best_ask = (Decimal(str(level)) for level in self.book(symbol).best())
        return price >= best_ask if buy else price <= best_bid

    def _subscribed(self) -> list[Connection]:
        return [c for c in self.fx.connections if c.venue == self.STREAM and c.topics and not c.ws.closed]

    async def _user_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if self.user_stream_down:
            await ws.close()
            return ws
        connection = Connection(ws, self.STREAM)
        self.fx.connections.append(connection)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._user_message(connection, frame.data)
        finally:
            self.fx.connections.remove(connection)
        return ws
