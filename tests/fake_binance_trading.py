"""Binance spot trading on the local fake exchange: signed REST orders and the websocket user-data stream.

Plugs into tests/fake_exchange.FakeExchange (`BinanceTrading(fx, key, secret)` adds itself to `fx.extensions`;
the account behind it is tests/fake_account.py's), so ccxt's own binance code trades against it: the same
endpoints, payload fields and error JSON as Binance, which ccxt maps to its exception classes. Signed requests need the X-MBX-APIKEY header and a valid
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
import json
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl

from aiohttp import web

from fake_account import QUOTE, FakeAccount, FakeOrder, FakeTrade, Refusal
from fake_exchange import BINANCE_SIZES, MIN_NOTIONAL, Book, Connection, now_ms

RECV_WINDOW_MS = 5000  # Binance's default when the request names none
SYMBOLS = {symbol: symbol[:-4] for market, symbol in BINANCE_SIZES if market == "spot"}  # BTCUSDT -> BTC


def _error(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _order_json(order: FakeOrder) -> dict:
    """The order as Binance's REST API shows it."""
    return {"symbol": order.symbol, "orderId": order.order_id, "orderListId": -1, "clientOrderId": order.client_id,
            "price": str(order.price), "origQty": str(order.qty), "executedQty": str(order.filled),
            "cummulativeQuoteQty": str(order.quote_filled), "status": order.status,
            "timeInForce": "GTC", "type": order.type, "side": order.side, "stopPrice": "0.00000000",
            "icebergQty": "0.00000000", "time": order.time, "updateTime": now_ms(), "isWorking": True,
            "workingTime": order.time, "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE"}


def _trade_json(trade: FakeTrade) -> dict:
    return {"symbol": trade.symbol, "id": trade.trade_id, "orderId": trade.order_id, "orderListId": -1,
            "price": str(trade.price), "qty": str(trade.qty), "quoteQty": str(trade.price * trade.qty),
            "commission": str(trade.commission), "commissionAsset": trade.commission_asset, "time": trade.time,
            "isBuyer": trade.buyer, "isMaker": True, "isBestMatch": True}


@dataclass
class BinanceTrading(FakeAccount):
    STREAM = "binance-user"
    SIDES = {"buy": "BUY", "sell": "SELL"}
    LIMIT = "LIMIT"
    OPEN, PARTIAL, FILLED, CANCELED = "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED"
    ORDER_ROUTES = {("POST", "/api/v3/order")}
    RATE_LIMITED = (429, -1003, "Too many requests; current limit of IP is 6000 request weight per 1 MINUTE.")

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

    # -- REST ------------------------------------------------------------------------------------------------
    def _authenticate(self, request: web.Request, body: str) -> tuple[dict, Refusal | None]:
        raw = request.query_string if request.method in ("GET", "DELETE") else body
        params = dict(parse_qsl(raw, keep_blank_values=True))
        return params, self._check(request.headers.get("X-MBX-APIKEY"), raw, params)

    def _refuse(self, refusal: Refusal) -> web.Response:
        return _error(*refusal)

    def _check(self, key: str | None, raw: str, params: dict) -> Refusal | None:
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

    def book(self, symbol: str) -> Book:
        return self.fx.books[("spot", symbol)]

    def _base(self, symbol: str) -> str:
        return SYMBOLS[symbol]

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
        if kind == "LIMIT_MAKER" and self._crosses(symbol, buy, price):
            return _error(400, -2010, "Order would immediately match and take.")
        need, asset = (price * qty, QUOTE) if buy else (qty, SYMBOLS[symbol])
        if need > self._free(asset):
            return _error(400, -2010, "Account has insufficient balance for requested action.")
        order = self._add(symbol, side, kind, price, qty, p.get("newClientOrderId") or f"auto-{next(self._ids)}")
        await self._report(order)
        return web.json_response(_order_json(order) | {"transactTime": order.time, "fills": []})

    def _find(self, p: dict) -> FakeOrder | None:
        for order in self.orders.values():
            if order.symbol == p.get("symbol") and (str(order.order_id) == p.get("orderId")
                                                    or order.client_id == p.get("origClientOrderId")):
                return order
        return None

    async def _cancel_order(self, p: dict) -> web.Response:
        order = self._find(p)
        if order is None or order.status not in (self.OPEN, self.PARTIAL):
            return _error(400, -2011, "Unknown order sent.")
        await self._cancel(order)
        return web.json_response(_order_json(order) | {"origClientOrderId": order.client_id})

    async def _cancel_all(self, p: dict) -> web.Response:
        orders = self.open_orders(p.get("symbol"))
        if not orders:
            return _error(400, -2011, "Unknown order sent.")
        for order in orders:
            await self._cancel(order)
        return web.json_response([_order_json(o) | {"origClientOrderId": o.client_id} for o in orders])

    async def _cancel(self, order: FakeOrder) -> None:
        order.status = self.CANCELED
        await self._report(order)

    async def _open(self, p: dict) -> web.Response:
        return web.json_response([_order_json(o) for o in self.open_orders(p.get("symbol"))])

    async def _query_order(self, p: dict) -> web.Response:
        order = self._find(p)
        if order is None:
            return _error(400, -2013, "Order does not exist.")
        return web.json_response(_order_json(order))

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
        trades = [_trade_json(t) for t in self.trades if t.symbol == p.get("symbol") and t.time >= since]
        return web.json_response(trades[:int(p.get("limit", 500))])

    # -- the user-data stream (Binance's websocket API, as ccxt uses it for spot) -------------------------------
    async def _user_message(self, connection: Connection, text: str) -> None:
        request = json.loads(text)
        ident, params = request.get("id"), dict(request.get("params") or {})
        if request.get("method") != "userDataStream.subscribe.signature":
            answer = {"status": 400, "error": {"code": -1100, "msg": "Unsupported method in this fake."}}
        else:
            signature = params.pop("signature", "")
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            refusal = self._check(params.get("apiKey"), f"{payload}&signature={signature}",
                                  params | {"signature": signature})
            if refusal is None:
                connection.topics.add(("user", "spot"))
                answer = {"status": 200, "result": {"subscriptionId": 0}}
            else:
                self.refused.append(("userDataStream.subscribe.signature", refusal[1]))
                answer = {"status": refusal[0], "error": {"code": refusal[1], "msg": refusal[2]}}
        await connection.ws.send_str(json.dumps({"id": ident} | answer | {"rateLimits": []}))

    async def _report(self, order: FakeOrder, trade: FakeTrade | None = None) -> None:
        """An executionReport (and, for a trade, an outboundAccountPosition) to every subscribed user stream."""
        t = now_ms()
        execution = "TRADE" if trade else order.status  # NEW or CANCELED, as the order's state
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
        targets = self._subscribed()
        for message in messages:
            for connection in targets:
                await connection.ws.send_json({"subscriptionId": 0, "event": message})
