"""Binance spot trading on the local fake exchange: signed REST orders and the websocket user-data stream.

Plugs into tests/fake_exchange.FakeExchange (`fx.extensions.append(BinanceTrading(fx, key, secret))`), so
ccxt's own binance code trades against it: the same endpoints, payload fields and error JSON as Binance,
which ccxt maps to its exception classes. Signed requests need the X-MBX-APIKEY header and a valid
HMAC-SHA256 `signature` over the query as sent, with a `timestamp` inside the receive window.

The fake never matches orders by itself. A test fills an order with `fill(...)` (an execution report and
a balance update go to every subscribed user stream), and a post-only order that would cross the replayed
book is refused as Binance refuses it. Switches: a clock skew (timestamps then fall outside the window),
HTTP 429 for the next n order requests, the user stream dropped and refused, an orphan order placed by
"someone else".
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from fake_exchange import BINANCE_SIZES, MIN_NOTIONAL, Connection, FakeExchange, now_ms

USER_VENUE = "binance-user"  # the Connection.venue of user-data sockets
RECV_WINDOW_MS = 5000  # Binance's default when the request names none
SYMBOLS = {symbol: symbol[:-4] for market, symbol in BINANCE_SIZES if market == "spot"}  # BTCUSDT -> BTC
COMMISSION = Decimal("0.001")  # 0.1%, in the asset received, as Binance charges without BNB


def _error(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


@dataclass
class FakeOrder:
    symbol: str
    order_id: int
    client_id: str
    side: str  # BUY / SELL
    type: str  # LIMIT / LIMIT_MAKER
    price: Decimal
    qty: Decimal
    time: int
    filled: Decimal = Decimal(0)
    quote_filled: Decimal = Decimal(0)
    status: str = "NEW"

    def rest(self) -> dict:
        """The order as Binance's REST API shows it."""
        return {"symbol": self.symbol, "orderId": self.order_id, "orderListId": -1, "clientOrderId": self.client_id,
                "price": str(self.price), "origQty": str(self.qty), "executedQty": str(self.filled),
                "cummulativeQuoteQty": str(self.quote_filled), "status": self.status,
                "timeInForce": "GTC", "type": self.type, "side": self.side, "stopPrice": "0.00000000",
                "icebergQty": "0.00000000", "time": self.time, "updateTime": now_ms(), "isWorking": True,
                "workingTime": self.time, "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE"}


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

    def rest(self) -> dict:
        return {"symbol": self.symbol, "id": self.trade_id, "orderId": self.order_id, "orderListId": -1,
                "price": str(self.price), "qty": str(self.qty), "quoteQty": str(self.price * self.qty),
                "commission": str(self.commission), "commissionAsset": self.commission_asset, "time": self.time,
                "isBuyer": self.buyer, "isMaker": True, "isBestMatch": True}


@dataclass
class BinanceTrading:
    fx: FakeExchange
    api_key: str
    secret: str
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(100_000), "BTC": Decimal(2),
                                                                  "ETH": Decimal(20)})
    skew_ms: int = 0  # the exchange's clock minus ours: requests stamped with our clock fall outside the window
    rate_limit_next: int = 0  # the next n order requests answer HTTP 429
    user_stream_down: bool = False  # user-data sockets are refused
    orders: dict[int, FakeOrder] = field(default_factory=dict)  # every order, open or not
    trades: list[FakeTrade] = field(default_factory=list)
    requests: list[tuple[str, str, dict]] = field(default_factory=list)  # (method, path, params) accepted
    refused: list[tuple[str, int]] = field(default_factory=list)  # (path, code) refused
    raw_requests: list[str] = field(default_factory=list)  # what came over the wire (headers, query, body)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(50_000)
        self.fx.extensions.append(self)

    def register(self, app: web.Application) -> None:
        routes = [("POST", "/api/v3/order", self._new_order), ("DELETE", "/api/v3/order", self._cancel_order),
                  ("DELETE", "/api/v3/openOrders", self._cancel_all), ("GET", "/api/v3/openOrders", self._open),
                  ("GET", "/api/v3/order", self._query_order), ("GET", "/api/v3/account", self._account),
                  ("GET", "/api/v3/myTrades", self._my_trades),
                  ("GET", "/sapi/v1/capital/config/getall", self._coins),
                  ("GET", "/sapi/v1/margin/allPairs", self._no_margin),
                  ("GET", "/sapi/v1/margin/isolated/allPairs", self._no_margin)]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._signed(handler))
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/ws-api/ws-api/v3", self._user_ws)

    # -- what a test does ---------------------------------------------------------------------------------
    def open_orders(self, symbol: str | None = None) -> list[FakeOrder]:
        return [o for o in self.orders.values() if o.status in ("NEW", "PARTIALLY_FILLED")
                and (symbol is None or o.symbol == symbol)]

    def by_client_id(self, client_id: str) -> FakeOrder:
        return next(o for o in self.orders.values() if o.client_id == client_id)

    async def fill(self, order: FakeOrder, qty: str | Decimal | None = None) -> FakeTrade:
        """Someone takes `qty` (default: all that is left) of our resting order at its price."""
        amount = order.qty - order.filled if qty is None else Decimal(qty)
        base = SYMBOLS[order.symbol]
        buy = order.side == "BUY"
        received, asset = (amount, base) if buy else (amount * order.price, "USDT")
        trade = FakeTrade(order.symbol, next(self._trade_ids), order.order_id, order.price, amount,
                          received * COMMISSION, asset, now_ms(), buy)
        self.trades.append(trade)
        order.filled += amount
        order.quote_filled += amount * order.price
        order.status = "FILLED" if order.filled >= order.qty else "PARTIALLY_FILLED"
        sign = 1 if buy else -1
        self.balances[base] += sign * amount
        self.balances["USDT"] -= sign * amount * order.price
        self.balances[asset] -= trade.commission
        await self._report(order, "TRADE", trade)
        return trade

    def place_orphan(self, symbol: str, side: str, price: str, qty: str) -> FakeOrder:
        """An order this session never sent (left by a crashed session, or another program on the account)."""
        return self._add(symbol, side.upper(), "LIMIT", Decimal(price), Decimal(qty), f"stray-{next(self._ids)}")

    async def drop_user_stream(self) -> None:
        """The user-data connection breaks and stays refused until `restore_user_stream`."""
        self.user_stream_down = True
        for connection in [c for c in self.fx.connections if c.venue == USER_VENUE]:
            await connection.ws.close()

    def restore_user_stream(self) -> None:
        self.user_stream_down = False

    @property
    def user_streams(self) -> int:
        return sum(1 for c in self.fx.connections if c.venue == USER_VENUE and c.topics)

    # -- REST ------------------------------------------------------------------------------------------------
    def _signed(self, handler):
        async def checked(request: web.Request) -> web.Response:
            body = await request.text()
            raw = request.query_string if request.method in ("GET", "DELETE") else body
            self.raw_requests.append(f"{request.method} {request.path_qs} {dict(request.headers)} {body}")
            params = dict(parse_qsl(raw, keep_blank_values=True))
            refusal = self._authenticate(request.headers.get("X-MBX-APIKEY"), raw, params)
            if refusal is None and request.path == "/api/v3/order" and request.method == "POST" \
                    and self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                refusal = 429, -1003, "Too many requests; current limit of IP is 6000 request weight per 1 MINUTE."
            if refusal is not None:
                self.refused.append((request.path, refusal[1]))
                return _error(*refusal)
            self.requests.append((request.method, request.path, params))
            return await handler(params)
        return checked

    def _authenticate(self, key: str | None, raw: str, params: dict) -> tuple[int, int, str] | None:
        """Binance's checks in its order: key, mandatory parameters, receive window, signature."""
        if not key:
            return 401, -2014, "API-key format invalid."
        if key != self.api_key:
            return 401, -2015, "Invalid API-key, IP, or permissions for action."
        for name in ("timestamp", "signature"):
            if not params.get(name):
                return 400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        window = int(params.get("recvWindow", RECV_WINDOW_MS))
        if abs(int(params["timestamp"]) - (now_ms() + self.skew_ms)) > window:
            return 400, -1021, "Timestamp for this request is outside of the recvWindow."
        payload, _, signature = raw.rpartition("&signature=")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return 400, -1022, "Signature for this request is not valid."
        return None

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": now_ms() + self.skew_ms})

    async def _new_order(self, p: dict) -> web.Response:
        symbol, side, kind = p.get("symbol", ""), p.get("side", ""), p.get("type", "")
        if symbol not in SYMBOLS:
            return _error(400, -1121, "Invalid symbol.")
        if kind not in ("LIMIT", "LIMIT_MAKER"):
            return _error(400, -1116, "Invalid orderType.")
        if any(o.client_id == p.get("newClientOrderId") for o in self.open_orders()):
            return _error(400, -2010, "Duplicate order sent.")
        price, qty = Decimal(p["price"]), Decimal(p["quantity"])
        tick, step = (Decimal(x) for x in BINANCE_SIZES[("spot", symbol)])
        if price % tick:
            return _error(400, -1013, "Filter failure: PRICE_FILTER")
        if qty % step or qty < step:
            return _error(400, -1013, "Filter failure: LOT_SIZE")
        if price * qty < Decimal(MIN_NOTIONAL):
            return _error(400, -1013, "Filter failure: NOTIONAL")
        buy = side == "BUY"
        best_bid, best_ask = self.fx.books[("spot", symbol)].best()
        if kind == "LIMIT_MAKER" and (price >= Decimal(str(best_ask)) if buy else price <= Decimal(str(best_bid))):
            return _error(400, -2010, "Order would immediately match and take.")
        need, asset = (price * qty, "USDT") if buy else (qty, SYMBOLS[symbol])
        if need > self._free(asset):
            return _error(400, -2010, "Account has insufficient balance for requested action.")
        order = self._add(symbol, side, kind, price, qty, p.get("newClientOrderId") or f"auto-{next(self._ids)}")
        await self._report(order, "NEW")
        return web.json_response(order.rest() | {"transactTime": order.time, "fills": []})

    def _add(self, symbol: str, side: str, kind: str, price: Decimal, qty: Decimal, client_id: str) -> FakeOrder:
        order = FakeOrder(symbol, next(self._ids), client_id, side, kind, price, qty, now_ms())
        self.orders[order.order_id] = order
        return order

    def _free(self, asset: str) -> Decimal:
        locked = sum((o.price * (o.qty - o.filled) if o.side == "BUY" else o.qty - o.filled)
                     for o in self.open_orders() if (o.side == "BUY") == (asset == "USDT")
                     and (asset == "USDT" or SYMBOLS[o.symbol] == asset))
        return self.balances.get(asset, Decimal(0)) - locked

    def _find(self, p: dict) -> FakeOrder | None:
        for order in self.orders.values():
            if order.symbol == p.get("symbol") and (str(order.order_id) == p.get("orderId")
                                                    or order.client_id == p.get("origClientOrderId")):
                return order
        return None

    async def _cancel_order(self, p: dict) -> web.Response:
        order = self._find(p)
        if order is None or order.status not in ("NEW", "PARTIALLY_FILLED"):
            return _error(400, -2011, "Unknown order sent.")
        await self._cancel(order)
        return web.json_response(order.rest() | {"origClientOrderId": order.client_id})

    async def _cancel_all(self, p: dict) -> web.Response:
        orders = self.open_orders(p.get("symbol"))
        if not orders:
            return _error(400, -2011, "Unknown order sent.")
        for order in orders:
            await self._cancel(order)
        return web.json_response([o.rest() | {"origClientOrderId": o.client_id} for o in orders])

    async def _cancel(self, order: FakeOrder) -> None:
        order.status = "CANCELED"
        await self._report(order, "CANCELED")

    async def _open(self, p: dict) -> web.Response:
        return web.json_response([o.rest() for o in self.open_orders(p.get("symbol"))])

    async def _query_order(self, p: dict) -> web.Response:
        order = self._find(p)
        if order is None:
            return _error(400, -2013, "Order does not exist.")
        return web.json_response(order.rest())

    async def _account(self, p: dict) -> web.Response:
        balances = [{"asset": asset, "free": str(self._free(asset)), "locked": str(amount - self._free(asset))}
                    for asset, amount in self.balances.items()]
        return web.json_response({"makerCommission": 10, "takerCommission": 10, "canTrade": True,
                                  "canWithdraw": False, "canDeposit": False, "updateTime": now_ms(),
                                  "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"],
                                  "uid": 354937868})

    async def _coins(self, p: dict) -> web.Response:
        """The wallet's coin list, which ccxt reads with the markets once it has keys."""
        return web.json_response([{"coin": asset, "name": asset, "depositAllEnable": True, "withdrawAllEnable": True,
                                   "free": str(amount), "locked": "0", "trading": True, "networkList": []}
                                  for asset, amount in self.balances.items()])

    async def _no_margin(self, p: dict) -> web.Response:
        return web.json_response([])  # a spot-only account

    async def _my_trades(self, p: dict) -> web.Response:
        since = int(p.get("startTime", 0))
        trades = [t.rest() for t in self.trades if t.symbol == p.get("symbol") and t.time >= since]
        return web.json_response(trades[:int(p.get("limit", 500))])

    # -- the user-data stream (Binance's websocket API, as ccxt uses it for spot) -------------------------------
    async def _user_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if self.user_stream_down:
            await ws.close()
            return ws
        connection = Connection(ws, USER_VENUE)
        self.fx.connections.append(connection)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._user_request(connection, json.loads(frame.data))
        finally:
            self.fx.connections.remove(connection)
        return ws

    async def _user_request(self, connection: Connection, request: dict) -> None:
        ident, params = request.get("id"), dict(request.get("params") or {})
        if request.get("method") != "userDataStream.subscribe.signature":
            answer = {"status": 400, "error": {"code": -1100, "msg": "Unsupported method in this fake."}}
        else:
            signature = params.pop("signature", "")
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            refusal = self._authenticate(params.get("apiKey"), f"{payload}&signature={signature}",
                                         params | {"signature": signature})
            if refusal is None:
                connection.topics.add(("user", "spot"))
                answer = {"status": 200, "result": {"subscriptionId": 0}}
            else:
                self.refused.append(("userDataStream.subscribe.signature", refusal[1]))
                answer = {"status": refusal[0], "error": {"code": refusal[1], "msg": refusal[2]}}
        await connection.ws.send_str(json.dumps({"id": ident} | answer | {"rateLimits": []}))

    async def _report(self, order: FakeOrder, execution: str, trade: FakeTrade | None = None) -> None:
        """An executionReport (and, for a trade, an outboundAccountPosition) to every subscribed user stream."""
        t = now_ms()
        report = {"e": "executionReport", "E": t, "s": order.symbol, "c": order.client_id, "S": order.side,
                  "o": order.type, "f": "GTC", "q": str(order.qty), "p": str(order.price), "P": "0.00000000",
                  "F": "0.00000000", "g": -1, "C": "", "x": execution, "X": order.status, "r": "NONE",
                  "i": order.order_id, "l": str(trade.qty) if trade else "0.00000000",
                  "z": str(order.filled), "L": str(trade.price) if trade else "0.00000000",
                  "n": str(trade.commission) if trade else "0", "N": trade.commission_asset if trade else None,
                  "T": t, "t": trade.trade_id if trade else -1, "v": 0, "I": next(self._ids), "w": True,
                  "m": trade is not None, "M": False, "O": order.time, "Z": str(order.quote_filled),
                  "Y": str(trade.price * trade.qty) if trade else "0.00000000", "Q": "0.00000000",
                  "W": order.time, "V": "NONE"}
        messages = [report]
        if trade is not None:
            messages.append({"e": "outboundAccountPosition", "E": t, "u": t, "B": [
                {"a": asset, "f": str(self._free(asset)), "l": str(amount - self._free(asset))}
                for asset, amount in self.balances.items()]})
        targets = [c for c in self.fx.connections if c.venue == USER_VENUE and c.topics and not c.ws.closed]
        for message in messages:
            text = json.dumps({"subscriptionId": 0, "event": message})
            for connection in targets:
                await connection.ws.send_str(text)
