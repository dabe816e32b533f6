"""Live quoting on two venues in one run: two local fake Binances, each its own account and keys, one maker;
then Binance beside OKX.

Each venue is a FakeExchange with its trading side (tests/fake_binance_trading.py), which refuses any key
but its own, so an order that reached the wrong venue would be refused there. Binance and OKX share one
FakeExchange (each fake serves its exchange's own endpoints and private stream, and checks its own keys).
The maker quotes BTC/USDT on every venue through a VenueRouter; waits are on conditions, never on fixed sleeps.
"""

from __future__ import annotations

import functools
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Callable

import pytest
from textual.app import App

from console.config import Config, ConfigError
from console.maker_runtime import attach_maker
from console.runtime import Runtime
from console.screens.live_confirm import LiveConfirmScreen
from detectors.settings import DetectorSettings
from fake_account import FakeAccount
from fake_binance_trading import BinanceTrading
from fake_exchange import Book, FakeExchange, load_binance
from fake_okx_trading import OkxTrading
from test_ccxt_live import watchfloor
from test_live_cli import LIVE_MAKER
from test_live_quoting import BTC, QUOTES, attach_store, capture
from test_live_quoting import API_KEY as BINANCE_KEY, ENV as BINANCE_ENV, SECRET as BINANCE_SECRET
from test_live_quoting import venue_settings as binance_venue
from test_live_quoting_okx import API_KEY as OKX_KEY, ENV as OKX_ENV, PASSPHRASE as OKX_PASSPHRASE
from test_live_quoting_okx import BTC as OKX_BTC, CANCEL_BATCH, SECRET as OKX_SECRET, play_book
from test_live_quoting_okx import capture as okx_capture, venue_settings as okx_venue
from waiting import until
from feeds.book import OrderBook
from feeds.live import LiveFeedError
from feeds.events import BookEvent
from feeds.settings import InstrumentSettings, VenueSettings
from maker.engine import MakerEngine
from maker.live import LiveExchange, VenueRouter, live_venues, read_credentials
from maker.orders import Key, Wanted
from maker.settings import DefenceSettings, LiveSettings, MakerSettings

SYMBOL = "BTC/USDT"
KEYS = {  # made up: never real credentials
    "binance-a": ("wfTESTkeyA4hQ8sLx2Vn7Rc1Zp5Mw9Ky3Dt6Gb0Fj", "wfTESTsecretA7Jm2Qx5Nc8Vb1Lz4Hs9Pw3Rd6Ty0"),
    "binance-b": ("wfTESTkeyB9kT3wPz6Xm1Cv8Nq4Rj7Hy2Ls5Df0Ga", "wfTESTsecretB2Wn6Yc9Kp3Ft8Qm1Xv4Zh7Ls0Bj5"),
}
A, B = ("binance-a", SYMBOL), ("binance-b", SYMBOL)
BINANCE, OKX = ("binance", SYMBOL), ("okx", SYMBOL)


def env_names(venue: str) -> tuple[str, str]:
    tag = venue.rsplit("-", 1)[-1].upper()
    return f"WF_TEST_{tag}_KEY", f"WF_TEST_{tag}_SECRET"


def set_keys(monkeypatch) -> None:
    for venue, values in KEYS.items():
        for name, value in zip(env_names(venue), values):
            monkeypatch.setenv(name, value)


@dataclass
class Venue:
    """One account on a fake exchange (BinanceTrading, OkxTrading) and the maker's LiveExchange on it."""

    trading: FakeAccount
    exchange: LiveExchange
    book: OrderBook = field(init=False)

    def __post_init__(self) -> None:
        self.book = OrderBook(self.exchange.venue.name, SYMBOL)

    @property
    def key(self) -> tuple[str, str]:
        return self.exchange.venue.name, SYMBOL

    def server_book(self) -> Book:
        """The fake's book of the instrument, under the exchange's own name for it (BTCUSDT, BTC-USDT)."""
        return self.trading.book(self.exchange.exchange.market(SYMBOL)["id"])

    def posts(self) -> int:
        return sum(1 for m, p, _ in self.trading.requests if (m, p) in self.trading.ORDER_ROUTES)

    def cancels(self, path: str, method: str = "DELETE") -> int:
        return sum(1 for m, p, _ in self.trading.requests if m == method and p == path)


@dataclass
class Desk:
    venues: dict[tuple[str, str], Venue]
    router: VenueRouter
    engine: MakerEngine
    ts: float = 0.0

    def feed_book(self, key: tuple[str, str], events: int = 1, shift: float = 0.0) -> None:
        """The venue's fake book (prices moved by `shift`) to the engine, a second of market time per event."""
        venue = self.venues[key]
        bids, asks = venue.server_book().top(20)
        for _ in range(events):
            self.ts += 1.0
            event = BookEvent(self.ts, *key, True, [(float(p) + shift, float(q)) for p, q in bids],
                              [(float(p) + shift, float(q)) for p, q in asks])
            venue.book.apply(event)
            self.engine.on_book(venue.book, event)

    async def quoting_everywhere(self) -> None:
        self.engine.start_all()
        for key, venue in self.venues.items():
            self.feed_book(key, 4)
        await until(lambda: all(len(v.trading.open_orders()) == 2 for v in self.venues.values()),
                    "a bid and an ask on each venue")


def venue_settings(name: str, fx: FakeExchange) -> VenueSettings:
    key_env, secret_env = env_names(name)
    return VenueSettings(name, "ccxt", "binance", urls=fx.urls("binance"), api_key_env=key_env, secret_env=secret_env,
                         reconnect_base_s=0.05, reconnect_max_s=0.5)


# an account on a fake exchange, its venue's settings (given the fake, once started) and the instrument quoted there
Account = tuple[FakeAccount, Callable[[FakeExchange], VenueSettings], InstrumentSettings]


@asynccontextmanager
async def routed(accounts: list[Account], dead_man_s: float = 30.0, arm: bool = True):
    """One maker quoting each account's instrument through a VenueRouter, one LiveExchange per venue: started and
    armed (until every venue allows quoting); on the way out the router stopped, then the fakes."""
    instruments = [instrument for _, _, instrument in accounts]
    settings = MakerSettings(mode="live", instruments=[i.key for i in instruments], quoting=QUOTES,
                             defence=DefenceSettings(kinds=[]), live=LiveSettings(dead_man_s=dead_man_s))
    fakes = list(dict.fromkeys(trading.fx for trading, _, _ in accounts))  # one fake may serve several venues
    for fx in fakes:
        await fx.start()
    venues = {}
    for trading, venue_for, instrument in accounts:
        venue = venue_for(trading.fx)
        venues[(venue.name, instrument.symbol)] = Venue(trading, LiveExchange(
            venue, [instrument.symbol], read_credentials(venue), settings.live, settings.fees))
    router = VenueRouter([v.exchange for v in venues.values()])
    d = Desk(venues, router, MakerEngine(settings, instruments, router, lambda signal: None))
    try:
        await router.start()
        if arm:
            router.arm()
            await until(lambda: all(router.quoting_allowed_for(key) for key in venues),
                        "every user stream connected and reconciled")
        yield d
    finally:
        await router.stop()
        for fx in fakes:
            await fx.stop()


@asynccontextmanager
async def two_venues(monkeypatch, dead_man_s: float = 30.0, arm: bool = True):
    set_keys(monkeypatch)
    accounts = [(BinanceTrading(FakeExchange([capture()]), *keys), functools.partial(venue_settings, name),
                 replace(BTC, venue=name)) for name, keys in KEYS.items()]
    async with routed(accounts, dead_man_s, arm) as d:
        yield d


@asynccontextmanager
async def binance_and_okx(monkeypatch):
    """Binance and OKX in one run, both served by one fake exchange, each account checking its own keys."""
    for name, value in (BINANCE_ENV | OKX_ENV).items():
        monkeypatch.setenv(name, value)
    fx = FakeExchange([capture()], okx=okx_capture())
    accounts = [(BinanceTrading(fx, BINANCE_KEY, BINANCE_SECRET), binance_venue, BTC),
                (OkxTrading(fx, OKX_KEY, OKX_SECRET, OKX_PASSPHRASE), okx_venue, OKX_BTC)]
    async with routed(accounts) as d:
        await play_book(fx)
        yield d


async def test_each_venue_gets_its_own_orders_and_cancels_go_where_the_order_went(monkeypatch):
    async with two_venues(monkeypatch) as d:
        await d.quoting_everywhere()
        for key, venue in d.venues.items():
            client_ids = {o.client_id for o in venue.trading.open_orders()}
            assert client_ids <= set(venue.exchange.by_client)  # each venue holds the orders sent to it
            assert all(o.venue == key[0] for o in d.router.open_orders(key))
        assert len(d.router.open_orders()) == 4
        a, b = d.venues[A], d.venues[B]
        assert not any(KEYS["binance-b"][0] in r for r in a.trading.raw_requests)  # each account signs its own
        assert not any(KEYS["binance-a"][0] in r for r in b.trading.raw_requests)

        d.engine.stop(A)  # cancels by order id: each to the venue its order was placed on
        await until(lambda: a.trading.open_orders() == [], "A's quotes cancelled")
        assert a.cancels("/api/v3/order") == 2 and b.cancels("/api/v3/order") == 0
        assert len(b.trading.open_orders()) == 2 and d.router.open_orders(A) == []


async def lose_user_stream(d, held: Key, other: Key) -> None:
    """`held`'s user stream lost: its instrument is held, saying why, while `other`'s quotes on."""
    await d.venues[held].trading.drop_user_stream()
    await until(lambda: not d.router.quoting_allowed_for(held), "held while its user stream is down")
    assert d.router.quoting_allowed_for(other)
    assert "user stream down" in d.engine.status(held)[1] and "live" not in d.engine.status(other)[1]


async def test_an_outage_on_one_venue_holds_and_dead_mans_that_venue_only(monkeypatch):
    async with two_venues(monkeypatch, dead_man_s=1.5) as d:
        await d.quoting_everywhere()
        a, b = d.venues[A], d.venues[B]
        await lose_user_stream(d, A, B)

        posts_a, posts_b = a.posts(), b.posts()
        d.feed_book(A, 1, shift=100.0)  # both markets move ~15 bps: past the refresh tolerance
        d.feed_book(B, 1, shift=100.0)
        await until(lambda: b.posts() == posts_b + 2 and len(b.trading.open_orders()) == 2, "B requoted")
        assert a.posts() == posts_a  # A sends nothing while held

        await until(lambda: a.trading.open_orders() == [], "A's dead-man cancel-all")
        assert a.exchange.dead_man_fired and "dead-man" in d.engine.status(A)[1]
        assert not b.exchange.dead_man_fired and len(b.trading.open_orders()) == 2 and b.cancels("/api/v3/openOrders") == 0

        a.trading.restore_user_stream()
        await until(lambda: d.router.quoting_allowed_for(A), "A back and reconciled")
        d.feed_book(A, 1)
        await until(lambda: len(a.trading.open_orders()) == 2, "A quoting again")


async def test_the_kill_switch_and_the_exit_cancel_on_every_venue(monkeypatch):
    async with two_venues(monkeypatch) as d:
        await d.quoting_everywhere()
        for venue in d.venues.values():
            venue.trading.place_orphan("BTCUSDT", "buy", "50000", "0.001")  # the kill switch takes anyone's
        d.engine.cancel_all()
        await until(lambda: all(v.trading.open_orders() == [] for v in d.venues.values()), "the kill switch")
        assert all(v.cancels("/api/v3/openOrders") == 1 for v in d.venues.values())

        await d.quoting_everywhere()
        await d.router.stop()  # what the runtime does on exit
        assert all(v.trading.open_orders() == [] for v in d.venues.values())
        assert all(v.cancels("/api/v3/openOrders") == 2 for v in d.venues.values())


async def test_keys_of_both_venues_never_reach_logs_output_or_the_store(monkeypatch, caplog, capsys, tmp_path):
    caplog.set_level(logging.DEBUG)
    async with two_venues(monkeypatch) as d:
        store = await attach_store(d.engine, tmp_path / "live.db")
        for key, venue in d.venues.items():
            _, best_ask = venue.server_book().best()
            d.engine.orders.place(key, Wanted("bid 0", "buy", best_ask + 1, 0.001), d.ts)  # refused: an error text
        await until(lambda: all(v.exchange.errors.counts["post_only"] for v in d.venues.values()), "both refusals")
        d.engine.enter_defensive(reason="operator")  # saved to the store
        await store.stop()
    texts = [caplog.text, *capsys.readouterr(), repr(d.router)]
    for venue in d.venues.values():
        texts += [t for _, t in venue.exchange.errors.recent] + [repr(venue.exchange), repr(venue.exchange.credentials)]
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert stored and "post-only rejected" in caplog.text
    for api_key, secret in KEYS.values():
        assert any(api_key in r for v in d.venues.values() for r in v.trading.raw_requests)  # really sent
        for value in (api_key, secret):
            assert not any(value in text for text in texts)
            assert value.encode() not in stored


async def test_a_venue_that_cannot_start_stops_the_others_cancelling_their_orders(monkeypatch):
    set_keys(monkeypatch)
    settings = LiveSettings()
    fakes = [FakeExchange([capture()]) for _ in KEYS]
    sides = [BinanceTrading(fx, *keys) for fx, keys in zip(fakes, KEYS.values())]
    for fx in fakes:
        await fx.start()
    try:
        exchanges = [LiveExchange(venue, [symbol], read_credentials(venue), settings, MakerSettings().fees)
                     for venue, symbol in zip((venue_settings(n, fx) for n, fx in zip(KEYS, fakes)),
                                              (SYMBOL, "DOGE/USDT"))]
        sides[0].place_orphan("BTCUSDT", "buy", "50000", "0.001")  # resting on the venue that does start
        with pytest.raises(LiveFeedError, match="binance-b: binance has no market 'DOGE/USDT'"):
            await VenueRouter(exchanges).start()
        assert sides[0].open_orders() == []  # binance-a started, then was stopped: cancel-all on exit
        assert ("DELETE", "/api/v3/openOrders") in {(m, p) for m, p, _ in sides[0].requests}
    finally:
        for fx in fakes:
            await fx.stop()


# -- Binance and OKX in one run --------------------------------------------------------------------------------------
async def test_binance_and_okx_quote_in_one_run_and_each_fill_is_its_own_instruments_inventory(monkeypatch):
    async with binance_and_okx(monkeypatch) as d:
        await d.quoting_everywhere()
        binance, okx = d.venues[BINANCE], d.venues[OKX]
        assert {o.type for o in binance.trading.open_orders()} == {"LIMIT_MAKER"}  # each exchange's post-only
        assert {o.type for o in okx.trading.open_orders()} == {"post_only"}
        # each fake refuses any key but its own: nothing refused, and neither venue's keys sent to the other
        assert binance.trading.refused == okx.trading.refused == []
        assert not any(OKX_KEY in r or OKX_PASSPHRASE in r for r in binance.trading.raw_requests)
        assert not any(BINANCE_KEY in r for r in okx.trading.raw_requests)

        bid = next(o for o in binance.trading.open_orders() if o.buy)
        ask = next(o for o in okx.trading.open_orders() if not o.buy)
        await binance.trading.fill(bid)
        await okx.trading.fill(ask)
        await until(lambda: len(d.engine.fills) == 2, "both fills")
        assert d.engine.inventory.qty(BINANCE) == pytest.approx(0.001)  # bought on Binance
        assert d.engine.inventory.qty(OKX) == pytest.approx(-0.001)  # sold on OKX: two positions, not one flat
        assert {(f.venue, f.side, f.price) for f in d.engine.fills} == {
            ("binance", "buy", float(bid.price)), ("okx", "sell", float(ask.price))}


async def test_okx_private_stream_lost_holds_okx_only_while_binance_quotes_on(monkeypatch):
    async with binance_and_okx(monkeypatch) as d:
        await d.quoting_everywhere()
        binance, okx = d.venues[BINANCE], d.venues[OKX]
        await lose_user_stream(d, OKX, BINANCE)

        posts_binance, posts_okx = binance.posts(), okx.posts()
        d.feed_book(BINANCE, 1, shift=100.0)  # both markets move: past the refresh tolerance
        d.feed_book(OKX, 1, shift=100.0)
        await until(lambda: binance.posts() == posts_binance + 2 and len(binance.trading.open_orders()) == 2,
                    "Binance requoted")
        assert okx.posts() == posts_okx and len(okx.trading.open_orders()) == 2  # OKX sends nothing while held

        okx.trading.restore_user_stream()
        await until(lambda: d.router.quoting_allowed_for(OKX), "OKX logged in again and reconciled")
        assert d.engine.status(OKX)[1] == ""
        d.feed_book(OKX, 1, shift=100.0)
        await until(lambda: okx.posts() == posts_okx + 2 and len(okx.trading.open_orders()) == 2, "OKX requoted")


async def test_the_kill_switch_and_the_exit_cancel_on_binance_and_okx(monkeypatch):
    async with binance_and_okx(monkeypatch) as d:
        await d.quoting_everywhere()
        binance, okx = d.venues[BINANCE], d.venues[OKX]
        binance.trading.place_orphan("BTCUSDT", "buy", "50000", "0.001")  # the kill switch takes anyone's
        okx.trading.place_orphan("BTC-USDT", "buy", "20000.0", "0.001")
        okx_before = len(okx.trading.requests)
        d.engine.cancel_all()
        await until(lambda: binance.trading.open_orders() == okx.trading.open_orders() == [], "the kill switch")
        assert binance.cancels("/api/v3/openOrders") == 1 and binance.cancels("/api/v3/order") == 0
        # OKX has no cancel-all: its open orders listed, then cancelled in one batch
        assert [(m, p) for m, p, _ in okx.trading.requests[okx_before:]] == [
            ("GET", "/api/v5/trade/orders-pending"), ("POST", CANCEL_BATCH)]

        await d.quoting_everywhere()
        await d.router.stop()  # what the runtime does on exit
        assert binance.trading.open_orders() == okx.trading.open_orders() == []
        assert binance.cancels("/api/v3/openOrders") == 2 and okx.cancels(CANCEL_BATCH, "POST") == 2


class ConfirmApp(App):
    """The console's confirmation for the router's venues (console.app builds it the same way)."""

    def __init__(self, router: VenueRouter) -> None:
        super().__init__()
        self.router = router

    def on_mount(self) -> None:
        self.push_screen(LiveConfirmScreen.for_venues(live_venues(self.router)),
                         lambda yes: self.router.arm() if yes else self.exit())


async def test_the_confirmation_lists_every_venue_and_live_arms_them_all(monkeypatch):
    async with two_venues(monkeypatch, arm=False) as d:
        app = ConfirmApp(d.router)
        async with app.run_test() as pilot:
            screen = app.screen
            shown = str(screen.query_one("#live-confirm-what").render())
            for name, (api_key, _) in KEYS.items():
                assert f"venue        {name}" in shown and f"{name}:{SYMBOL}" in shown
                assert f"API key …{api_key[-4:]}" in shown and api_key[:-4] not in shown
            assert "on all 2 venues" in str(screen.query_one("#live-confirm-question").render())
            await pilot.press(*"binance-a", "enter")  # one venue's name cannot arm both
            assert not d.router.armed and isinstance(app.screen, LiveConfirmScreen)
            await pilot.press(*"LIVE", "enter")
            assert d.router.armed and all(v.exchange.armed for v in d.venues.values())
        d.engine.start_all()
        await until(lambda: d.router.quoting_allowed_for(A) and d.router.quoting_allowed_for(B), "both allowed")


# -- the config: one LiveExchange per venue, each with its own symbols and keys ------------------------------------
def live_config(symbols: dict[str, list[str]], key_env: dict[str, str] | None = None) -> Config:
    venues = []
    for name in symbols:
        key_name, secret_name = env_names(name)
        venues.append(VenueSettings(name, "ccxt", "binance", api_key_env=(key_env or {}).get(name, key_name),
                                    secret_env=secret_name))
    instruments = [InstrumentSettings(v, s, "spot", "crypto", tick_size=0.01, lot_size=0.00001)
                   for v, listed in symbols.items() for s in listed]
    maker = MakerSettings(mode="live", instruments=[f"{i.venue}:{i.symbol}" for i in instruments], quoting=QUOTES)
    return Config(venues, instruments, maker=maker, path="live.yaml")


async def test_the_config_gives_each_venue_its_symbols_and_keys_behind_one_router(monkeypatch):
    set_keys(monkeypatch)
    config = live_config({"binance-a": ["BTC/USDT", "ETH/USDT"], "binance-b": ["BTC/USDT"]})
    runtime = Runtime(config.venues, config.instruments, DetectorSettings())
    engine = attach_maker(runtime, config, live_trading=True)
    router = engine.orders.exchange
    try:
        assert isinstance(router, VenueRouter) and runtime.services == [router]
        assert {n: v.symbols for n, v in router.venues.items()} == {"binance-a": ["BTC/USDT", "ETH/USDT"],
                                                                     "binance-b": ["BTC/USDT"]}
        assert router.venues["binance-b"].credentials.masked_key == "…" + KEYS["binance-b"][0][-4:]
        assert all(v.listener is engine.orders for v in router.venues.values())
    finally:
        for venue in router.venues.values():
            await venue.exchange.close()

    one = live_config({"binance-a": ["BTC/USDT"]})  # one venue: no router in the way
    exchange = attach_maker(Runtime(one.venues, one.instruments, DetectorSettings()), one, True).orders.exchange
    assert isinstance(exchange, LiveExchange)
    await exchange.exchange.close()


def test_two_venues_on_the_same_api_key_are_refused_with_one_line(monkeypatch):
    set_keys(monkeypatch)
    same = env_names("binance-a")[0]
    config = live_config({"binance-a": [SYMBOL], "binance-b": [SYMBOL]}, key_env={"binance-b": same})
    with pytest.raises(ConfigError) as refused:
        attach_maker(Runtime(config.venues, config.instruments, DetectorSettings()), config, True)
    assert str(refused.value) == ("live.yaml: venues[1].api_key_env: venues binance-a and binance-b trade with the "
                                  "same API key; quote each account from one venue")


# -- the real command: a headless live run quoting on both venues ---------------------------------------------------
def two_venue_config(tmp_path, fakes: dict[str, FakeExchange]):
    text = "venues:\n"
    for name, fx in fakes.items():
        key_env, secret_env = env_names(name)
        urls = "".join(f'      "{prefix}": "{target}"\n' for prefix, target in fx.urls("binance").items())
        text += (f"  - name: {name}\n    source: ccxt\n    exchange: binance\n    channels: [book]\n"
                 f"    api_key_env: {key_env}\n    secret_env: {secret_env}\n    urls:\n{urls}")
    text += "instruments:\n" + "".join(f"  - {{venue: {name}, symbol: {SYMBOL}, kind: spot, market: crypto}}\n"
                                        for name in fakes)
    maker = LIVE_MAKER.format(store=tmp_path / "live.db").replace(
        '["binance:BTC/USDT"]', "[" + ", ".join(f'"{name}:{SYMBOL}"' for name in fakes) + "]")
    path = tmp_path / "live.yaml"
    path.write_text(text + maker)
    return path


async def test_a_headless_run_quotes_on_both_venues_and_leaves_no_order_on_either(monkeypatch, tmp_path):
    set_keys(monkeypatch)  # the child inherits them
    market = load_binance("spot", "BTCUSDT", 20.0)  # moving quotes while the child runs
    fakes, trading = {}, {}
    for name, (api_key, secret) in KEYS.items():
        fakes[name] = FakeExchange([market], speed=1.0)
        trading[name] = BinanceTrading(fakes[name], api_key, secret)
        await fakes[name].start()
    try:
        config = two_venue_config(tmp_path, fakes)
        result = await watchfloor("--config", str(config), "--live", "--headless", "--i-understand-live",
                                  "--duration", "4")
    finally:
        for fx in fakes.values():
            await fx.stop()
    assert result.returncode == 0, result.stderr
    for name, side in trading.items():
        ours = [o for o in side.orders.values() if o.client_id.startswith("wf")]
        assert ours and all(o.type == "LIMIT_MAKER" for o in ours), name  # quoted there, post-only
        assert side.open_orders() == [], name  # and cancelled there on exit
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("live.db"))
    for value in (v for pair in KEYS.values() for v in pair):
        assert value not in result.stdout + result.stderr and value.encode() not in stored
