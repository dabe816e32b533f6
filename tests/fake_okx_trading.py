"""OKX spot trading on the local fake exchange: signed v5 REST orders and the private websocket's `orders` channel.

Plugs into tests/fake_exchange.FakeExchange (`OkxTrading(fx, key, secret, passphrase)` adds itself to
`fx.extensions`; the account behind it is tests/fake_account.py's), so ccxt's own okx code trades against it:
the same endpoints, fields and `code` / `sCode` / `sMsg` answers as OKX, which ccxt maps to its exception
classes. A private REST request needs OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE, OK-ACCESS-TIMESTAMP (ISO 8601 with
milliseconds, within 30 s of the exchange's clock) and OK-ACCESS-SIGN, the base64 HMAC-SHA256 with the secret
of timestamp + method + path with its query + body. The private websocket takes a `login` signed the same way
over timestamp (in seconds) + 'GET' + '/users/self/verify', and only then a subscription to `orders`.

The fake never matches orders by itself. A test fills an order with `fill(...)`: an `orders` push carrying the
fill (fillSz, fillPx, tradeId, fillFee: OKX tells fills inside order updates) goes to every subscribed private
socket. A placement is checked as OKX checks it: the client order id (letters and digits, at most 32), price
on the tick, size on the lot and above the minimum, the balance. A post-only order that would cross the
replayed book is accepted, then cancelled at once with cancelSource 31, as OKX does (it has no error code for
it). Switches: a clock skew, error 50011 (HTTP 429) for the next n placements, the private stream dropped and
refused, an orphan order placed by "someone else".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from aiohttp import web

from fake_account import QUOTE, FakeAccount, FakeOrder, FakeTrade, Refusal
from fake_exchange import OKX_INSTRUMENTS, Book, Connection, now_ms

SPOT = {inst: info for inst, info in OKX_INSTRUMENTS.items() if info["instType"] == "SPOT"}
WINDOW_MS = 30_000  # OKX refuses a signed request stamped further than this from its clock
CLIENT_ID = re.compile(r"[A-Za-z0-9]{1,32}")
VERIFY = "GET/users/self/verify"  # what a websocket login signs after its timestamp
UID, CONN_ID = "5418912347", "fake0001"
POST_ONLY_TOOK = "31"  # cancelSource: the post-only order would have taken liquidity
BY_USER = "1"  # cancelSource: cancelled by the account's own request
AUTH_HEADERS = (("OK-ACCESS-KEY", "50103"), ("OK-ACCESS-SIGN", "50106"), ("OK-ACCESS-TIMESTAMP", "50107"),
                ("OK-ACCESS-PASSPHRASE", "50104"))


def _answer(rows: list[dict]) -> web.Response:
    """A trade request's answer: one row per order, the top `code` 0 (all done), 2 (some) or 1 (none)."""
    failed = sum(1 for row in rows if row["sCode"] != "0")
    code, msg = ("0", "") if not failed else ("1", "All operations failed") if failed == len(rows) else (
        "2", "Bulk operation partially succeeded")
    return web.json_response({"code": code, "msg": msg, "data": rows})


def _data(data: list[dict]) -> web.Response:
    return web.json_response({"code": "0", "msg": "", "data": data})


def _row(order_id: str, client_id: str, code: str = "0", msg: str = "") -> dict:
    return {"ordId": order_id, "clOrdId": client_id, "tag": "", "ts": str(now_ms()), "sCode": code, "sMsg": msg,
            "subCode": ""}


def _fill_fields(trade: FakeTrade | None) -> dict:
    """What an order push tells of the fill it reports; OKX's sign: a fee charged is negative."""
    if trade is None:
        return {"fillPx": "", "fillSz": "0", "fillTime": "", "fillFee": "0", "fillFeeCcy": "", "tradeId": "",
                "execType": ""}
    return {"fillPx": str(trade.price), "fillSz": str(trade.qty), "fillTime": str(trade.time),
            "fillFee": str(-trade.commission), "fillFeeCcy": trade.commission_asset, "tradeId": str(trade.trade_id),
            "execType": "M"}


def _iso_ms(stamp: str) -> int | None:
    """OK-ACCESS-TIMESTAMP (2020-12-08T09:08:57.715Z) in epoch milliseconds, None when malformed."""
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


@dataclass
class OkxTrading(FakeAccount):
    passphrase: str

    STREAM = "okx-private"
    SIDES = {"buy": "buy", "sell": "sell"}
    LIMIT = "limit"
    OPEN, PARTIAL, FILLED, CANCELED = "live", "partially_filled", "filled", "canceled"
    ORDER_ROUTES = {("POST", "/api/v5/trade/batch-orders")}
    RATE_LIMITED = (429, "50011", "Too Many Requests")

    def register(self, app: web.Application) -> None:
        routes = [("GET", "/api/v5/asset/currencies", self._currencies),
                  ("GET", "/api/v5/account/balance", self._balance),
                  ("POST", "/api/v5/trade/batch-orders", self._place),
                  ("POST", "/api/v5/trade/cancel-order", self._cancel),
                  ("POST", "/api/v5/trade/cancel-batch-orders", self._cancel),
                  ("GET", "/api/v5/trade/orders-pending", self._pending),
                  ("GET", "/api/v5/trade/fills-history", self._fills)]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._signed(handler))
        app.router.add_get("/api/v5/public/time", self._time)
        app.router.add_get("/okx/ws/v5/private", self._user_ws)

    # -- authentication --------------------------------------------------------------------------------------
    def _authenticate(self, request: web.Request, body: str) -> tuple[object, Refusal | None]:
        return json.loads(body) if body else dict(request.query), self._refusal(request, body)

    def _refusal(self, request: web.Request, body: str) -> Refusal | None:
        """OKX's checks, in this order: the four headers there, the key, the timestamp's form and age, the
        passphrase, the signature (over the path with its query, as sent)."""
        headers = request.headers
        for header, code in AUTH_HEADERS:
            if not headers.get(header):
                return 401, code, f'Request header "{header}" cannot be empty.'
        if headers["OK-ACCESS-KEY"] != self.api_key:
            return 401, "50111", "Invalid OK-ACCESS-KEY."
        stamp = headers["OK-ACCESS-TIMESTAMP"]
        stamp_ms = _iso_ms(stamp)
        if stamp_ms is None:
            return 401, "50112", "Invalid OK-ACCESS-TIMESTAMP."
        if abs(stamp_ms - self._clock_ms()) > WINDOW_MS:
            return 401, "50102", "Timestamp request expired."
        if headers["OK-ACCESS-PASSPHRASE"] != self.passphrase:
            return 401, "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.'
        signed = stamp + request.method + request.raw_path + body
        if not hmac.compare_digest(headers["OK-ACCESS-SIGN"], self._sign(signed)):
            return 401, "50113", "Invalid signature."
        return None

    def _refuse(self, refusal: Refusal) -> web.Response:
        status, code, msg = refusal
        return web.json_response({"code": code, "msg": msg, "data": []}, status=status)

    def _sign(self, text: str) -> str:
        return base64.b64encode(hmac.new(self.secret.encode(), text.encode(), hashlib.sha256).digest()).decode()

    def _clock_ms(self) -> int:
        return now_ms() + self.skew_ms

    async def _time(self, request: web.Request) -> web.Response:
        return _data([{"ts": str(self._clock_ms())}])

    # -- the account -----------------------------------------------------------------------------------------
    def book(self, symbol: str) -> Book:
        return self.fx.okx_books[symbol]

    def _base(self, symbol: str) -> str:
        return SPOT[symbol]["baseCcy"]

    async def _currencies(self, p: dict) -> web.Response:
        """The wallet's currencies, which ccxt reads with the markets once it has keys."""
        return _data([{"ccy": ccy, "name": ccy, "chain": f"{ccy}-{ccy}", "canDep": True, "canWd": True,
                       "canInternal": True, "minWd": "0.0001", "wdTickSz": "8", "mainNet": True}
                      for ccy in self.balances])

    async def _balance(self, p: dict) -> web.Response:
        details = [{"ccy": ccy, "eq": str(amount), "cashBal": str(amount), "availBal": str(self._free(ccy)),
                    "frozenBal": str(amount - self._free(ccy)), "uTime": str(now_ms())}
                   for ccy, amount in self.balances.items()]
        return _data([{"uTime": str(now_ms()), "totalEq": "", "details": details}])

    # -- orders ------------------------------------------------------------------------------------------------
    async def _place(self, entries: list[dict]) -> web.Response:
        return _answer([await self._place_one(entry) for entry in entries])

    async def _place_one(self, entry: dict) -> dict:
        client_id = entry.get("clOrdId", "")
        refusal = self._placement_refusal(entry)
        if refusal is not None:
            return _row("", client_id, *refusal)
        buy, price = entry["side"] == "buy", Decimal(entry["px"])
        order = self._add(entry["instId"], entry["side"], entry["ordType"], price, Decimal(entry["sz"]), client_id)
        if order.type == "post_only" and self._crosses(order.symbol, buy, price):
            order.status = self.CANCELED  # accepted, then cancelled: OKX never lets a post-only order take
            await self._report(order, cancel_source=POST_ONLY_TOOK)
        else:
            await self._report(order)
        return _row(str(order.order_id), client_id, "0", "Order placed")

    def _placement_refusal(self, entry: dict) -> tuple[str, str] | None:
        """(sCode, sMsg) of OKX's refusal of one order, or None."""
        inst = SPOT.get(entry.get("instId", ""))
        if inst is None:
            return "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist."
        for name, allowed in (("tdMode", ("cash",)), ("side", ("buy", "sell")), ("ordType", ("limit", "post_only"))):
            if entry.get(name) not in allowed:
                return "51000", f"Parameter {name} error"
        client_id = entry.get("clOrdId", "")
        if client_id and not CLIENT_ID.fullmatch(client_id):
            return "51000", "Parameter clOrdId error"
        if client_id and any(o.client_id == client_id for o in self.open_orders()):
            return "51016", "Client order ID already exists."
        price, size = Decimal(entry["px"]), Decimal(entry["sz"])
        if price % Decimal(inst["tickSz"]):
            return "51000", "Parameter px error"
        if size % Decimal(inst["lotSz"]):
            return "51121", "Order quantity must be a multiple of the lot size."
        if size < Decimal(inst["minSz"]):
            return "51020", "Your order should meet or exceed the minimum order amount."
        need, asset = (price * size, QUOTE) if entry["side"] == "buy" else (size, inst["baseCcy"])
        if need > self._free(asset):
            return "51008", f"Order failed. Insufficient {asset} balance in account."
        return None

    async def _cancel(self, body: dict | list[dict]) -> web.Response:
        """cancel-order (one order) and cancel-batch-orders (a list)."""
        return _answer([await self._cancel_one(entry) for entry in (body if isinstance(body, list) else [body])])

    async def _cancel_one(self, entry: dict) -> dict:
        order = next((o for o in self.open_orders(entry.get("instId")) if str(o.order_id) == entry.get("ordId")
                      or (entry.get("clOrdId") and o.client_id == entry.get("clOrdId"))), None)
        if order is None:
            return _row(entry.get("ordId", ""), entry.get("clOrdId", ""), "51400",
                        "Order cancellation failed as the order has been filled, canceled or does not exist.")
        order.status = self.CANCELED
        await self._report(order, cancel_source=BY_USER)
        return _row(str(order.order_id), order.client_id)

    async def _pending(self, p: dict) -> web.Response:
        orders = sorted(self.open_orders(p.get("instId")), key=lambda o: -o.order_id)  # newest first
        return _data([self._order_json(o) for o in orders])

    async def _fills(self, p: dict) -> web.Response:
        """fills-history: the account's fills from `begin` (ms), newest first, 100 at most."""
        begin = int(p.get("begin", 0))
        fills = [self._fill_json(t) for t in reversed(self.trades)
                 if t.time >= begin and p.get("instId") in (None, t.symbol)]
        return _data(fills[:100])

    def _fill_json(self, trade: FakeTrade) -> dict:
        order = self.orders[trade.order_id]
        return {"instType": "SPOT", "instId": trade.symbol, "tradeId": str(trade.trade_id),
                "ordId": str(order.order_id), "clOrdId": order.client_id, "billId": str(trade.trade_id + 10**6),
                "tag": "", "fillPx": str(trade.price), "fillSz": str(trade.qty), "side": order.side, "posSide": "net",
                "execType": "M", "feeCcy": trade.commission_asset, "fee": str(-trade.commission),
                "ts": str(trade.time), "fillTime": str(trade.time)}

    def _order_json(self, order: FakeOrder, trade: FakeTrade | None = None, cancel_source: str = "") -> dict:
        """The order as OKX shows it (REST and pushes alike); a push for a fill carries the fill's fields."""
        fees = sum((t.commission for t in self.trades if t.order_id == order.order_id), Decimal(0))
        received = order.base if order.buy else QUOTE
        return {"instType": "SPOT", "instId": order.symbol, "ordId": str(order.order_id),
                "clOrdId": order.client_id, "tag": "", "px": str(order.price), "sz": str(order.qty),
                "ordType": order.type, "side": order.side, "posSide": "net", "tdMode": "cash", "tgtCcy": "",
                "accFillSz": str(order.filled), "avgPx": str(order.quote_filled / order.filled) if order.filled else "",
                "state": order.status, "fee": str(-fees), "feeCcy": received, "rebate": "0", "rebateCcy": received,
                "category": "normal", "cancelSource": cancel_source, "reduceOnly": "false", "cTime": str(order.time),
                "uTime": str(now_ms())} | _fill_fields(trade)

    # -- the private websocket ---------------------------------------------------------------------------------
    async def _user_message(self, connection: Connection, text: str) -> None:
        if text == "ping":
            await connection.ws.send_str("pong")
            return
        request = json.loads(text)
        op, args = request.get("op"), request.get("args") or [{}]
        if op == "login":
            await connection.ws.send_json(self._login(connection, args[0]))
        elif op == "subscribe":
            for arg in args:
                await connection.ws.send_json(self._subscribe(connection, arg))
        else:
            await connection.ws.send_json(_ws_error("60012", f"Illegal request: {text}"))

    def _login(self, connection: Connection, arg: dict) -> dict:
        refusal = self._login_refusal(arg)
        if refusal is not None:
            self.refused.append(("login", refusal[0]))
            return _ws_error(*refusal)
        connection.logged_in = True
        return {"event": "login", "code": "0", "msg": "", "connId": CONN_ID}

    def _login_refusal(self, arg: dict) -> tuple[str, str] | None:
        """The login's checks, in the REST checks' order: key, timestamp (seconds), passphrase, signature."""
        if arg.get("apiKey") != self.api_key:
            return "60005", "Invalid OK-ACCESS-KEY"
        stamp = str(arg.get("timestamp", ""))
        if not stamp.isdigit():
            return "60004", "Invalid timestamp"
        if abs(int(stamp) * 1000 - self._clock_ms()) > WINDOW_MS:
            return "60006", "Timestamp request expired"
        if arg.get("passphrase") != self.passphrase:
            return "60024", "Wrong passphrase"
        if not hmac.compare_digest(str(arg.get("sign", "")), self._sign(stamp + VERIFY)):
            return "60007", "Invalid sign"
        return None

    def _subscribe(self, connection: Connection, arg: dict) -> dict:
        channel, kind = arg.get("channel"), arg.get("instType")
        if channel != "orders" or kind not in ("SPOT", "ANY"):
            return _ws_error("60018", f"Wrong URL or channel:{channel},instType:{kind} doesn't exist")
        if not connection.logged_in:
            return _ws_error("60011", "Please log in")
        connection.topics.add((channel, kind))
        return {"event": "subscribe", "arg": arg, "connId": CONN_ID}

    async def _report(self, order: FakeOrder, trade: FakeTrade | None = None, cancel_source: str = "") -> None:
        """An `orders` push to every socket subscribed to the channel, under the arguments it subscribed with."""
        data = self._order_json(order, trade, cancel_source)
        for connection in self._subscribed():
            for channel, kind in connection.topics:
                await connection.ws.send_json({"arg": {"channel": channel, "instType": kind, "uid": UID},
                                               "data": [data]})


def _ws_error(code: str, msg: str) -> dict:
    return {"event": "error", "code": code, "msg": msg, "connId": CONN_ID}
