"""Live feeds through ccxt.pro against a local fake exchange speaking Binance's and OKX's wire formats.

ccxt's own code is under test: its URLs point at tests/fake_exchange.py, which replays the real captures
in ../shared/data. Waits are on conditions with generous timeouts, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import re
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.config import ConfigError, load_config
from console.runtime import Runtime
from console.wiring import market_runtime
from detectors.settings import DetectorSettings
from fake_exchange import FakeExchange, cut_at, last_ticked_depth, load_binance, load_okx
from feeds.events import BookEvent, MarkEvent, StatusEvent, TradeEvent
from feeds.live import CcxtSource, LiveFeedError, UnknownSymbolError, load_venue
from feeds.live.backoff import Backoff
from feeds.live.convert import BookDiffer
from feeds.live.exchange import rewrite_urls
from feeds.settings import InstrumentSettings, VenueSettings
from waiting import WAIT_S
from waiting import until as wait_until

ROOT = Path(__file__).resolve().parent.parent
SPOT, PERP = ("BTC/USDT", "spot"), ("BTC/USDT:USDT", "perp")


async def until(condition, what: str, timeout: float = WAIT_S) -> None:
    await wait_until(condition, what, timeout, lambda: CURRENT[0].explain() if CURRENT else "")


CURRENT: list = []  # the running Live, to explain a timeout


@dataclass
class Live:
    fx: FakeExchange
    venue: VenueSettings
    source: CcxtSource
    runtime: Runtime
    events: list

    def of(self, kind: type, symbol: str | None = None) -> list:
        return [e for e in self.events if isinstance(e, kind) and (symbol is None or e.symbol == symbol)]

    def statuses(self, symbol: str, state: str) -> list[StatusEvent]:
        return [e for e in self.of(StatusEvent, symbol) if e.state == state]

    def book(self, symbol: str):
        return self.runtime.instruments[(self.venue.name, symbol)].book

    def explain(self) -> str:
        books = {symbol: (state.book.seq, state.book.best_bid(), state.book.best_ask())
                 for (_, symbol), state in self.runtime.instruments.items()}
        return (f"books {books}; statuses {[(e.symbol, e.state, e.detail) for e in self.of(StatusEvent)][-8:]}; "
                f"{self.source.counters}; played {[p.sent for p in self.fx.players.values()]}")


@asynccontextmanager
async def live(binance=(), okx=None, symbols=(SPOT,), speed: float = 10.0, exchange: str = "binance", **venue):
    """A fake exchange, and a Runtime running a CcxtSource pointed at it, as the console would."""
    fx = await FakeExchange(list(binance), okx, speed).start()
    settings = VenueSettings(exchange, "ccxt", exchange, urls=fx.urls(exchange), **venue)
    instruments = [InstrumentSettings(exchange, symbol, kind, "crypto") for symbol, kind in symbols]
    source = CcxtSource(settings, instruments)
    runtime = Runtime([settings], instruments, DetectorSettings(), [source], live_lag=True, speed=1.0)
    events: list = []
    runtime.consumers.append(events.extend)
    task = asyncio.create_task(runtime.run())
    CURRENT[:] = [Live(fx, settings, source, runtime, events)]
    try:
        yield CURRENT[0]
    finally:
        CURRENT.clear()
        runtime.stop()
        await asyncio.wait_for(task, WAIT_S)
        await fx.stop()


def binance_capture(seconds: float = 12.0, symbol: str = "BTCUSDT", market: str = "spot"):
    """A slice of a Binance capture ending on a diff the exchange's bookTicker confirms, its last update id,
    and the exchange's quotes by update id (its bookTicker stream)."""
    capture = load_binance(market, symbol, seconds)
    quotes = capture.tickers
    capture = cut_at(capture, last_ticked_depth(capture))
    return capture, capture.timeline[-1].data["u"], quotes


def retry_delays(statuses: list[StatusEvent]) -> list[float]:
    return [float(re.search(r"retry in ([0-9.]+) s$", s.detail).group(1)) for s in statuses]


# -- books, trades and marks as the exchange has them ------------------------------------------------------
async def test_binance_books_agree_with_the_exchange_best_bid_ask_throughout():
    spot, spot_u, spot_quotes = binance_capture(seconds=20.0)
    perp, perp_u, perp_quotes = binance_capture(seconds=20.0, market="usdm")
    quotes = {"BTC/USDT": spot_quotes, "BTC/USDT:USDT": perp_quotes}
    agreed: list[bool] = []  # per book update whose id the exchange quoted: did our top of book match?

    async with live([spot, perp], symbols=(SPOT, PERP)) as run:
        def check(batch) -> None:
            for event in batch:
                if isinstance(event, BookEvent) and event.seq in quotes[event.symbol]:
                    book = run.book(event.symbol)
                    agreed.append((book.best_bid()[0], book.best_ask()[0]) == quotes[event.symbol][event.seq])
        run.runtime.consumers.append(check)
        await until(lambda: run.book("BTC/USDT").seq == spot_u and run.book("BTC/USDT:USDT").seq == perp_u,
                    "both books to reach the last diff")
        assert agreed and all(agreed)  # how many depends on how ccxt batches updates on a busy machine
        assert (run.book("BTC/USDT").best_bid()[0], run.book("BTC/USDT").best_ask()[0]) == spot_quotes[spot_u]
        assert (run.book("BTC/USDT:USDT").best_bid()[0], run.book("BTC/USDT:USDT").best_ask()[0]) == perp_quotes[perp_u]
        await until(lambda: run.fx.players[("usdm", "BTCUSDT")].done.is_set(), "the perp capture to finish")
        spot_books = run.of(BookEvent, "BTC/USDT")
        assert spot_books[0].snapshot and not any(e.snapshot for e in spot_books[1:])
        assert all(e.prev_seq == before.seq for before, e in zip(spot_books, spot_books[1:]))
        spot_trades = [m for m in spot.timeline if m.stream == "trade"]
        assert len(run.of(TradeEvent, "BTC/USDT")) > len(spot_trades) / 2  # those after the subscription
        assert {e.side for e in run.of(TradeEvent)} == {"buy", "sell"}
        marks = run.of(MarkEvent, "BTC/USDT:USDT")
        assert any(m.mark and m.index for m in marks)
        assert any(m.funding_rate == pytest.approx(0.0001) and m.next_funding_ts for m in marks)
        assert run.runtime.book_gaps == 0 and run.source.counters.malformed == 0


async def test_okx_books_follow_the_exchange_through_the_capture():
    okx = load_okx()
    async with live(okx=okx, symbols=(("BTC/USDT", "spot"), ("UNI/USD:UNI", "perp")), exchange="okx",
                    channels=["book", "trades"]) as run:
        await until(lambda: run.fx.players["okx"].done.is_set(), "the OKX capture to finish")
        server = {"BTC/USDT": run.fx.okx_books["BTC-USDT"], "UNI/USD:UNI": run.fx.okx_books["UNI-USD-SWAP"]}
        for symbol, book in server.items():
            await until(lambda: (run.book(symbol).best_bid()[0], run.book(symbol).best_ask()[0]) == book.best(),
                        f"{symbol} to match the exchange's book")
        updates = sum(1 for m in okx if m.stream == "books" and m.data["action"] == "update")
        assert run.fx.okx_checksums_ok == updates  # the fake's books reproduce every captured checksum
        trades = run.of(TradeEvent, "BTC/USDT")  # (UNI's one print comes before anyone subscribes)
        assert len(trades) > 30 and len({t.id for t in trades}) == len(trades)


# -- resilience ---------------------------------------------------------------------------------------------
async def test_a_dropped_binance_diff_is_a_gap_then_a_resync():
    capture, final_u, quotes = binance_capture()
    async with live([capture], channels=["book"], reconnect_base_s=0.05) as run:
        run.fx.dropped_depth = {15}
        await until(lambda: run.book("BTC/USDT").seq == final_u, "the book to reach the last diff")
        gaps = run.statuses("BTC/USDT", "gap")
        assert len(gaps) == 1 and "ChecksumError" in gaps[0].detail
        after_gap = run.events[run.events.index(gaps[0]):]
        resync = next(e for e in after_gap if isinstance(e, BookEvent))
        assert resync.snapshot  # the book came back whole, from a fresh REST snapshot
        assert (run.book("BTC/USDT").best_bid()[0], run.book("BTC/USDT").best_ask()[0]) == quotes[final_u]
        assert run.source.counters.gaps == 1 and run.runtime.book_gaps == 1


async def test_a_dropped_okx_update_is_a_gap_then_a_resubscription():
    async with live(okx=load_okx(), symbols=(("BTC/USDT", "spot"),), exchange="okx", channels=["book"],
                    reconnect_base_s=0.05, speed=5.0) as run:
        run.fx.dropped_depth = {20}
        await until(lambda: run.statuses("BTC/USDT", "gap"), "a gap")
        await until(lambda: run.fx.players["okx"].done.is_set(), "the OKX capture to finish")
        book = run.fx.okx_books["BTC-USDT"]
        await until(lambda: (run.book("BTC/USDT").best_bid()[0], run.book("BTC/USDT").best_ask()[0]) == book.best(),
                    "the resynced book to match the exchange's")
        assert "InvalidNonce" in run.statuses("BTC/USDT", "gap")[0].detail
        assert sum(e.snapshot for e in run.of(BookEvent, "BTC/USDT")) == 2


async def test_the_server_closing_the_socket_leads_to_reconnects_with_growing_delays():
    capture, final_u, quotes = binance_capture(seconds=20.0)
    async with live([capture], channels=["book"], reconnect_base_s=0.05, reconnect_max_s=5.0, speed=8.0) as run:
        await until(lambda: len(run.of(BookEvent)) >= 5, "the first book updates")
        run.fx.refuse = 3  # the next three connections are dropped as soon as they subscribe
        await run.fx.close_sockets()
        await until(lambda: len(run.statuses("BTC/USDT", "connected")) == 2, "the feed to come back")
        drops = run.statuses("BTC/USDT", "disconnected")
        delays = retry_delays(drops)
        assert len(delays) == 4
        for n, delay in enumerate(delays):  # base x 2^n, jittered into its upper half
            assert 0.05 * 2 ** n / 2 <= delay <= 0.05 * 2 ** n
        back = run.events.index(run.statuses("BTC/USDT", "connected")[1])
        assert isinstance(run.events[back + 1], BookEvent) and run.events[back + 1].snapshot
        await until(lambda: run.book("BTC/USDT").seq == final_u, "data to flow to the end again")
        assert any(isinstance(e, BookEvent) and not e.snapshot for e in run.events[back + 2:])  # diffs, not polls
        assert (run.book("BTC/USDT").best_bid()[0], run.book("BTC/USDT").best_ask()[0]) == quotes[final_u]
        assert run.source.counters.reconnects == 4


async def test_malformed_json_is_counted_and_dropped_and_the_stream_goes_on():
    capture, final_u, quotes = binance_capture(seconds=10.0)
    async with live([capture], channels=["book"], speed=5.0) as run:
        await until(lambda: len(run.of(BookEvent)) >= 3, "the first book updates")
        await run.fx.inject("binance-spot", '{"e":"depthUpdate","s":"BTCUSDT","U":')
        await until(lambda: run.source.counters.malformed == 1, "the malformed frame to be counted")
        seen = len(run.of(BookEvent))
        await until(lambda: run.book("BTC/USDT").seq == final_u, "the book to reach the last diff")
        assert len(run.of(BookEvent)) > seen
        assert (run.book("BTC/USDT").best_bid()[0], run.book("BTC/USDT").best_ask()[0]) == quotes[final_u]
        assert not run.statuses("BTC/USDT", "disconnected") and not run.statuses("BTC/USDT", "gap")
        assert "JSONDecodeError" in run.source.counters.last_problem or "decode" in run.source.counters.last_problem


async def test_a_silent_server_triggers_the_stale_watchdog():
    capture, _, _ = binance_capture(seconds=60.0)
    async with live([capture], channels=["book", "trades"], freshness_s=1.0, speed=1.0) as run:
        await until(lambda: len(run.of(BookEvent)) >= 3, "the first book updates")
        run.fx.silence()
        stale = ("binance", "BTC/USDT", "stale_feed")
        await until(lambda: stale in run.runtime.engine.open, "a stale_feed alert")
        alert = run.runtime.engine.open[stale]
        assert alert.value > 1.0 and alert.threshold == 1.0
        run.fx.resume()
        await until(lambda: stale not in run.runtime.engine.open, "the alert to clear when data resumes")


async def test_a_rate_limited_symbol_never_stops_the_others():
    btc, _, _ = binance_capture(seconds=12.0)
    eth, eth_u, eth_quotes = binance_capture(seconds=12.0, symbol="ETHUSDT")
    async with live([btc, eth], symbols=(SPOT, ("ETH/USDT", "spot")), channels=["book"], speed=5.0,
                    reconnect_base_s=0.05, reconnect_max_s=0.2) as run:
        run.fx.rate_limited.add("BTCUSDT")
        await until(lambda: run.source.counters.rate_limited >= 2, "BTC's snapshots to be refused")
        await until(lambda: len(run.of(BookEvent, "ETH/USDT")) >= 5, "ETH to flow meanwhile")
        assert not run.of(BookEvent, "BTC/USDT")
        assert "DDoSProtection: binance 429" in run.statuses("BTC/USDT", "disconnected")[0].detail
        run.fx.rate_limited.clear()
        await until(lambda: run.of(BookEvent, "BTC/USDT"), "BTC to recover")
        await until(lambda: run.book("ETH/USDT").seq == eth_u, "ETH to reach its last diff")
        assert (run.book("ETH/USDT").best_bid()[0], run.book("ETH/USDT").best_ask()[0]) == eth_quotes[eth_u]


async def test_rest_polling_where_there_are_no_websockets():
    capture, _, _ = binance_capture(seconds=8.0)
    async with live([capture], channels=["book", "trades"], rest_only=True, rest_poll_s=0.05, speed=4.0) as run:
        await until(lambda: run.fx.players[("spot", "BTCUSDT")].done.is_set(), "the capture to finish")
        server = run.fx.books[("spot", "BTCUSDT")]
        await until(lambda: (run.book("BTC/USDT").best_bid()[0], run.book("BTC/USDT").best_ask()[0]) == server.best(),
                    "the polled book to match the exchange's")
        assert len(run.of(BookEvent)) > 3 and run.of(BookEvent)[0].snapshot
        trades = run.of(TradeEvent)
        assert trades and len({t.id for t in trades}) == len(trades)  # each print once, however often polled


async def test_the_ticker_channel_keeps_the_top_of_book():
    capture = load_binance("spot", "BTCUSDT", 6.0)
    last = [m.data for m in capture.timeline if m.stream == "bookTicker"][-1]
    async with live([capture], channels=["ticker"], speed=6.0) as run:
        await until(lambda: run.fx.players[("spot", "BTCUSDT")].done.is_set(), "the capture to finish")
        await until(lambda: (run.book("BTC/USDT").best_bid(), run.book("BTC/USDT").best_ask())
                    == ((float(last["b"]), float(last["B"])), (float(last["a"]), float(last["A"]))),
                    "the book to show the last quote")
        books = run.of(BookEvent)
        assert len(books) > 10 and all(e.snapshot and len(e.bids) == len(e.asks) == 1 for e in books)


# -- unknown symbols and exchanges --------------------------------------------------------------------------
async def test_an_unknown_symbol_is_a_clear_error_at_start_and_halts_only_itself_at_run_time(tmp_path):
    capture, _, _ = binance_capture(symbol="ETHUSDT")
    async with live([capture], symbols=(("BTC/USDX", "spot"), ("ETH/USDT", "spot")), channels=["book"]) as run:
        bad = InstrumentSettings("binance", "BTC/USDX", "spot", "crypto")
        with pytest.raises(UnknownSymbolError, match=r"binance has no market 'BTC/USDX' \(did you mean .*BTC/USDT"):
            await load_venue(run.venue, [bad])
        await until(lambda: len(run.of(BookEvent, "ETH/USDT")) >= 3, "ETH to flow")
        halted = run.statuses("BTC/USDX", "halted")
        assert len(halted) == 1 and "no market 'BTC/USDX'" in halted[0].detail

        config = write_config(tmp_path, run.fx, ["BTC/USDT", "BTC/USDX"])
        result = await watchfloor("--config", str(config), "--live-only", "--headless", "--duration", "5")
        assert result.returncode == 2
        assert result.stderr.strip() == (f"watchfloor: {config}: instruments[1].symbol: binance has no market "
                                         f"'BTC/USDX' (did you mean BTC/USDT?)")


def test_an_unknown_exchange_id_is_a_config_error_with_its_line(tmp_path):
    path = tmp_path / "live.yaml"
    path.write_text("venues:\n  - name: binance\n    source: ccxt\n    exchange: binanse\ninstruments: []\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith(f"{path}:4: venues[0].exchange: 'binanse' is not a ccxt exchange with websocket support")
    assert re.search(r"\(did you mean binance\b.*\?\)$", message) and "\n" not in message


# -- wiring and the command line ----------------------------------------------------------------------------
def write_config(tmp_path: Path, fx: FakeExchange, symbols: list[str], extra: str = "") -> Path:
    urls = "".join(f'      "{prefix}": "{target}"\n' for prefix, target in fx.urls("binance").items())
    instruments = "".join(f"  - {{venue: binance, symbol: {s}, kind: spot, market: crypto}}\n" for s in symbols)
    path = tmp_path / "live.yaml"
    path.write_text("venues:\n  - name: binance\n    source: ccxt\n    exchange: binance\n    channels: [book]\n"
                    f"    urls:\n{urls}{extra}instruments:\n{instruments}")
    return path


async def watchfloor(*args: str):
    """The real command in a child process, while this test's loop keeps the fake exchange serving."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "console.cli", *args, cwd=ROOT,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)

    @dataclass
    class Result:
        returncode: int
        stdout: str
        stderr: str
    return Result(process.returncode, stdout.decode(), stderr.decode())


async def test_the_console_runtime_runs_live_venues_in_real_time_with_exchange_tick_sizes(tmp_path):
    capture, _, _ = binance_capture()
    fx = await FakeExchange([capture]).start()
    try:
        path = write_config(tmp_path, fx, ["BTC/USDT"], extra="  - {name: sim-alpha, source: sim}\n")
        path.write_text(path.read_text() + "  - {venue: sim-alpha, symbol: ETH/USDT, kind: spot, market: crypto, "
                                           "tick_size: 0.01, price: 3400}\n")
        config = load_config(path)
        runtime = await asyncio.to_thread(market_runtime, config)
        assert runtime.speed == 1.0 and runtime.live_lag
        assert runtime.instruments[("binance", "BTC/USDT")].settings.tick_size == 0.01  # from exchangeInfo
        assert runtime.instruments[("binance", "BTC/USDT")].settings.lot_size == 0.00001
        assert ("sim-alpha", "ETH/USDT") in runtime.instruments  # the simulator runs beside the live venue
        assert runtime.health["binance"].feed is runtime.sources[0].counters
        only = await asyncio.to_thread(market_runtime, config, None, None, "only")
        assert list(only.instruments) == [("binance", "BTC/USDT")]
        with pytest.raises(LiveFeedError, match="--speed: live venues \\(binance\\) run in real time"):
            await asyncio.to_thread(market_runtime, config, 0.0)
        result = await watchfloor("--config", str(path), "--live-only", "--headless", "--duration", "2")
        assert result.returncode == 0, result.stderr
        assert re.search(r"watchfloor: [1-9][0-9]* events", result.stderr)
    finally:
        await fx.stop()


# -- the adapter's own parts --------------------------------------------------------------------------------
def test_book_differ_sends_a_snapshot_then_only_changed_levels():
    differ = BookDiffer("binance", "BTC/USDT", depth=3)
    book = {"bids": [[100.0, 1.0], [99.0, 2.0], [98.0, 3.0], [97.0, 4.0]], "asks": [[101.0, 1.0], [102.0, 2.0]],
            "nonce": 10, "timestamp": 1_700_000_000_000}
    first = differ.event(book, now=5.0)
    assert first.snapshot and first.ts == 1_700_000_000.0 and first.seq == 10
    assert first.bids == [(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)]  # the top `depth` levels only
    assert differ.event(dict(book, nonce=11), now=5.0) is None  # nothing changed in the top levels
    book = {"bids": [[100.5, 0.5], [100.0, 1.0], [99.0, 2.5], [98.0, 3.0]], "asks": [[102.0, 2.0]], "nonce": 12}
    delta = differ.event(book, now=6.0)
    assert not delta.snapshot and delta.ts == 6.0 and (delta.prev_seq, delta.seq) == (10, 12)
    assert sorted(delta.bids) == [(98.0, 0.0), (99.0, 2.5), (100.5, 0.5)]  # 98 fell out of the top 3
    assert delta.asks == [(101.0, 0.0)]
    differ.resync()
    assert differ.event(book, now=7.0).snapshot


def test_book_differ_leaves_out_levels_ccxt_could_not_parse():
    differ = BookDiffer("okx", "BTC/USDT", depth=10)
    event = differ.event({"bids": [[None, 1.0], [float("nan"), 1.0], [99.0, -1.0], [98.0, 1.0]],
                          "asks": [[101.0, float("inf")], [102.0, 2.0]], "nonce": None}, now=1.0)
    assert event.bids == [(98.0, 1.0)] and event.asks == [(102.0, 2.0)] and event.seq is None


def test_backoff_doubles_with_jitter_up_to_the_cap_and_starts_over_after_a_quiet_spell():
    clock = [0.0]
    highest = Backoff(0.5, 4.0, rng=lambda: 1.0, clock=lambda: clock[0])
    assert [highest.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    lowest = Backoff(0.5, 4.0, rng=lambda: 0.0, clock=lambda: clock[0])
    assert [lowest.next_delay() for _ in range(3)] == [0.25, 0.5, 1.0]
    clock[0] = 8.1  # more than twice the cap without a failure
    assert highest.next_delay() == 0.5


def test_url_rewrites_reach_nested_urls_and_report_prefixes_that_match_nothing():
    urls = {"rest": "https://{hostname}/api", "ws": {"public": "wss://ws.example.com/ws", "other": 3}}
    unused = rewrite_urls(urls, {"https://{hostname}": "http://127.0.0.1:1", "wss://ws.example.com": "ws://l:2",
                                 "https://typo.example.com": "http://x"})
    assert urls == {"rest": "http://127.0.0.1:1/api", "ws": {"public": "ws://l:2/ws", "other": 3}}
    assert unused == ["https://typo.example.com"]
