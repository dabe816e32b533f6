"""A local exchange for the live-feed tests: Binance and OKX REST and websocket formats on 127.0.0.1.

It replays the real captures in ../shared/data. Each market (a Binance symbol on spot or USD-M, or the
OKX capture) is one timeline played once, at `speed` times real time, starting with the first
subscription to it; every connection sees the same market, as on a real exchange. The server keeps
its own book from the capture, so a REST depth request or an OKX (re)subscription gets the book as it
stands at that moment. Exchange timestamps are moved to the moment of sending, as a live exchange's are.

Switches for what real networks do: drop a depth diff, close every socket, refuse the next
connections, inject a malformed frame, go silent, answer REST with HTTP 429.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
NS_PER_S = 1e9  # Binance capture receive times are in nanoseconds


def now_ms() -> int:
    return int(time.time() * 1000)


# -- Binance ---------------------------------------------------------------------------------------------
BINANCE_FILES = {("spot", "BTCUSDT"): "btcusdt_spot_20240808.gz", ("spot", "ETHUSDT"): "ethusdt_spot_20240808.gz",
                 ("usdm", "BTCUSDT"): "btcusdt_usdm_20240808.gz"}
BINANCE_SIZES = {("spot", "BTCUSDT"): ("0.01000000", "0.00001000"), ("spot", "ETHUSDT"): ("0.01000000", "0.00010000"),
                 ("usdm", "BTCUSDT"): ("0.10", "0.001")}
FUNDING_RATE = "0.00010000"
MIN_NOTIONAL = "5.00000000"  # Binance spot's NOTIONAL filter: the smallest order value in USDT
NEXT_FUNDING_MS = 1723161600000  # 2024-08-09T00:00:00Z, the settlement after the capture


@dataclass
class Message:
    t: float  # capture receive time, seconds
    stream: str  # depth / trade / bookTicker / markPrice (Binance); books / trades (OKX)
    data: dict
    key: str = ""  # OKX instId


@dataclass
class BinanceCapture:
    market: str  # spot / usdm
    symbol: str  # exchange id, BTCUSDT
    snapshot: dict
    timeline: list[Message]

    @property
    def tickers(self) -> dict[int, tuple[float, float]]:
        """bookTicker update id -> (best bid, best ask), the exchange's own view of the top of book."""
        quotes = [m.data for m in self.timeline if m.stream == "bookTicker"]
        return {quote["u"]: (float(quote["b"]), float(quote["a"])) for quote in quotes}


def load_binance(market: str, symbol: str, seconds: float) -> BinanceCapture:
    """The capture from its REST snapshot on, for `seconds` of capture time, with a markPrice a second."""
    snapshot, timeline, start, early = None, [], None, []
    last_mark = None
    with gzip.open(DATA / "binance" / BINANCE_FILES[(market, symbol)], "rt") as fh:
        for line in fh:
            stamp, _, body = line.partition(" ")
            t = int(stamp) / NS_PER_S
            message = json.loads(body)
            if "lastUpdateId" in message:
                snapshot, start = message, t
                # Binance's rules: diffs received before the snapshot still count if they end after it
                # (spot: u > lastUpdateId; USD-M: u >= lastUpdateId); the server plays them first.
                first_u = snapshot["lastUpdateId"] + (1 if market == "spot" else 0)
                timeline = [Message(t, "depth", data) for data in early if data["u"] >= first_u]
                continue
            stream, data = message["stream"].split("@")[1], message["data"]
            if snapshot is None:
                if stream == "depth":
                    early.append(data)
                continue
            if t - start > seconds:
                break
            if stream == "depth" and data["u"] < first_u:
                continue
            timeline.append(Message(t, stream, data))
            if stream == "bookTicker":
                mid = (float(data["b"]) + float(data["a"])) / 2
                if market == "usdm" and (last_mark is None or t - last_mark >= 1.0):
                    last_mark = t
                    timeline.append(Message(t, "markPrice", {
                        "e": "markPriceUpdate", "E": int(t * 1000), "s": symbol, "p": f"{mid:.2f}",
                        "i": f"{mid - 5:.2f}", "P": f"{mid:.2f}", "r": FUNDING_RATE, "T": NEXT_FUNDING_MS}))
    return BinanceCapture(market, symbol, snapshot, timeline)


def binance_symbol_info(market: str, symbol: str) -> dict:
    tick, step = BINANCE_SIZES[(market, symbol)]
    base = symbol[:-4]
    filters = [{"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000", "tickSize": tick},
               {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000", "stepSize": step},
               {"filterType": "NOTIONAL", "minNotional": MIN_NOTIONAL, "applyMinToMarket": True,
                "maxNotional": "9000000", "applyMaxToMarket": False, "avgPriceMins": 5}]
    info = {"symbol": symbol, "status": "TRADING", "baseAsset": base, "quoteAsset": "USDT", "baseAssetPrecision": 8,
            "quotePrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "filters": filters}
    if market == "spot":
        return info | {"isSpotTradingAllowed": True, "isMarginTradingAllowed": True, "permissionSets": [["SPOT"]]}
    return info | {"pair": symbol, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
                   "onboardDate": 1569398400000, "marginAsset": "USDT", "pricePrecision": 2, "quantityPrecision": 3,
                   "underlyingType": "COIN"}


# -- OKX -------------------------------------------------------------------------------------------------
OKX_FILE = DATA / "okx" / "OKX.ws.1.0"
OKX_INSTRUMENTS = {
    "BTC-USDT": {"instType": "SPOT", "instId": "BTC-USDT", "baseCcy": "BTC", "quoteCcy": "USDT", "settleCcy": "",
                 "uly": "", "ctVal": "", "ctType": "", "tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001",
                 "lever": "10", "listTime": "1548133413000", "expTime": "", "state": "live"},
    "UNI-USD-SWAP": {"instType": "SWAP", "instId": "UNI-USD-SWAP", "baseCcy": "", "quoteCcy": "", "settleCcy": "UNI",
                     "uly": "UNI-USD", "instFamily": "UNI-USD", "ctVal": "10", "ctMult": "1", "ctValCcy": "USD",
                     "ctType": "inverse", "tickSz": "0.001", "lotSz": "1", "minSz": "1", "lever": "75",
                     "listTime": "1597026383085", "expTime": "", "state": "live"},
}


def load_okx() -> list[Message]:
    """Received `books` and `trades` messages of the OKX capture, one Message per data item."""
    timeline = []
    for line in OKX_FILE.read_text().splitlines():
        stamp, sep, body = line.partition(": ")
        if not sep or " " in stamp or not body.startswith("{"):
            continue  # sent lines and connection lines carry the URL first
        message = json.loads(body)
        channel = message.get("arg", {}).get("channel")
        if "data" not in message or channel not in ("books", "trades"):
            continue
        for item in message["data"]:
            item = dict(item)
            if channel == "books":
                item["action"] = message["action"]
            timeline.append(Message(float(stamp), channel, item, message["arg"]["instId"]))
    return timeline


def okx_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """OKX's CRC32 over the top 25 levels, interleaved bid:ask as the exchange sent them, as a signed int."""
    parts = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


# -- the server's own books ------------------------------------------------------------------------------
class Book:
    """Levels as the exchange's strings, so depth answers and checksums match the wire exactly."""

    def __init__(self, bids, asks) -> None:
        self.bids = {p: q for p, q, *_ in bids}
        self.asks = {p: q for p, q, *_ in asks}

    def apply(self, bids, asks) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, qty, *_ in levels:
                if float(qty) == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty

    def top(self, limit: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        bids = sorted(self.bids.items(), key=lambda level: -float(level[0]))[:limit]
        asks = sorted(self.asks.items(), key=lambda level: float(level[0]))[:limit]
        return bids, asks

    def best(self) -> tuple[float, float]:
        return max(map(float, self.bids)), min(map(float, self.asks))


# -- connections and playback -----------------------------------------------------------------------------
@dataclass
class Connection:
    ws: web.WebSocketResponse
    venue: str  # binance-spot / binance-usdm / okx
    topics: set = field(default_factory=set)  # (stream, exchange symbol)
    logged_in: bool = False  # a private socket whose login was accepted (OKX)


class Player:
    """Plays one timeline once, from the first subscription, at `speed` x real time (paused while silenced)."""

    def __init__(self, exchange: "FakeExchange", timeline: list[Message], on_message) -> None:
        self.exchange = exchange
        self.timeline = timeline
        self.on_message = on_message
        self.sent = 0
        self.done = asyncio.Event()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._play())

    async def _play(self) -> None:
        """Each message at its capture time scaled to the wall clock: a slow machine catches up, never drifts."""
        loop = asyncio.get_running_loop()
        origin = loop.time() - (self.timeline[0].t / self.exchange.speed if self.timeline else 0.0)
        for message in self.timeline:
            if not self.exchange.loud.is_set():
                silent_from = loop.time()
                await self.exchange.loud.wait()
                origin += loop.time() - silent_from
            delay = origin + message.t / self.exchange.speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.on_message(message)
            self.sent += 1
        self.done.set()


class FakeExchange:
    def __init__(self, binance: list[BinanceCapture] = (), okx: list[Message] | None = None,
                 speed: float = 20.0) -> None:
        self.speed = speed
        self.binance = {(c.market, c.symbol): c for c in binance}
        self.books = {key: Book(c.snapshot["bids"], c.snapshot["asks"]) for key, c in self.binance.items()}
        self.last_u = {key: c.snapshot["lastUpdateId"] for key, c in self.binance.items()}
        self.trades: dict[tuple, list[dict]] = {key: [] for key in self.binance}
        self.marks: dict[tuple, dict] = {}
        self.players = {key: Player(self, c.timeline, self._binance_message(key)) for key, c in self.binance.items()}
        self.okx_books: dict[str, Book] = {}
        self.okx_seq: dict[str, int] = {}
        self.okx_checksums_ok = 0  # captured checksums our book reproduced
        if okx is not None:
            self.players["okx"] = Player(self, okx, self._okx_message)
        self.connections: list[Connection] = []
        self.loud = asyncio.Event()
        self.loud.set()
        self.dropped_depth: set[int] = set()  # indices (per market, from 0) of depth diffs never sent
        self.refuse = 0  # the next n websocket connections are accepted, then closed at once
        self.refused = 0
        self.rate_limited: set[str] = set()  # exchange symbols whose REST depth answers 429
        self.depth_sent: dict[tuple, int] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.extensions: list = []  # more endpoints (e.g. fake_binance_trading.BinanceTrading), added at start

    # -- life cycle
    async def start(self) -> "FakeExchange":
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self._spot_info)
        app.router.add_get("/fapi/v1/exchangeInfo", self._usdm_info)
        app.router.add_get("/dapi/v1/exchangeInfo", self._coin_m_info)
        app.router.add_get("/api/v3/depth", self._depth("spot"))
        app.router.add_get("/fapi/v1/depth", self._depth("usdm"))
        app.router.add_get("/api/v3/aggTrades", self._agg_trades("spot"))
        app.router.add_get("/fapi/v1/aggTrades", self._agg_trades("usdm"))
        app.router.add_get("/fapi/v1/premiumIndex", self._premium_index)
        app.router.add_get("/api/v5/public/instruments", self._okx_instruments)
        app.router.add_get("/stream/ws/{n}", self._ws("binance-spot"))
        app.router.add_get("/fstream/{category}/ws/{n}", self._ws("binance-usdm"))
        app.router.add_get("/okx/ws/v5/public", self._ws("okx"))
        for extension in self.extensions:
            extension.register(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for player in self.players.values():
            if player.task:
                player.task.cancel()
        for connection in list(self.connections):
            await connection.ws.close()
        await self._runner.cleanup()

    def urls(self, venue: str) -> dict[str, str]:
        """The `urls` prefix rewrites that point a ccxt venue at this server."""
        base, ws = f"http://127.0.0.1:{self.port}", f"ws://127.0.0.1:{self.port}"
        if venue == "binance":
            return {"https://api.binance.com": base, "https://fapi.binance.com": base, "https://dapi.binance.com": base,
                    "wss://stream.binance.com:9443": f"{ws}/stream", "wss://fstream.binance.com": f"{ws}/fstream",
                    "wss://ws-api.binance.com:443": f"{ws}/ws-api"}
        return {"https://{hostname}": base, "wss://ws.okx.com:443": f"{ws}/okx"}

    # -- switches
    def silence(self) -> None:
        self.loud.clear()

    def resume(self) -> None:
        self.loud.set()

    async def close_sockets(self) -> None:
        for connection in list(self.connections):
            await connection.ws.close()

    async def inject(self, venue: str, text: str) -> None:
        """Send a raw text frame to every socket of `venue` that has subscribed to something."""
        for connection in list(self.connections):
            if connection.venue == venue and connection.topics:
                await connection.ws.send_str(text)

    # -- Binance REST
    async def _spot_info(self, request):
        return web.json_response({"timezone": "UTC", "serverTime": now_ms(), "symbols": [
            binance_symbol_info(m, s) for (m, s) in BINANCE_SIZES if m == "spot"]})

    async def _usdm_info(self, request):
        return web.json_response({"timezone": "UTC", "serverTime": now_ms(), "symbols": [
            binance_symbol_info(m, s) for (m, s) in BINANCE_SIZES if m == "usdm"]})

    async def _coin_m_info(self, request):
        return web.json_response({"timezone": "UTC", "serverTime": now_ms(), "symbols": []})

    def _depth(self, market: str):
        async def depth(request):
            symbol = request.query.get("symbol", "")
            key = (market, symbol)
            if symbol in self.rate_limited:
                return web.json_response({"code": -1003, "msg": "Too many requests."}, status=429)
            if key not in self.books:
                return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
            self.players[key].start()
            bids, asks = self.books[key].top(int(request.query.get("limit", 100)))
            answer = {"lastUpdateId": self.last_u[key], "bids": bids, "asks": asks}
            if market == "usdm":
                answer |= {"E": now_ms(), "T": now_ms()}
            return web.json_response(answer)
        return depth

    def _agg_trades(self, market: str):
        async def agg_trades(request):
            key = (market, request.query.get("symbol", ""))
            self.players[key].start()
            return web.json_response([{"a": t["t"], "p": t["p"], "q": t["q"], "f": t["t"], "l": t["t"], "T": t["T"],
                                       "m": t["m"]} for t in self.trades[key][-500:]])
        return agg_trades

    async def _premium_index(self, request):
        key = ("usdm", request.query.get("symbol", ""))
        if key not in self.books:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        mid = f"{sum(self.books[key].best()) / 2:.2f}"  # before the first mark price message: the book's mid
        mark = self.marks.get(key) or {"s": key[1], "p": mid, "i": mid, "P": mid, "r": FUNDING_RATE,
                                        "T": NEXT_FUNDING_MS, "E": now_ms()}
        return web.json_response({"symbol": mark["s"], "markPrice": mark["p"], "indexPrice": mark["i"],
                                  "estimatedSettlePrice": mark["P"], "lastFundingRate": mark["r"],
                                  "interestRate": "0.00010000", "nextFundingTime": mark["T"], "time": mark["E"]})

    def _binance_message(self, key: tuple):
        market, symbol = key

        async def play(message: Message) -> None:
            data = dict(message.data)
            shift = now_ms() - int(message.t * 1000)
            for name in ("E", "T"):
                if name in data:
                    data[name] += shift
            if message.stream == "depth":
                self.books[key].apply(data["b"], data["a"])
                self.last_u[key] = data["u"]
                index = self.depth_sent.get(key, 0)
                self.depth_sent[key] = index + 1
                if index in self.dropped_depth:
                    return
            elif message.stream == "trade":
                self.trades[key].append(data)
            elif message.stream == "markPrice":
                self.marks[key] = data
            await self._broadcast(f"binance-{market}", (message.stream, symbol), data)
        return play

    # -- OKX
    async def _okx_instruments(self, request):
        kind = request.query.get("instType")
        data = [i for i in OKX_INSTRUMENTS.values() if i["instType"] == kind]
        return web.json_response({"code": "0", "msg": "", "data": data})

    async def _okx_message(self, message: Message) -> None:
        inst, data = message.key, dict(message.data)
        data["ts"] = str(now_ms())
        if message.stream == "trades":
            await self._broadcast("okx", ("trades", inst), {"arg": {"channel": "trades", "instId": inst},
                                                            "data": [data]})
            return
        action = data.pop("action")
        if action == "snapshot":
            self.okx_books[inst] = Book(data["bids"], data["asks"])
            self.okx_seq[inst] = 1
            for connection in self.connections:
                if ("books", inst) in connection.topics:
                    await self._okx_snapshot(connection, inst)
            return
        book = self.okx_books[inst]
        book.apply(data["bids"], data["asks"])
        if okx_checksum(*book.top(25)) == data["checksum"]:
            self.okx_checksums_ok += 1
        seq = self.okx_seq[inst]
        self.okx_seq[inst] = seq + 1
        data |= {"prevSeqId": seq, "seqId": seq + 1}
        index = self.depth_sent.get(("okx", inst), 0)
        self.depth_sent[("okx", inst)] = index + 1
        if index in self.dropped_depth:
            return
        await self._broadcast("okx", ("books", inst), {"arg": {"channel": "books", "instId": inst},
                                                       "action": "update", "data": [data]})

    async def _okx_snapshot(self, connection: Connection, inst: str) -> None:
        if inst not in self.okx_books:
            return  # the capture's snapshot has not played yet; it goes to every subscriber when it does
        bids, asks = self.okx_books[inst].top(400)
        seq = self.okx_seq[inst]
        data = {"asks": [[p, q, "0", "1"] for p, q in asks], "bids": [[p, q, "0", "1"] for p, q in bids],
                "ts": str(now_ms()), "checksum": okx_checksum(bids[:25], asks[:25]), "prevSeqId": -1, "seqId": seq}
        await connection.ws.send_str(json.dumps({"arg": {"channel": "books", "instId": inst}, "action": "snapshot",
                                                 "data": [data]}))

    # -- websockets
    def _ws(self, venue: str):
        async def handler(request):
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            connection = Connection(ws, venue)
            self.connections.append(connection)
            try:
                async for frame in ws:
                    if frame.type != WSMsgType.TEXT:
                        continue
                    if self.refused < self.refuse:
                        self.refused += 1
                        await ws.close()
                        break
                    if frame.data == "ping":
                        await ws.send_str("pong")
                    elif venue == "okx":
                        await self._okx_request(connection, json.loads(frame.data))
                    else:
                        await self._binance_request(connection, json.loads(frame.data))
            finally:
                self.connections.remove(connection)
            return ws
        return handler

    async def _binance_request(self, connection: Connection, request: dict) -> None:
        market = connection.venue.split("-")[1]
        for param in request.get("params", []):
            stream_symbol, stream = param.split("@")[:2]
            symbol = stream_symbol.upper()
            topic = (stream, symbol)
            if request["method"] == "SUBSCRIBE":
                connection.topics.add(topic)
                if (market, symbol) in self.players:
                    self.players[(market, symbol)].start()
            else:
                connection.topics.discard(topic)
        await connection.ws.send_str(json.dumps({"result": None, "id": request.get("id")}))

    async def _okx_request(self, connection: Connection, request: dict) -> None:
        for arg in request.get("args", []):
            topic = (arg["channel"], arg["instId"])
            if arg["instId"] not in OKX_INSTRUMENTS:
                await connection.ws.send_str(json.dumps({"event": "error", "code": "60018",
                                                         "msg": f"Wrong URL or channel:{arg['channel']},instId:"
                                                                f"{arg['instId']} doesn't exist"}))
                continue
            await connection.ws.send_str(json.dumps({"event": request["op"], "arg": arg, "connId": "fake"}))
            if request["op"] == "subscribe":
                connection.topics.add(topic)
                self.players["okx"].start()
                if arg["channel"] == "books":
                    await self._okx_snapshot(connection, arg["instId"])
            else:
                connection.topics.discard(topic)

    async def _broadcast(self, venue: str, topic: tuple, payload: dict) -> None:
        targets = [c for c in self.connections if c.venue == venue and topic in c.topics and not c.ws.closed]
        if targets:
            text = json.dumps(payload)
            for connection in targets:
                await connection.ws.send_str(text)


def last_ticked_depth(capture: BinanceCapture) -> int:
    """Index of the last depth diff whose update id has a bookTicker: the exchange's own top of book then."""
    tickers = capture.tickers
    depth = [i for i, m in enumerate(capture.timeline) if m.stream == "depth" and m.data["u"] in tickers]
    return depth[-1]


def cut_at(capture: BinanceCapture, index: int) -> BinanceCapture:
    """The capture ending with timeline entry `index`."""
    return BinanceCapture(capture.market, capture.symbol, capture.snapshot, capture.timeline[:index + 1])

