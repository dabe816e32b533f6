"""Live quoting on OKX spot through ccxt against a local fake OKX: orders, fills, rejections, gaps, keys.

ccxt's own okx code is under test: its URLs point at tests/fake_exchange.py with the trading endpoints and the
private websocket of tests/fake_okx_trading.py, which check OKX's signed headers, passphrase and websocket login
as OKX does. The desk and its helpers are test_live_quoting.py's (Binance); what differs on OKX is tested here:
client order ids, a post-only refusal that comes as a cancellation, fills inside order pushes with OKX's fee
sign, no cancel-all request. Waits are on conditions, never on fixed sleeps.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import aiohttp
import pytest

from fake_account import FakeOrder
from fake_exchange import Book, FakeExchange, Message, load_okx
from fake_okx_trading import OkxTrading
from test_live_quoting import Desk, assert_kept_out, maker, quoting, use_the_keys
from waiting import until
from feeds.live import LiveFeedError
from feeds.settings import InstrumentSettings, VenueSettings
from maker.live import CredentialError, read_credentials
from maker.orders import CANCELLED, FILLED, OPEN, REJECTED, Order
from maker.risk import RiskLimits

API_KEY = "wfTESTokxKey3c8e1f0a-5b7d-4e29-9a6c-2d4f8b1e7a30"  # made up: never real credentials
SECRET = "wfTESTokxSecret9F2A7C4E1B8D6035"
PASSPHRASE = "wfTESTokxPass7Rq2Lx"
ENV = {"WF_TEST_OKX_KEY": API_KEY, "WF_TEST_OKX_SECRET": SECRET, "WF_TEST_OKX_PASSPHRASE": PASSPHRASE}
KEY = ("okx", "BTC/USDT")
BTC = InstrumentSettings("okx", "BTC/USDT", "spot", "crypto", tick_size=0.1, lot_size=0.00000001)
PLACE, CANCEL_BATCH = "/api/v5/trade/batch-orders", "/api/v5/trade/cancel-batch-orders"


@functools.cache
def capture() -> list[Message]:
    """The OKX capture's BTC-USDT messages up to its first book snapshot: the fake's book, which then stays put."""
    timeline = [m for m in load_okx() if m.key == "BTC-USDT"]
    return timeline[:next(i for i, m in enumerate(timeline) if m.stream == "books") + 1]


class OkxDesk(Desk):
    order_post = f"POST {PLACE}"

    def server_book(self) -> Book:
        return self.fx.okx_books["BTC-USDT"]

    def resting(self, order_id: str) -> FakeOrder:
        """Our (open) order as the fake exchange holds it."""
        return self.trading.by_client_id(self.exchange.sent[order_id].client_id)

    async def quote(self) -> list[FakeOrder]:
        """The engine quoting on the fake's book until its bid and its ask rest on the exchange: [bid, ask]."""
        self.engine.start(self.key)
        self.feed_book(4)
        await until(lambda: len(self.trading.open_orders()) == 2, "the engine's bid and ask on the exchange")
        return sorted(self.trading.open_orders(), key=lambda o: o.side)

    async def rest_both(self, away: float = 10.0) -> tuple[Order, Order]:
        """A bid and an ask `away` from the touch, once both rest on the exchange."""
        best_bid, best_ask = self.book()
        bid, ask = self.place("bid 0", "buy", best_bid - away), self.place("ask 0", "sell", best_ask + away)
        await until(lambda: bid.state == ask.state == OPEN, "a bid and an ask resting")
        return bid, ask


def venue_settings(fx: FakeExchange, **changes) -> VenueSettings:
    return VenueSettings("okx", "ccxt", "okx", urls=fx.urls("okx"), api_key_env="WF_TEST_OKX_KEY",
                         secret_env="WF_TEST_OKX_SECRET", password_env="WF_TEST_OKX_PASSPHRASE",
                         reconnect_base_s=0.05, reconnect_max_s=0.5, **changes)


async def play_book(fx: FakeExchange) -> None:
    """The capture played (once, after `fx.start`): the book the fake checks post-only orders against."""
    fx.players["okx"].start()
    await until(fx.players["okx"].done.is_set, "the fake's OKX book")


@asynccontextmanager
async def desk(monkeypatch, dead_man_s: float = 30.0, poll_s: float = 2.0, start: bool = True, **venue_changes):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    fx = FakeExchange(okx=capture())
    trading = OkxTrading(fx, API_KEY, SECRET, PASSPHRASE)
    await fx.start()
    await play_book(fx)
    d = OkxDesk(fx, trading, *maker(venue_settings(fx, **venue_changes), BTC, RiskLimits(), dead_man_s, poll_s))
    async with quoting(d, arm=True, start=start):
        yield d


# -- quoting and fills -----------------------------------------------------------------------------------------
async def test_quotes_rest_on_okx_as_post_only_and_fills_become_inventory_with_fees_charged(monkeypatch):
    async with desk(monkeypatch) as d:
        bid, ask = await d.quote()
        assert (bid.side, ask.side) == ("buy", "sell") and bid.type == ask.type == "post_only"
        best_bid, best_ask = d.book()
        assert bid.price <= Decimal(str(best_bid)) and ask.price >= Decimal(str(best_ask))
        assert bid.client_id.startswith("wf") and bid.client_id.isalnum()  # OKX refuses any other character
        await until(lambda: all(o.state == OPEN for o in d.engine.orders.orders.values()), "both reported open")

        await d.trading.fill(bid, "0.0004")  # a push of the order with fillSz, fillPx, tradeId, fillFee < 0
        await until(lambda: d.engine.inventory.qty(KEY) > 0, "the partial fill in the inventory")
        fill = d.engine.fills[-1]
        assert (fill.side, fill.liquidity, fill.price, fill.qty) == ("buy", "maker", float(bid.price), 0.0004)
        assert fill.fee == pytest.approx(0.0004 * 0.001 * float(bid.price))  # charged (not a rebate), in USDT
        await d.trading.fill(ask)
        await until(lambda: d.engine.inventory.qty(KEY) < 0, "the ask's full fill")
        assert d.engine.fills[-1].fee == pytest.approx(0.001 * 0.001 * float(ask.price))  # charged in USDT
        assert d.engine.inventory.positions[KEY].fills == 2


async def test_post_only_and_balance_rejections_are_shown_and_not_retried(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, best_ask = d.book()
        crossing = d.place("bid 0", "buy", best_ask + 5)  # OKX takes it, then cancels it: cancelSource 31
        too_big = d.place("bid 1", "buy", best_bid - 100, qty=5.0)  # ~150k USDT against 100k: sCode 51008
        await until(lambda: crossing.done and too_big.done, "both answered")
        assert crossing.state == REJECTED and crossing.reason.startswith("post-only rejected")
        assert too_big.state == REJECTED and "insufficient balance" in too_big.reason
        assert d.order_posts() == 2  # one request each: neither is retried
        assert d.exchange.errors.counts["post_only"] == 1 and d.exchange.errors.counts["insufficient_balance"] == 1
        assert [o.status for o in d.trading.orders.values()] == ["canceled"]  # the crossing one, taken then cancelled


async def test_rate_limit_backs_off_and_a_clock_skew_resyncs_once(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, _ = d.book()
        d.trading.rate_limit_next = 1  # HTTP 429, code 50011
        limited = d.place("bid 0", "buy", best_bid - 20)
        await until(lambda: limited.state == OPEN, "the order placed after backing off")
        assert d.exchange.errors.counts["rate_limit"] == 1 and d.order_posts() == 2
        d.trading.skew_ms = 40_000  # OKX's clock 40 s ahead: beyond its 30 s window (code 50102)
        skewed = d.place("bid 1", "buy", best_bid - 30)
        await until(lambda: skewed.state == OPEN, "the order placed after the clock resync")
        assert d.exchange.errors.counts["nonce"] == 1
        assert (PLACE, "50102") in d.trading.refused and (PLACE, "50011") in d.trading.refused


# -- the private stream: gaps, reconciliation, the dead-man ----------------------------------------------------------
async def test_a_gap_in_the_private_stream_is_reconciled_before_quoting_resumes(monkeypatch):
    async with desk(monkeypatch) as d:
        bid, ask = await d.rest_both()
        await d.trading.drop_user_stream()
        await until(lambda: not d.exchange.quoting_allowed, "quoting held while the stream is down")
        await d.trading.fill(d.resting(bid.id))  # filled during the gap: pushed to no one
        orphan = d.trading.place_orphan("BTC-USDT", "sell", f"{ask.price + 50:.1f}", "0.001")
        assert d.trading.user_streams == 0 and d.engine.inventory.qty(KEY) == 0
        d.trading.restore_user_stream()
        await until(lambda: d.exchange.quoting_allowed, "logged in again and reconciled")
        assert d.engine.inventory.qty(KEY) == pytest.approx(0.001)  # from fills-history, before quoting resumed
        assert d.engine.fills[-1].fee == pytest.approx(0.001 * 0.001 * float(bid.price))  # REST fee: charged too
        assert orphan.status == "canceled" and d.exchange.orphans_cancelled == 1
        assert bid.state == FILLED and ask.state == OPEN  # ours, still resting, kept
        assert d.exchange.errors.counts["disconnected"] == 1 and d.exchange.errors.counts["orphan"] == 1


async def test_dead_man_cancels_every_order_without_a_cancel_all_request(monkeypatch):
    async with desk(monkeypatch, dead_man_s=1.0) as d:
        await d.rest_both()
        await d.trading.drop_user_stream()
        await until(lambda: d.trading.open_orders() == [], "the dead-man's cancels")
        assert d.exchange.dead_man_fired and ("POST", CANCEL_BATCH) in [r[:2] for r in d.trading.requests]
        d.trading.restore_user_stream()
        await until(lambda: d.exchange.quoting_allowed, "back after the gap")
        assert d.engine.orders.orders == {} and all(o.state == CANCELLED for o in d.engine.orders.history)


async def test_without_the_private_stream_orders_and_fills_arrive_by_rest_polling(monkeypatch):
    async with desk(monkeypatch, poll_s=0.1, rest_only=True) as d:
        best_bid, _ = d.book()
        bid = d.place("bid 0", "buy", best_bid - 10)
        await until(lambda: bid.state == OPEN, "the bid seen resting by a poll (OKX's placement answer has no state)")
        await d.trading.fill(d.resting(bid.id))
        await until(lambda: bid.state == FILLED, "the fill, polled")
        assert d.trading.user_streams == 0 and d.engine.fills[-1].fee > 0


# -- kill switch and exit ------------------------------------------------------------------------------------------
async def test_kill_switch_cancels_ours_and_anyones_orders(monkeypatch):
    async with desk(monkeypatch) as d:
        await d.quote()
        d.trading.place_orphan("BTC-USDT", "buy", "20000.0", "0.001")
        d.engine.cancel_all()
        await until(lambda: d.trading.open_orders() == [], "the kill switch")
        await until(lambda: d.engine.orders.orders == {}, "every order reported cancelled (by the stream's pushes)")
        assert [path for _, path, _ in d.trading.requests].count(CANCEL_BATCH) == 1  # one batch for all three


async def test_exit_cancels_every_order_in_batches_of_twenty(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, _ = d.book()
        for i in range(21):
            d.place(f"bid {i}", "buy", best_bid - 10 - i)
        await until(lambda: len(d.trading.open_orders()) == 21, "21 resting")
        await d.exchange.stop()
        assert d.trading.open_orders() == []
        batches = [params for _, path, params in d.trading.requests if path == CANCEL_BATCH]
        assert [len(batch) for batch in batches] == [20, 1]  # OKX cancels at most 20 orders a request


# -- keys and authentication -----------------------------------------------------------------------------------------
async def test_keys_and_passphrase_never_reach_logs_output_or_the_store(monkeypatch, caplog, capsys, tmp_path):
    caplog.set_level(logging.DEBUG)
    async with desk(monkeypatch) as d:
        await use_the_keys(d, tmp_path / "live.db")
    assert_kept_out(d, (API_KEY, PASSPHRASE), SECRET, caplog.text, capsys.readouterr(), tmp_path)


async def test_a_wrong_passphrase_stops_the_start_with_the_exchanges_refusal(monkeypatch):
    async with desk(monkeypatch, start=False) as d:
        d.trading.passphrase = "not-the-one-configured"
        with pytest.raises(LiveFeedError) as error:
            await d.exchange.start()  # the first signed request is ccxt's, loading the wallet's currencies
        text = str(error.value)
        assert text.startswith("okx: okx refused the API credentials: ") and "OK-ACCESS-PASSPHRASE" in text
        assert "incorrect" in text
        assert "\n" not in text
        assert PASSPHRASE not in text and d.order_posts() == 0


async def test_a_clock_off_at_start_stops_it_naming_the_clock(monkeypatch):
    async with desk(monkeypatch, start=False) as d:
        d.trading.skew_ms = 40_000  # beyond OKX's 30 s window before any offset is measured
        with pytest.raises(LiveFeedError) as error:
            await d.exchange.start()
        text = str(error.value)
        assert text.startswith("okx: okx refused the request time (check that this machine's clock is synchronised)")
        assert "\n" not in text and d.order_posts() == 0


def signed_headers(method: str, path: str, body: str = "", secret: str = SECRET, shift_ms: int = 0) -> dict:
    """OKX's private headers, signed as its documentation says (independently of ccxt)."""
    now = datetime.now(timezone.utc).timestamp() + shift_ms / 1000
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    sign = base64.b64encode(hmac.new(secret.encode(), (stamp + method + path + body).encode(),
                                     hashlib.sha256).digest()).decode()
    return {"OK-ACCESS-KEY": API_KEY, "OK-ACCESS-PASSPHRASE": PASSPHRASE, "OK-ACCESS-TIMESTAMP": stamp,
            "OK-ACCESS-SIGN": sign, "Content-Type": "application/json"}


async def test_the_fake_refuses_unsigned_or_badly_signed_requests_as_okx_does(monkeypatch):
    path = "/api/v5/trade/orders-pending?instId=BTC-USDT"
    async with desk(monkeypatch, start=False) as d, aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{d.fx.port}"
        cases = [({}, "50103"), (signed_headers("GET", path, secret="wrong"), "50113"),
                 (signed_headers("GET", path, shift_ms=-31_000), "50102"),
                 (signed_headers("GET", path) | {"OK-ACCESS-PASSPHRASE": "wrong"}, "50105"),
                 (signed_headers("GET", "/api/v5/trade/orders-pending"), "50113"),  # the query is signed too
                 (signed_headers("GET", path), "0")]
        for headers, code in cases:
            async with session.get(url + path, headers=headers) as answer:
                assert ((await answer.json())["code"], answer.status) == (code, 200 if code == "0" else 401)
        body = json.dumps([{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                            "px": "20000.0", "sz": "0.001", "clOrdId": "wf-1"}])
        async with session.post(url + PLACE, data=body, headers=signed_headers("POST", PLACE, body)) as answer:
            row = (await answer.json())["data"][0]
        assert (row["sCode"], row["sMsg"]) == ("51000", "Parameter clOrdId error")  # the old client ids


async def test_the_private_websocket_wants_a_signed_login_before_orders(monkeypatch):
    async with desk(monkeypatch, start=False) as d, aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{d.fx.port}/okx/ws/v5/private") as ws:
            await ws.send_json({"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]})
            assert (await ws.receive_json())["code"] == "60011"  # please log in
            stamp = str(int(datetime.now(timezone.utc).timestamp()))
            login = {"apiKey": API_KEY, "passphrase": PASSPHRASE, "timestamp": stamp, "sign": "bad"}
            await ws.send_json({"op": "login", "args": [login]})
            assert (await ws.receive_json())["code"] == "60007"  # invalid sign
            sign = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}GET/users/self/verify".encode(),
                                             hashlib.sha256).digest()).decode()
            await ws.send_json({"op": "login", "args": [login | {"sign": sign}]})
            assert (await ws.receive_json())["event"] == "login"
            await ws.send_json({"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]})
            assert (await ws.receive_json())["event"] == "subscribe" and d.trading.user_streams == 1


def test_okx_credentials_need_the_passphrase_variable():
    venue = VenueSettings("okx", "ccxt", "okx", api_key_env="WF_K", secret_env="WF_S", password_env="WF_P")
    with pytest.raises(CredentialError, match="venue okx: password_env is not set in the config"):
        read_credentials(replace(venue, password_env=None), {"WF_K": "abc", "WF_S": "def"})  # before connecting
    with pytest.raises(CredentialError, match="environment variable WF_P"):
        read_credentials(venue, {"WF_K": "abc", "WF_S": "def"})
    credentials = read_credentials(venue, {"WF_K": "abc", "WF_S": "def", "WF_P": "pass phrase"})
    assert credentials.ccxt_options()["password"] == "pass phrase" and "pass phrase" not in repr(credentials)
