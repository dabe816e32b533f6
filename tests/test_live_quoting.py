"""Live quoting through ccxt against a local fake Binance: orders, fills, rejections, reconnects, the dead-man.

ccxt's own binance code is under test: its URLs point at tests/fake_exchange.py with the trading endpoints
of tests/fake_binance_trading.py, which check the API key header and the request signatures as Binance does.
Waits are on conditions with generous timeouts, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from textual.app import App

from console.cli import main
from detectors.alert_settings import StoreSettings
from detectors.engine import AlertEngine
from detectors.store import AlertStore
from console.screens.live_confirm import LiveConfirmScreen
from fake_account import FakeAccount
from fake_binance_trading import BinanceTrading
from fake_exchange import Book, FakeExchange, load_binance
from waiting import until
from feeds.book import OrderBook
from feeds.events import BookEvent
from feeds.settings import InstrumentSettings, VenueSettings
from maker.engine import MakerEngine
from maker.live import CredentialError, LiveExchange, read_credentials
from maker.live import exchange as live_exchange
from maker.orders import CANCELLED, FILLED, OPEN, REJECTED, Wanted
from maker.risk import ACTIVE, HALTED
from maker.settings import (DefenceSettings, LiveSettings, MakerSettings, QuoteParams, QuotingSettings,
                            RiskLimits)

API_KEY = "wfTESTkey7QpZr2vX9mN4bL6cY8dK1sH3jF5gT0aE"  # made up: never a real credential
SECRET = "wfTESTsecret2Lk8Vn3Bq6Wx9Mz4Rt7Yp1Hc5Jd0Gs"
ENV = {"WF_TEST_BINANCE_KEY": API_KEY, "WF_TEST_BINANCE_SECRET": SECRET}
KEY = ("binance", "BTC/USDT")
BTC = InstrumentSettings("binance", "BTC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.00001)
QUOTES = QuotingSettings(QuoteParams(model="simple", size=0.001, warmup_s=2.0))


@functools.cache
def capture():
    """One second of the real Binance capture: the fake's book, against which post-only orders are checked."""
    return load_binance("spot", "BTCUSDT", 1.0)


@dataclass
class Desk:
    """The fake exchange, its trading side, and a maker engine quoting on it through a LiveExchange."""

    fx: FakeExchange
    trading: FakeAccount  # BinanceTrading here, OkxTrading in test_live_quoting_okx.py
    exchange: LiveExchange
    engine: MakerEngine
    ts: float = 0.0
    order_post = "POST /api/v3/order"  # how an order placement starts in the fake's log of raw requests

    @property
    def key(self) -> tuple[str, str]:
        return self.exchange.venue.name, self.exchange.symbols[0]

    def server_book(self) -> Book:
        """The fake's own book, against which it checks post-only orders."""
        return self.fx.books[("spot", "BTCUSDT")]

    def book(self) -> tuple[float, float]:
        return self.server_book().best()

    def feed_book(self, events: int = 1, shift: float = 0.0) -> None:
        """The fake's current book (every price moved by `shift`) to the engine as market data, one second of
        market time per event."""
        bids, asks = self.server_book().top(20)
        book = OrderBook(*self.key)
        for _ in range(events):
            self.ts += 1.0
            event = BookEvent(self.ts, *self.key, True, [(float(p) + shift, float(q)) for p, q in bids],
                              [(float(p) + shift, float(q)) for p, q in asks])
            book.apply(event)
            self.engine.on_book(book, event)

    def place(self, slot: str, side: str, price: float, qty: float = 0.001, post_only: bool = True):
        return self.engine.orders.place(self.key, Wanted(slot, side, price, qty, post_only), self.ts)

    def order_posts(self) -> int:
        return sum(1 for r in self.trading.raw_requests if r.startswith(self.order_post))


def venue_settings(fx: FakeExchange, **changes) -> VenueSettings:
    return VenueSettings("binance", "ccxt", "binance", urls=fx.urls("binance"), api_key_env="WF_TEST_BINANCE_KEY",
                         secret_env="WF_TEST_BINANCE_SECRET", reconnect_base_s=0.05, reconnect_max_s=0.5, **changes)


@asynccontextmanager
async def desk(monkeypatch, dead_man_s: float = 30.0, arm: bool = True, start: bool = True,
               limits: RiskLimits = RiskLimits(), poll_s: float = 2.0, **venue_changes):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    fx = FakeExchange([capture()])
    trading = BinanceTrading(fx, API_KEY, SECRET)
    await fx.start()
    async with quoting(Desk(fx, trading, *maker(venue_settings(fx, **venue_changes), BTC, limits, dead_man_s, poll_s)),
                       arm, start) as d:
        yield d


def maker(venue: VenueSettings, instrument: InstrumentSettings, limits: RiskLimits, dead_man_s: float,
          poll_s: float) -> tuple[LiveExchange, MakerEngine]:
    """A maker engine quoting `instrument` on `venue` through a LiveExchange (not started)."""
    settings = MakerSettings(mode="live", instruments=[instrument.key], quoting=QUOTES, limits=limits,
                             defence=DefenceSettings(kinds=[]), live=LiveSettings(dead_man_s=dead_man_s, poll_s=poll_s))
    exchange = LiveExchange(venue, [instrument.symbol], read_credentials(venue), settings.live, settings.fees)
    return exchange, MakerEngine(settings, [instrument], exchange, lambda signal: None)


@asynccontextmanager
async def quoting(d: Desk, arm: bool, start: bool):
    """The desk's exchange started (and armed: until quoting is allowed); on the way out stopped, then its fake."""
    try:
        if start:
            await d.exchange.start()
            if arm:
                d.exchange.arm()
                await until(lambda: d.exchange.quoting_allowed, "the user stream to connect and reconcile")
        yield d
    finally:
        await d.exchange.stop()
        await d.fx.stop()


# -- quoting and fills -----------------------------------------------------------------------------------------
async def test_quotes_rest_on_the_exchange_as_post_only_and_fills_become_inventory(monkeypatch):
    async with desk(monkeypatch) as d:
        d.engine.start(KEY)
        d.feed_book(4)
        await until(lambda: len(d.trading.open_orders()) == 2, "a bid and an ask on the exchange")
        bid, ask = sorted(d.trading.open_orders(), key=lambda o: o.side)
        assert (bid.side, ask.side) == ("BUY", "SELL") and bid.type == ask.type == "LIMIT_MAKER"
        best_bid, best_ask = d.book()
        assert bid.price <= Decimal(str(best_bid)) and ask.price >= Decimal(str(best_ask))
        assert bid.client_id.startswith("wf") and bid.client_id in d.exchange.by_client
        await until(lambda: all(o.state == OPEN for o in d.engine.orders.orders.values()), "both reported open")

        await d.trading.fill(bid, "0.0004")
        await until(lambda: d.engine.inventory.qty(KEY) > 0, "the partial fill in the inventory")
        assert d.engine.inventory.qty(KEY) == pytest.approx(0.0004)
        fill = d.engine.fills[-1]
        assert (fill.side, fill.liquidity, fill.price) == ("buy", "maker", float(bid.price))
        assert fill.fee == pytest.approx(0.0004 * 0.001 * float(bid.price))  # 0.1% in BTC, booked in USDT
        await d.trading.fill(ask)
        await until(lambda: d.engine.inventory.qty(KEY) < 0, "the ask's full fill")
        assert d.engine.inventory.qty(KEY) == pytest.approx(0.0004 - 0.001)
        assert d.engine.inventory.positions[KEY].fills == 2  # each trade once, though REST and stream both told


async def test_nothing_is_quoted_before_the_operator_arms_live_trading(monkeypatch):
    async with desk(monkeypatch, arm=False) as d:
        d.engine.start(KEY)
        await until(lambda: d.exchange.connected and d.exchange.reconciled, "connected and reconciled")
        d.feed_book(4)
        assert d.exchange.quoting_allowed is False and d.order_posts() == 0
        assert "confirmation" in d.engine.status(KEY)[1]
        d.exchange.arm()
        d.feed_book(1)
        await until(lambda: len(d.trading.open_orders()) == 2, "quotes once armed")


# -- rejections, rounding, minimums ------------------------------------------------------------------------------
async def test_post_only_and_balance_rejections_are_shown_and_not_retried(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, best_ask = d.book()
        crossing = d.place("bid 0", "buy", best_ask + 5)
        too_big = d.place("bid 1", "buy", best_bid - 100, qty=5.0)  # ~300k USDT against 100k
        await until(lambda: crossing.done and too_big.done, "both answered")
        assert crossing.state == REJECTED and "post-only rejected" in crossing.reason
        assert too_big.state == REJECTED and "insufficient balance" in too_big.reason
        assert d.order_posts() == 2  # one request each: neither is retried
        assert d.exchange.errors.counts["post_only"] == 1 and d.exchange.errors.counts["insufficient_balance"] == 1
        assert "post-only rejected" in d.exchange.errors.recent[0][1]
        assert d.trading.open_orders() == []


async def test_prices_round_away_from_crossing_sizes_truncate_and_small_orders_never_leave(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, best_ask = d.book()
        bid = d.place("bid 0", "buy", best_bid - 10.009, qty=0.0012345)
        ask = d.place("ask 0", "sell", best_ask + 10.001, qty=0.0012399)
        tiny = d.place("bid 1", "buy", best_bid - 10, qty=0.00005)  # 3 USDT: below the 5 USDT minimum
        await until(lambda: len(d.trading.open_orders()) == 2 and tiny.done, "two resting, one refused")
        on_fake = {o.side: o for o in d.trading.open_orders()}
        assert on_fake["BUY"].price == Decimal(str(round(best_bid - 10.01, 2)))  # down, never up, for a bid
        assert on_fake["SELL"].price == Decimal(str(round(best_ask + 10.01, 2)))  # up for an ask
        assert on_fake["BUY"].qty == Decimal("0.00123") and on_fake["SELL"].qty == Decimal("0.00123")
        assert tiny.state == REJECTED and tiny.reason.startswith("below minimum: value")
        assert d.order_posts() == 2  # the small one was refused before sending
        assert bid.state == ask.state == OPEN


async def test_rate_limit_backs_off_and_a_clock_skew_resyncs_once(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, _ = d.book()
        d.trading.rate_limit_next = 1
        limited = d.place("bid 0", "buy", best_bid - 20)
        await until(lambda: limited.state == OPEN, "the order placed after backing off")
        assert d.exchange.errors.counts["rate_limit"] == 1 and d.order_posts() == 2
        d.trading.skew_ms = 30_000  # the exchange's clock runs 30 s ahead of ours
        skewed = d.place("bid 1", "buy", best_bid - 30)
        await until(lambda: skewed.state == OPEN, "the order placed after the clock resync")
        assert d.exchange.errors.counts["nonce"] == 1
        assert ("/api/v3/order", -1021) in d.trading.refused


# -- the user stream: gaps, reconciliation, the dead-man -------------------------------------------------------------
async def test_a_gap_in_the_user_stream_is_reconciled_before_quoting_resumes(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, best_ask = d.book()
        bid, ask = d.place("bid 0", "buy", best_bid - 10), d.place("ask 0", "sell", best_ask + 10)
        await until(lambda: bid.state == ask.state == OPEN, "both resting")
        await d.trading.drop_user_stream()
        await until(lambda: not d.exchange.quoting_allowed, "quoting held while the stream is down")
        await d.trading.fill(d.trading.by_client_id(d.exchange.sent[bid.id].client_id))  # filled during the gap
        orphan = d.trading.place_orphan("BTCUSDT", "sell", str(round(best_ask + 50, 2)), "0.001")
        await asyncio.sleep(0.3)
        assert d.engine.inventory.qty(KEY) == 0  # nobody told us yet
        d.trading.restore_user_stream()
        await until(lambda: d.exchange.quoting_allowed, "reconnected and reconciled")
        assert d.engine.inventory.qty(KEY) == pytest.approx(0.001)  # applied before quoting was allowed again
        assert orphan.status == "CANCELED" and d.exchange.orphans_cancelled == 1
        assert bid.state == "filled" and ask.state == OPEN  # ours, still resting, kept
        assert d.exchange.errors.counts["disconnected"] == 1 and d.exchange.errors.counts["orphan"] == 1


async def test_dead_man_cancels_every_order_when_the_stream_stays_down(monkeypatch):
    async with desk(monkeypatch, dead_man_s=1.5) as d:
        best_bid, best_ask = d.book()
        d.place("bid 0", "buy", best_bid - 10)
        d.place("ask 0", "sell", best_ask + 10)
        await until(lambda: len(d.trading.open_orders()) == 2, "both resting")
        await d.trading.drop_user_stream()
        assert len(d.trading.open_orders()) == 2  # not at once: a blip shorter than dead_man_s is survived
        await until(lambda: d.trading.open_orders() == [], "the dead-man's cancel-all")
        assert d.exchange.dead_man_fired and "dead-man" in d.exchange.status_text
        d.trading.restore_user_stream()
        await until(lambda: d.exchange.quoting_allowed, "back after the gap")
        assert d.engine.orders.orders == {}  # reconciliation reported the vanished orders cancelled
        assert all(o.state == CANCELLED for o in d.engine.orders.history)


@pytest.mark.parametrize("no_stream", ["rest_only", "no watch methods"])
async def test_without_a_user_stream_fills_arrive_by_rest_polling(monkeypatch, no_stream):
    async with desk(monkeypatch, start=False, poll_s=0.1, rest_only=no_stream == "rest_only") as d:
        if no_stream == "no watch methods":  # an exchange whose ccxt class has no private websocket streams
            d.exchange.exchange.has = dict(d.exchange.exchange.has, watchOrders=False, watchMyTrades=False)
        await d.exchange.start()
        d.exchange.arm()
        await until(lambda: d.exchange.quoting_allowed, "the first poll to reconcile")
        best_bid, _ = d.book()
        bid = d.place("bid 0", "buy", best_bid - 10)
        await until(lambda: bid.state == OPEN, "the bid resting")
        resting = d.trading.by_client_id(d.exchange.sent[bid.id].client_id)
        await d.trading.fill(resting, "0.0004")
        await until(lambda: d.engine.inventory.qty(KEY) > 0, "the partial fill, polled")
        await d.trading.fill(resting)
        await until(lambda: bid.state == FILLED, "the rest of the fill, polled")
        assert d.trading.user_streams == 0  # no user stream was ever opened: the fills came over REST
        assert any(path == "/api/v3/myTrades" for _, path, _ in d.trading.requests)
        assert d.engine.inventory.qty(KEY) == pytest.approx(0.001)
        assert d.engine.inventory.positions[KEY].fills == 2  # each trade once, however many polls listed it


# -- kill switch, defensive mode, exit --------------------------------------------------------------------------------
async def test_kill_switch_and_defensive_mode_cancel_on_the_exchange(monkeypatch):
    async with desk(monkeypatch) as d:
        d.engine.start(KEY)
        d.feed_book(4)
        await until(lambda: len(d.trading.open_orders()) == 2, "quotes resting")
        d.engine.enter_defensive(KEY, "operator")
        await until(lambda: d.trading.open_orders() == [], "defensive mode pulling the quotes")
        d.engine.leave_defensive(KEY)
        d.feed_book(1)
        await until(lambda: len(d.trading.open_orders()) == 2, "quotes back")
        d.trading.place_orphan("BTCUSDT", "buy", "50000", "0.001")  # the kill switch takes anyone's orders
        d.engine.cancel_all()
        await until(lambda: d.trading.open_orders() == [], "the kill switch")
        await until(lambda: d.engine.orders.orders == {}, "every order reported cancelled")
        assert any(m == "DELETE" and p == "/api/v3/openOrders" for m, p, _ in d.trading.requests)


async def test_a_risk_halt_cancels_the_instruments_orders_on_the_exchange(monkeypatch):
    async with desk(monkeypatch, limits=RiskLimits(max_loss=1.0)) as d:
        d.engine.start(KEY)
        d.feed_book(4)
        await until(lambda: len(d.trading.open_orders()) == 2, "quotes resting")
        bid = next(o for o in d.trading.open_orders() if o.side == "BUY")
        await d.trading.fill(bid)
        await until(lambda: d.engine.inventory.qty(KEY) > 0, "the bid's fill")
        assert d.engine.risk.state(KEY)[0] == ACTIVE
        d.feed_book(1, shift=-3000.0)  # the market drops ~5%: the 0.001 BTC bought lose ~3 USDT > max_loss 1
        assert d.engine.risk.state(KEY)[0] == HALTED
        await until(lambda: d.trading.open_orders() == [], "the ask cancelled on the exchange")
        await until(lambda: d.engine.orders.orders == {}, "the cancel reported back")
        d.feed_book(3, shift=-3000.0)
        assert d.engine.orders.orders == {} and d.trading.open_orders() == []  # nothing new while HALTED
        assert d.engine.status(KEY)[0] == HALTED and "max" in d.engine.status(KEY)[1]


async def test_exit_cancels_every_order_and_closes(monkeypatch):
    async with desk(monkeypatch) as d:
        best_bid, best_ask = d.book()
        for i in range(3):
            d.place(f"bid {i}", "buy", best_bid - 10 - i)
        d.place("ask 0", "sell", best_ask + 10)
        await until(lambda: len(d.trading.open_orders()) == 4, "four resting")
        await d.exchange.stop()
        assert d.trading.open_orders() == []


# -- keys -----------------------------------------------------------------------------------------------------------
async def attach_store(engine: MakerEngine, path: Path) -> AlertStore:
    """A real SQLite store the engine saves its state to: the file the keys must never reach."""
    store = AlertStore(StoreSettings(), str(path), AlertEngine())
    await store.start()
    engine.store = store
    return store


async def use_the_keys(d: Desk, path: Path) -> None:
    """A rejection, a clock resync and a saved state: every text that a key could leak into."""
    store = await attach_store(d.engine, path)
    best_bid, best_ask = d.book()
    d.place("bid 0", "buy", best_ask + 1)  # a rejection: an error text that goes to the log and the console
    d.trading.skew_ms = 60_000  # outside every exchange's window
    resting = d.place("bid 1", "buy", best_bid - 10)
    await until(lambda: d.exchange.errors.counts["post_only"] and resting.state == OPEN, "answers")
    d.engine.enter_defensive(d.key, "operator")  # saved to the store
    await store.stop()


def assert_kept_out(d: Desk, sent: tuple[str, ...], secret: str, logged: str, printed: tuple[str, str],
                    path: Path) -> None:
    """The key (and passphrase) went to the exchange, the secret only as signatures, and none of them anywhere
    else: not the log, the output, the errors shown or the store."""
    assert all(any(value in r for r in d.trading.raw_requests) for value in sent)  # really sent
    assert not any(secret in r for r in d.trading.raw_requests)
    texts = [logged, *printed, *(t for _, t in d.exchange.errors.recent), repr(d.exchange),
             repr(d.exchange.credentials)]
    stored = b"".join(p.read_bytes() for p in path.iterdir())
    for value in (*sent, secret):
        assert not any(value in text for text in texts)
        assert value.encode() not in stored
    assert "post-only rejected" in logged  # the log did get the errors


async def test_keys_never_reach_logs_output_or_the_store(monkeypatch, caplog, capsys, tmp_path):
    caplog.set_level(logging.DEBUG)
    async with desk(monkeypatch) as d:
        await use_the_keys(d, tmp_path / "live.db")
    assert_kept_out(d, (API_KEY,), SECRET, caplog.text, capsys.readouterr(), tmp_path)


async def test_the_fake_refuses_unsigned_or_keyless_requests_as_binance_does(monkeypatch):
    async with desk(monkeypatch, start=False) as d:
        base = f"http://127.0.0.1:{d.fx.port}/api/v3/openOrders"
        async with aiohttp.ClientSession() as session:
            async with session.get(base, params={"timestamp": "1", "signature": "x"}) as answer:
                assert answer.status == 401 and (await answer.json())["code"] == -2014
            async with session.get(base, headers={"X-MBX-APIKEY": API_KEY}) as answer:
                assert (await answer.json())["code"] == -1102
            async with session.get(f"{base}?timestamp=1&signature=00", headers={"X-MBX-APIKEY": API_KEY}) as answer:
                assert (await answer.json())["code"] == -1021


def test_credentials_come_from_the_environment_only():
    venue = VenueSettings("binance", "ccxt", "binance", api_key_env="WF_K", secret_env="WF_S")
    with pytest.raises(CredentialError, match="environment variable WF_S"):
        read_credentials(venue, {"WF_K": "abc"})
    credentials = read_credentials(venue, {"WF_K": "key-abcd1234", "WF_S": "s3cret"})
    assert credentials.masked_key == "…1234" and "s3cret" not in repr(credentials)
    with pytest.raises(CredentialError, match="secret_env is not set in the config"):
        read_credentials(VenueSettings("x", "ccxt", "binance", api_key_env="WF_K"), {"WF_K": "abc"})


# -- the command line and the confirmation ------------------------------------------------------------------------------
LIVE_CONFIG = """
venues:
  - {name: binance, source: ccxt, exchange: binance, api_key_env: WF_TEST_BINANCE_KEY, secret_env: WF_TEST_BINANCE_SECRET}
instruments:
  - {venue: binance, symbol: BTC/USDT, kind: spot, market: crypto}
maker:
  mode: live
  instruments: ["binance:BTC/USDT"]
"""


@pytest.mark.parametrize("flags, expected", [
    ([], "has maker.mode live: add --live to send real orders"),
    (["--live"], "--live --headless: no one is there to type the confirmation"),
    (["--live", "--no-live"], "--live and --no-live"),
])
def test_live_mode_needs_explicit_flags(tmp_path: Path, capsys, flags, expected):
    path = tmp_path / "live.yaml"
    path.write_text(LIVE_CONFIG)
    assert main(["--config", str(path), "--headless", *flags]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_live_flag_with_paper_config_is_refused(tmp_path: Path, capsys):
    path = tmp_path / "paper.yaml"
    path.write_text(LIVE_CONFIG.replace("mode: live", "mode: paper"))
    assert main(["--config", str(path), "--headless", "--live"]) == 2
    assert "has maker.mode paper" in capsys.readouterr().err


class ConfirmApp(App):
    def __init__(self, exchange: LiveExchange) -> None:
        super().__init__()
        self.exchange = exchange

    def on_mount(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.exchange.arm()
            else:
                self.exit()
        self.push_screen(LiveConfirmScreen("binance", "API key " + self.exchange.credentials.masked_key,
                                           ["binance:BTC/USDT"]), answered)


async def test_the_typed_confirmation_refuses_anything_but_live_then_quoting_starts(monkeypatch):
    async with desk(monkeypatch, arm=False) as d:
        d.engine.start(KEY)
        await until(lambda: d.exchange.reconciled, "connected")
        app = ConfirmApp(d.exchange)
        async with app.run_test() as pilot:
            screen = app.screen
            assert isinstance(screen, LiveConfirmScreen)
            shown = str(screen.query_one("#live-confirm-what").render())
            assert "binance:BTC/USDT" in shown and API_KEY[-4:] in shown and API_KEY[:-4] not in shown
            await pilot.press(*"yes", "enter")
            assert d.exchange.armed is False and isinstance(app.screen, LiveConfirmScreen)
            assert "is not LIVE" in str(screen.query_one("#live-confirm-error").render())
            d.feed_book(4)
            assert d.order_posts() == 0
            await pilot.press(*"LIVE", "enter")
            assert d.exchange.armed and not isinstance(app.screen, LiveConfirmScreen)
        d.feed_book(1)
        await until(lambda: len(d.trading.open_orders()) == 2, "quotes after the confirmation")


async def test_escape_on_the_confirmation_quits_without_trading(monkeypatch):
    async with desk(monkeypatch, arm=False) as d:
        app = ConfirmApp(d.exchange)
        async with app.run_test() as pilot:
            await pilot.press("escape")
        assert app.return_code in (0, None) and not d.exchange.armed and d.order_posts() == 0


# -- a day of quoting -----------------------------------------------------------------------------------------------
async def test_finished_orders_are_forgotten_and_their_repeated_fills_not_counted_again(monkeypatch):
    monkeypatch.setattr(live_exchange, "RETAIN_FINISHED_S", 0.0)
    async with desk(monkeypatch) as d:
        best_bid, best_ask = d.book()
        bid, ask = d.place("bid 0", "buy", best_bid - 10), d.place("ask 0", "sell", best_ask + 10)
        await until(lambda: bid.state == ask.state == OPEN, "both resting")
        await d.trading.fill(d.trading.by_client_id(d.exchange.sent[bid.id].client_id))
        await until(lambda: d.engine.inventory.qty(KEY) > 0, "the bid's fill")
        d.engine.orders.cancel(ask, d.ts, "test")
        await until(lambda: ask.state == CANCELLED, "the ask cancelled")
        later = d.place("bid 1", "buy", best_bid - 20)
        await until(lambda: later.state == OPEN, "a new bid resting")
        assert set(d.exchange.sent) == {later.id}  # the filled and the cancelled order forgotten
        assert list(d.exchange.by_client.values()) == list(d.exchange.by_exchange.values()) == [later.id]

        await d.trading.drop_user_stream()
        await until(lambda: not d.exchange.quoting_allowed, "the stream down")
        await d.trading.fill(d.trading.by_client_id(d.exchange.sent[later.id].client_id))  # during the gap
        d.trading.restore_user_stream()
        await until(lambda: d.exchange.quoting_allowed, "reconnected and reconciled")
        assert d.engine.inventory.positions[KEY].fills == 2  # the first fill, listed again by REST, not recounted
        assert d.engine.inventory.qty(KEY) == pytest.approx(0.002)
