"""Replay of real exchange captures: books rebuilt by the exchange's rules, gaps seen, bars read right, all merged.

The data is the real captures in ../shared/data (see its README); damaged variants are written to tmp_path.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import io
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import run_cli
from console.config import load_config
from console.replay_bench import run_replay_bench
from console.runtime import Runtime
from console.wiring import replay_runtime
from feeds.book import ApplyResult, OrderBook
from feeds.captures.binance import BinanceCapture
from feeds.captures.okx import OkxCapture
from feeds.captures.ordering import TimeOrder
from feeds.captures.symbols import SymbolError, binance_symbol, okx_symbol
from feeds.events import BarEvent, BookEvent, StatusEvent, TradeEvent
from feeds.recorder import Recorder
from feeds.replay import ReplayError, ReplaySource

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SPOT = DATA / "binance" / "btcusdt_spot_20240808.gz"
USDM = DATA / "binance" / "btcusdt_usdm_20240808.gz"
OKX = DATA / "okx" / "OKX.ws.1.0"
SPY = DATA / "equity-us" / "spy"
BTCUSD = DATA / "crypto-bars" / "coinbase-btcusd"
UTC = timezone.utc


def read(reader) -> list:
    return list(reader.events())


def binance(path: Path) -> tuple[BinanceCapture, list, list[str]]:
    errors: list[str] = []
    reader = BinanceCapture(path, errors.append)
    return reader, read(reader), errors


@functools.cache
def clean_events(path: Path) -> tuple:
    """The events of an undamaged capture, read once for every test comparing against them."""
    return tuple(binance(path)[1])


def okx(path: Path) -> tuple[OkxCapture, list, list[str]]:
    errors: list[str] = []
    reader = OkxCapture(path, errors.append)
    return reader, read(reader), errors


def capture_lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as file:
        return file.read().splitlines()


def write_capture(path: Path, lines: list[bytes]) -> Path:
    with gzip.open(path, "wb", compresslevel=1) as file:
        file.write(b"\n".join(lines) + b"\n")
    return path


def is_depth(line: bytes) -> bool:
    return b"@depth" in line[:80]


def is_snapshot(line: bytes) -> bool:
    return b'"lastUpdateId"' in line[:60]


def book_tickers(path: Path) -> dict[int, list[tuple[float, float, float, float]]]:
    """Every bookTicker of a capture, parsed here independently of the reader: update id -> (b, B, a, A)."""
    tickers: dict[int, list] = {}
    for line in capture_lines(path):
        if b"@bookTicker" in line[:80]:
            data = json.loads(line.split(b" ", 1)[1])["data"]
            tickers.setdefault(data["u"], []).append(tuple(float(data[k]) for k in ("b", "B", "a", "A")))
    return tickers


def books_of(events: list) -> list[tuple]:
    return [(e.ts, e.snapshot, e.seq, e.prev_seq, e.bids, e.asks) for e in events if isinstance(e, BookEvent)]


# --- Binance: the rebuilt book is the exchange's book -------------------------------------------------------


@pytest.mark.parametrize("path, venue, symbol", [(SPOT, "binance", "BTC/USDT"),
                                                 (USDM, "binanceusdm", "BTC/USDT:USDT")])
def test_rebuilt_binance_book_agrees_with_every_book_ticker_of_the_same_update_id(path, venue, symbol):
    reader, events, errors = binance(path)
    tickers = book_tickers(path)
    book = OrderBook(venue, symbol)
    compared = 0
    for event in events:
        assert (event.venue, event.symbol) == (venue, symbol)
        if isinstance(event, BookEvent):
            assert book.apply(event) is ApplyResult.APPLIED
            for ticker in tickers.get(book.seq, ()):
                assert book.best_bid() + book.best_ask() == ticker
                compared += 1
    print(f"{path.name}: {compared} bookTickers compared with the rebuilt book")
    assert compared >= 500  # 564 spot, 629 USD-M
    last_ticker = tickers[max(tickers)][-1]
    assert (book.best_bid()[0], book.best_ask()[0]) == (last_ticker[0], last_ticker[2])
    assert reader.gaps == 0 and errors == []
    assert not any(isinstance(e, StatusEvent) for e in events)
    assert reader.stats["bookTicker"] == sum(len(v) for v in tickers.values())


def test_replay_reports_the_book_ticker_checks_of_the_runtimes_own_books(small_config):
    result = run_cli("--config", str(small_config), "replay", str(SPOT), str(USDM), "--headless", "--speed", "max")
    assert result.returncode == 0, result.stderr
    assert f"{SPOT}: BTC/USDT: bookTicker checks: 564 agree, 0 disagree with the rebuilt book" in result.stderr
    assert f"{USDM}: BTC/USDT:USDT: bookTicker checks: 629 agree, 0 disagree with the rebuilt book" in result.stderr


def test_a_book_ticker_the_rebuilt_book_contradicts_is_reported_with_its_line(tmp_path, small_config):
    lines = capture_lines(SPOT)
    applied = {json.loads(line.split(b" ", 1)[1])["data"]["u"] for line in lines if is_depth(line)}
    index = next(i for i, line in enumerate(lines) if b"@bookTicker" in line[:80]
                 and json.loads(line.split(b" ", 1)[1])["data"]["u"] in applied)
    damaged_lines = list(lines)
    damaged_lines[index] = re.sub(rb'"b":"[0-9.]+"', b'"b":"1.00000000"', lines[index])
    damaged = write_capture(tmp_path / "spot.gz", damaged_lines)
    errors, notes = [], []
    runtime = replay_runtime(load_config(small_config), [damaged], speed=0.0, on_error=errors.append,
                             on_note=notes.append)
    asyncio.run(runtime.run())
    assert len(errors) == 1 and errors[0].startswith(f"{damaged}:{index + 1}: bookTicker u=")
    assert "bid (1.0, " in errors[0] and "disagrees with the rebuilt book: bid (61" in errors[0]
    assert notes == [f"{damaged}: BTC/USDT: bookTicker checks: 563 agree, 1 disagree with the rebuilt book"]


def test_binance_events_come_in_exchange_time_order_with_trade_sides_from_the_maker_flag():
    reader, events, _ = binance(SPOT)
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:]))
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert len(trades) == reader.stats["trade"] == 9_757
    # line 4 of the file: {"t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true}
    first = next(t for t in trades if t.id == "3735683259")
    assert (first.ts, first.price, first.qty, first.side) == (1723161255.342, 61837.63, 0.02, "sell")
    assert {t.side for t in trades} == {"buy", "sell"}


@pytest.mark.parametrize("path", [SPOT, USDM])
@pytest.mark.parametrize("snapshot_at", ["first", "5 s late"])
def test_diffs_arriving_before_the_snapshot_are_buffered_and_give_the_same_book(tmp_path, path, snapshot_at):
    lines = capture_lines(path)
    snapshot = next(line for line in lines if is_snapshot(line))
    rest = [line for line in lines if line is not snapshot]
    received = int(snapshot.split(b" ", 1)[0])
    at = 0 if snapshot_at == "first" else next(i for i, line in enumerate(rest)
                                               if int(line.split(b" ", 1)[0]) > received + 5_000_000_000)
    moved = write_capture(tmp_path / path.name, rest[:at] + [snapshot] + rest[at:])
    original = clean_events(path)
    reader, events, errors = binance(moved)
    assert [book[1:] for book in books_of(events)] == [book[1:] for book in books_of(original)]
    if snapshot_at == "first":
        assert books_of(events) == books_of(original)
    else:  # the book starts when its snapshot comes, seconds after the diffs it applies were sent
        assert books_of(events)[0][0] > books_of(original)[0][0]
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:]))
    assert reader.gaps == 0 and errors == []


@pytest.mark.parametrize("path, rule", [(SPOT, "U-1="), (USDM, "pu=")])
@pytest.mark.parametrize("dropped", [100, "the bridging diff"])
def test_a_dropped_diff_is_a_gap_and_the_book_stays_out_of_sync(tmp_path, small_config, path, rule, dropped):
    lines = capture_lines(path)
    original = clean_events(path)
    bridging_seq = books_of(original)[1][2]
    depth = [i for i, line in enumerate(lines) if is_depth(line)]
    index = depth[100] if dropped == 100 else next(
        i for i in depth if json.loads(lines[i].split(b" ", 1)[1])["data"]["u"] == bridging_seq)
    damaged = write_capture(tmp_path / path.name, lines[:index] + lines[index + 1:])

    reader, events, errors = binance(damaged)
    gaps = [e for e in events if isinstance(e, StatusEvent)]
    assert len(gaps) == 1 and gaps[0].state == "gap" and reader.gaps == 1
    assert (rule if dropped == 100 else "older than the diffs") in gaps[0].detail
    assert not any(isinstance(e, BookEvent) and e.ts > gaps[0].ts for e in events)
    assert len(errors) == 1 and "depth diffs never applied" in errors[0]

    config = load_config(small_config)
    runtime = Runtime(config.venues, [], config.detectors)
    runtime.dispatch(events)
    book = next(iter(runtime.instruments.values())).book
    assert not book.in_sync
    if dropped == 100:  # the book lost sync: counted once in the run's summary
        assert runtime.book_gaps == 1 and book.best_bid() is not None
    else:  # the snapshot could never be used: there never was a book to lose
        assert runtime.book_gaps == 0 and book.best_bid() is None


def test_corrupt_capture_lines_are_reported_with_file_and_line_and_skipped(tmp_path):
    lines = capture_lines(SPOT)
    trade_index = next(i for i, line in enumerate(lines) if b"@trade" in line[:80])
    depth_index = [i for i, line in enumerate(lines) if is_depth(line)][50]
    damaged_lines = list(lines)
    damaged_lines[trade_index] = lines[trade_index].replace(b'"p":"', b'"p":"x')
    damaged_lines[depth_index] = lines[depth_index][:60]
    damaged_lines.insert(0, b"garbage")
    damaged = write_capture(tmp_path / "spot.gz", damaged_lines)

    reader, events, errors = binance(damaged)
    where = [error.split(": ", 1)[0] for error in errors[:3]]
    assert where == [f"{damaged}:1", f"{damaged}:{trade_index + 2}", f"{damaged}:{depth_index + 2}"]
    assert "'<receive time ns> <json>'" in errors[0]
    assert "could not convert string to float: 'x" in errors[1]
    assert "bad JSON" in errors[2]
    assert "depth diffs never applied" in errors[3] and len(errors) == 4  # the lost diff broke the sequence
    assert len([e for e in events if isinstance(e, TradeEvent)]) == 9_757 - 1
    assert reader.gaps == 1


def test_a_truncated_capture_ends_that_file_cleanly_and_the_others_play_on(tmp_path):
    cut = tmp_path / "cut.gz"
    cut.write_bytes(SPOT.read_bytes()[: SPOT.stat().st_size // 2])
    errors: list[str] = []
    source = ReplaySource([cut, OKX], on_error=errors.append)
    events = [e for batch in run(source) for e in batch]
    assert len(errors) == 1 and errors[0].startswith(f"{cut}: truncated at line ")
    assert errors[0].endswith(", replay of this file ended")
    spot = [e for e in events if e.venue == "binance"]
    assert 1_000 < len(spot) < 13_207
    assert len([e for e in events if e.venue == "okx"]) == 364
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:]))


# --- OKX ---------------------------------------------------------------------------------------------------------


def test_okx_checksums_validate_and_instruments_get_ccxt_symbols_and_kinds():
    reader, events, errors = okx(OKX)
    assert errors == [] and reader.gaps == 0 and reader.stats["books"] == 290
    books: dict[str, OrderBook] = {}
    for event in events:
        if isinstance(event, BookEvent):
            book = books.setdefault(event.symbol, OrderBook(event.venue, event.symbol))
            assert book.apply(event) is ApplyResult.APPLIED
    assert all(not book.is_crossed() for book in books.values())
    assert {(i.symbol, i.kind) for i in reader.instruments} == {
        ("BTC/USDT", "spot"), ("UNI/USD:UNI", "perp"), ("BTC/USD:BTC-220527", "future")}
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert len(trades) == 74 and all(a.ts <= b.ts for a, b in zip(events, events[1:]))
    # line 22: {"instId":"UNI-USD-SWAP","tradeId":"12883020","px":"5.123","sz":"100","side":"sell","ts":"1652459215150"}
    uni = next(t for t in trades if t.id == "12883020")
    assert (uni.symbol, uni.ts, uni.price, uni.qty, uni.side) == ("UNI/USD:UNI", 1652459215.15, 5.123, 100.0, "sell")


@pytest.mark.parametrize("inst_id, action", [("BTC-USDT", "snapshot"), ("UNI-USD-SWAP", "update")])
def test_a_corrupted_okx_level_fails_the_checksum_and_is_a_gap(tmp_path, inst_id, action):
    lines = OKX.read_bytes().splitlines()
    index = next(i for i, line in enumerate(lines) if inst_id.encode() in line and f'"{action}"'.encode() in line)
    prefix, body = lines[index].split(b": ", 1)
    message = json.loads(body)
    level = message["data"][0]["bids"][0]
    level[1] = str(float(level[1]) + 1)  # the best bid's size: inside the checksummed top 25
    lines[index] = prefix + b": " + json.dumps(message, separators=(",", ":")).encode()
    damaged = tmp_path / "OKX.ws.1.0"
    damaged.write_bytes(b"\n".join(lines) + b"\n")

    _, clean, _ = okx(OKX)
    reader, events, errors = okx(damaged)
    symbol = okx_symbol(inst_id)[0]
    gaps = [e for e in events if isinstance(e, StatusEvent)]
    assert [(g.symbol, g.state) for g in gaps] == [(symbol, "gap")] and "checksum" in gaps[0].detail
    assert reader.gaps == 1
    assert not any(isinstance(e, BookEvent) and e.symbol == symbol and e.ts >= gaps[0].ts for e in events)
    assert books_of([e for e in events if e.symbol != symbol]) == books_of([e for e in clean if e.symbol != symbol])
    assert len(errors) == 1 and errors[0].startswith(f"{damaged}: {inst_id}: ") and "out of sync" in errors[0]


def test_a_corrupt_okx_line_is_reported_and_skipped(tmp_path):
    lines = OKX.read_bytes().splitlines()
    damaged = tmp_path / "OKX.ws.1.0"
    damaged.write_bytes(b"\n".join(lines[:30] + [b"1652459225.7: {not json", b"hello"] + lines[30:]) + b"\n")
    reader, events, errors = okx(damaged)
    assert [e.split(": ", 1)[0] for e in errors] == [f"{damaged}:31", f"{damaged}:32"]
    assert "bad JSON" in errors[0] and "not a capture line" in errors[1]
    assert len(events) == 364 and reader.gaps == 0


# --- minute bars ---------------------------------------------------------------------------------------------------


def bars(*paths: Path) -> tuple[ReplaySource, list[BarEvent], list[str]]:
    errors: list[str] = []
    source = ReplaySource(list(paths), on_error=errors.append)
    return source, [e for batch in run(source) for e in batch], errors


def test_equity_bars_have_the_files_ohlcv_with_quotes_merged_and_eastern_times_in_utc():
    _, events, errors = bars(SPY / "20131004_trade.zip")  # its quote zip is found beside it
    assert errors == [] and len(events) == 711
    by_ts = {e.ts: e for e in events}
    # trade 14760000,1676500,1676500,1676500,1676500,20000 and quote ...,1676100 (bid close),...,1676400 (ask close)
    pre_market = by_ts[datetime(2013, 10, 4, 8, 6, tzinfo=UTC).timestamp()]  # 04:06 EDT
    assert (pre_market.venue, pre_market.symbol, pre_market.interval) == ("us", "SPY", "1m")
    assert (pre_market.open, pre_market.high, pre_market.low, pre_market.close, pre_market.volume) == (
        167.65, 167.65, 167.65, 167.65, 20000)
    assert (pre_market.bid, pre_market.ask) == (167.61, 167.64)
    # 34200000,1677400,1678200,1676700,1677700,633958: the 09:30 EDT opening bar
    open_bar = by_ts[datetime(2013, 10, 4, 13, 30, tzinfo=UTC).timestamp()]
    assert (open_bar.open, open_bar.high, open_bar.low, open_bar.close, open_bar.volume) == (
        167.74, 167.82, 167.67, 167.77, 633958)
    assert (open_bar.bid, open_bar.ask) == (167.76, 167.77)
    assert events[-1].ts == datetime(2013, 10, 4, 23, 59, tzinfo=UTC).timestamp()  # 19:59 EDT, after hours


def test_crypto_bars_are_plain_decimals_in_utc():
    _, events, errors = bars(BTCUSD / "20180404_trade.zip", BTCUSD / "20180404_quote.zip")
    assert errors == []
    first = events[0]  # 0,7424.91,7424.91,7422,7422,7.14319709 and quote closes 7424.9 / 7424.91
    assert (first.ts, first.venue, first.symbol) == (datetime(2018, 4, 4, tzinfo=UTC).timestamp(), "coinbase",
                                                      "BTC/USD")
    assert (first.open, first.high, first.low, first.close, first.volume, first.bid, first.ask) == (
        7424.91, 7424.91, 7422.0, 7422.0, 7.14319709, 7424.9, 7424.91)


def test_a_week_of_bars_merges_in_order_and_reveals_an_equity_instrument():
    source, events, errors = bars(*sorted(SPY.glob("*.zip")))
    assert errors == [] and len(source.readers) == 6  # one per day: trade and quote zips read together
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:]))
    assert {datetime.fromtimestamp(e.ts, UTC).day for e in events} == {4, 7, 8, 9, 10, 11}
    [spy] = {(i.venue, i.symbol, i.kind, i.market) for i in source.instruments}
    assert spy == ("us", "SPY", "equity", "us")


def lean_zip(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(path.name.replace(".zip", ".csv"), "\n".join(rows) + "\n")
    return path


def test_equity_times_follow_daylight_saving_and_a_bad_row_is_reported(tmp_path):
    path = lean_zip(tmp_path / "equity" / "usa" / "minute" / "bac" / "20131104_trade.zip",
                    ["34200000,150000,151000,149000,150500,100", "34260000,15x,1,1,1,1",
                     "34260000,150500,150500,150500,150500,5", "34230000,150500,150500,150500,150500,5"])
    _, events, errors = bars(path)
    assert [e.ts for e in events] == [datetime(2013, 11, 4, 14, 30, tzinfo=UTC).timestamp(),  # 09:30 EST
                                      datetime(2013, 11, 4, 14, 31, tzinfo=UTC).timestamp()]
    assert events[0].symbol == "BAC" and (events[0].open, events[0].close) == (15.0, 15.05)
    assert [e.split(": ", 1)[0] for e in errors] == [f"{path}:2", f"{path}:4"]
    assert "not a number" in errors[0] and "not after the previous row" in errors[1]


def test_a_quote_file_without_its_trade_file_is_refused_with_its_name(tmp_path):
    quote = tmp_path / "crypto" / "coinbase-btcusd" / "20180404_quote.zip"
    quote.parent.mkdir(parents=True)
    quote.write_bytes((BTCUSD / "20180404_quote.zip").read_bytes())
    with pytest.raises(ReplayError, match=r"20180404_quote.zip: quotes are replayed as the bid/ask of trade bars"):
        ReplaySource([quote])


# --- merging and the pipeline ------------------------------------------------------------------------------------


def run(source: ReplaySource) -> list[list]:
    batches: list[list] = []
    asyncio.run(source.run(batches.append))
    return batches


def test_spot_perp_and_our_recording_merge_in_time_order(tmp_path):
    start = 1723161260.0  # inside the captures' window
    ours = [TradeEvent(start + i * 30.0, "sim", "X/USDT", 100.0 + i, 1.0, "buy") for i in range(12)]
    recording = tmp_path / "ours.jsonl"
    with Recorder(recording, "test") as recorder:
        recorder.write(ours)
    errors: list[str] = []
    source = ReplaySource([SPOT, USDM, recording], on_error=errors.append)
    events = [e for batch in run(source) for e in batch]
    assert errors == []
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:]))
    counts = {venue: sum(e.venue == venue for e in events) for venue in ("binance", "binanceusdm", "sim")}
    assert counts == {"binance": 13_207, "binanceusdm": 27_861, "sim": 12}
    assert source.headers[:2] == [None, None] and source.headers[2]["source"] == "test"
    sim_positions = [i for i, e in enumerate(events) if e.venue == "sim"]
    assert sim_positions[0] > 0 and sim_positions[-1] < len(events) - 1  # interleaved, not appended


def test_headless_replay_of_captures_sets_instruments_up_as_the_captures_say(small_config):
    result = run_cli("--config", str(small_config), "replay", str(OKX), str(SPY / "20131004_trade.zip"),
                     "--headless", "--speed", "max")
    assert result.returncode == 0, result.stderr
    assert "book gaps 0" in result.stderr and "Traceback" not in result.stderr
    runtime = replay_runtime(load_config(small_config), [OKX, SPY / "20131004_trade.zip"], speed=0.0)
    asyncio.run(runtime.run())
    kinds = {key: (s.settings.kind, s.settings.market) for key, s in runtime.instruments.items()}
    assert kinds == {("okx", "BTC/USD:BTC-220527"): ("future", "crypto"), ("okx", "UNI/USD:UNI"): ("perp", "crypto"),
                     ("okx", "BTC/USDT"): ("spot", "crypto"), ("us", "SPY"): ("equity", "us")}
    assert runtime.book_gaps == 0 and all(s.book.in_sync for k, s in runtime.instruments.items() if k[0] == "okx")


def test_bench_captures_reports_the_speed_against_real_time(small_config):
    out = io.StringIO()
    result = run_replay_bench(load_config(small_config), [OKX], out=out)
    assert result["events"] == 364 and result["book_gaps"] == 0 and result["replay_errors"] == 0
    assert result["market_seconds"] == pytest.approx(1652459236.119 - 1652459199.958)
    assert result["vs_real_time_cpu"] > 0 and "x real time" in out.getvalue()


# --- detection, ordering and symbols ----------------------------------------------------------------------------


def test_unknown_inputs_are_refused_before_the_replay_starts(tmp_path):
    other = tmp_path / "KRAKEN.ws.1.0"
    other.write_text("wss://ws.kraken.com <-> 1652459224.5\n")
    with pytest.raises(ReplayError, match=r"KRAKEN.ws.1.0:1: a websocket capture of wss://ws.kraken.com"):
        ReplaySource([other])
    odd_zip = lean_zip(tmp_path / "equity" / "spy" / "bars.zip", ["0,1,1,1,1,1"])
    with pytest.raises(ReplayError, match="a zip that is not a minute-bar file"):
        ReplaySource([odd_zip])


def test_the_reorder_buffer_releases_in_time_order_and_reports_what_is_too_late():
    late: list[tuple[float, float]] = []
    order = TimeOrder(lambda event, ts: late.append((ts, event.ts)), window_s=1.0)
    released = []
    for ts in (10.0, 10.5, 10.2, 11.6, 11.1, 12.9, 10.8):
        order.push(TradeEvent(ts, "v", "S", 1.0, 1.0, "buy"))
        released.extend(order.ready())
    released.extend(order.drain())
    assert [e.ts for e in released] == [10.0, 10.2, 10.5, 11.1, 11.6, 11.6, 12.9]
    assert late == [(10.8, 11.6)]  # pushed after 11.6 was released: moved up to it, and said so


@pytest.mark.parametrize("raw, futures, expected", [("BTCUSDT", False, "BTC/USDT"), ("BTCUSDT", True, "BTC/USDT:USDT"),
                                                     ("ETHBTC", False, "ETH/BTC"), ("BTCFDUSD", False, "BTC/FDUSD")])
def test_binance_symbols(raw, futures, expected):
    assert binance_symbol(raw, futures) == expected


@pytest.mark.parametrize("inst_id, expected", [("BTC-USDT", ("BTC/USDT", "spot")),
                                               ("UNI-USD-SWAP", ("UNI/USD:UNI", "perp")),
                                               ("BTC-USDT-SWAP", ("BTC/USDT:USDT", "perp")),
                                               ("BTC-USD-220527", ("BTC/USD:BTC-220527", "future"))])
def test_okx_symbols(inst_id, expected):
    assert okx_symbol(inst_id) == expected


def test_unmappable_symbols_are_named():
    with pytest.raises(SymbolError, match="'XYZ'"):
        binance_symbol("XYZ", False)
    with pytest.raises(SymbolError, match="BTC-USD-220527-30000-C"):
        okx_symbol("BTC-USD-220527-30000-C")
