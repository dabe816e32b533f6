"""Recorder and ReplaySource: exact FORMAT.md files, lossless round trips, and bad input reported, not fatal."""

from __future__ import annotations

import gzip
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

import feeds.source
from fake_exchange import FakeExchange
from feeds.book import OrderBook
from feeds.events import (BarEvent, BookEvent, LabelEvent, MarkEvent, OrderEvent, StatusEvent, TradeEvent,
                          to_record)
from feeds.recorder import Recorder, encode
from feeds.replay import BATCH_MAX, ReplayError, ReplaySource, read_header
from feeds.source import Pacer
from test_ccxt_live import binance_capture, watchfloor, write_config  # the fake exchange's helpers

T0 = 1_723_161_300.0
HEADER = encode({"t": "header", "v": 1, "created": "2026-11-21T10:00:00Z", "source": "test"})

EVENTS = [
    BookEvent(T0, "binance", "BTC/USDT", True, [(60_000.5, 1.25), (60_000.0, 3.0)], [(60_001.0, 0.5)], seq=100),
    BookEvent(T0 + 0.1, "binance", "BTC/USDT", False, [(60_000.5, 0.0)], [(60_001.5, 2.0)], seq=101, prev_seq=100),
    TradeEvent(T0 + 0.15, "binance", "BTC/USDT", 60_001.0, 0.2, "buy", id="t1", buyer="acct-a", seller="acct-b"),
    TradeEvent(T0 + 0.15, "binance", "BTC/USDT", 60_000.0, 0.1, "sell"),
    OrderEvent(T0 + 0.2, "sim", "ETH/USDT", "add", "o-7", "sell", 3_000.25, 1.5, account="mm-1"),
    OrderEvent(T0 + 0.25, "sim", "ETH/USDT", "cancel", "o-7", "sell", 3_000.25, 0.0),
    BarEvent(T0 + 0.3, "nyse", "SPY", "1m", 430.1, 430.9, 429.8, 430.5, 12_345.0, bid=430.49, ask=430.51),
    BarEvent(T0 + 0.3, "nyse", "SPY", "1m", 430.5, 430.6, 430.2, 430.3, 9_000.0),
    MarkEvent(T0 + 0.4, "binance", "BTC/USDT:USDT", mark=60_010.0, index=60_005.0, funding_rate=-0.0001,
              next_funding_ts=T0 + 3_600),
    MarkEvent(T0 + 0.45, "okx", "BTC/USDT:USDT", mark=60_011.0),
    StatusEvent(T0 + 0.5, "okx", None, "disconnected", detail="socket closed"),
    StatusEvent(T0 + 0.55, "okx", "BTC/USDT", "connected"),
    LabelEvent(T0 + 0.6, "sim", "ETH/USDT", "spoofing", T0 + 0.2, T0 + 0.6, detail="3 orders"),
    LabelEvent(T0 + 0.65, "sim", None, "stale_feed", T0 + 0.6, T0 + 0.65),
]


async def replay(paths, **options) -> tuple[ReplaySource, list[list], list[str]]:
    """Run a replay to the end; returns the source, the batches it emitted and the error lines it reported."""
    errors: list[str] = []
    source = ReplaySource(paths, on_error=errors.append, **options)
    batches: list[list] = []
    await source.run(batches.append)
    return source, batches, errors


def flat(batches) -> list:
    return [event for batch in batches for event in batch]


def record(path: Path, events, source: str = "test") -> Path:
    with Recorder(path, source) as recorder:
        recorder.write(events)
    return path


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    """A hand-made recording: the lines are written as given, each followed by a newline."""
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def line_of(event) -> str:
    return json.dumps(to_record(event), separators=(",", ":"))


def trade(ts: float, venue: str = "sim") -> TradeEvent:
    return TradeEvent(ts, venue, "BTC/USDT", 100.0, 1.0, "buy")


# --- recorder -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rec.jsonl.gz", "rec.jsonl"])
def test_recording_is_exactly_the_format(tmp_path, name):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    with Recorder(tmp_path / name, "ccxt:binance") as recorder:
        recorder.write(EVENTS[:5])
        recorder.write(EVENTS[5:])
    after = datetime.now(timezone.utc)
    assert recorder.events == len(EVENTS)

    raw = (tmp_path / name).read_bytes()
    assert raw.startswith(b"\x1f\x8b") == name.endswith(".gz")
    lines = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode().split("\n")
    header = re.fullmatch(r'\{"t":"header","v":1,"created":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)",'
                          r'"source":"ccxt:binance"\}', lines[0])
    assert header is not None
    created = datetime.strptime(header[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= created <= after
    assert lines[1:] == [line_of(event) for event in EVENTS] + [""]


def test_status_and_label_keep_a_null_symbol_and_drop_unset_options():
    assert line_of(EVENTS[10]) == (f'{{"t":"status","ts":{T0 + 0.5},"venue":"okx","symbol":null,'
                                   f'"state":"disconnected","detail":"socket closed"}}')
    assert "prev_seq" not in line_of(EVENTS[0]) and "buyer" not in line_of(EVENTS[3])


def test_recorder_buffers_until_close(tmp_path):
    recorder = Recorder(tmp_path / "rec.jsonl", "sim")
    recorder.write(EVENTS)
    assert (tmp_path / "rec.jsonl").stat().st_size == 0
    recorder.close()
    recorder.close()
    assert (tmp_path / "rec.jsonl").read_text().count("\n") == len(EVENTS) + 1


def test_recorder_refuses_a_non_finite_number_and_writes_none_of_that_batch(tmp_path):
    with Recorder(tmp_path / "rec.jsonl", "sim") as recorder:
        recorder.write(EVENTS[:1])
        with pytest.raises(ValueError):
            recorder.write([trade(T0 + 1), MarkEvent(T0 + 2, "sim", "X", mark=math.nan)])
    assert recorder.events == 1
    assert (tmp_path / "rec.jsonl").read_text().count("\n") == 2


def test_sources_interleaving_out_of_order_are_written_in_time_order_and_each_instrument_keeps_its_order(tmp_path):
    live = [trade(T0 + 0.5, "binance"), trade(T0 + 0.9, "binance")]  # a venue lagging the simulator a little
    sim = [trade(T0 + 0.6), trade(T0 + 1.2)]
    own_clock = [trade(T0 + 1.0, "okx"), trade(T0 + 0.8, "okx")]  # one instrument's time stepping back
    with Recorder(tmp_path / "rec.jsonl", "ccxt:binance+ccxt:okx+sim") as recorder:
        for batch in (sim[:1], live, own_clock, sim[1:]):
            recorder.write(batch)
        recorder.write([trade(T0 + 4.0), trade(T0 + 6.5)])  # 4.0 is more than the window behind 6.5: written
        recorder.write([trade(T0 + 1.5, "binance")])  # so this late one can only be written at 4.0
    written = [json.loads(line) for line in (tmp_path / "rec.jsonl").read_text().splitlines()[1:]]
    assert [(round(r["ts"] - T0, 3), r["venue"]) for r in written] == [
        (0.5, "binance"), (0.6, "sim"), (0.9, "binance"), (1.0, "okx"), (1.0, "okx"), (1.2, "sim"),
        (4.0, "sim"), (4.0, "binance"), (6.5, "sim")]
    assert recorder.moved == 2 and recorder.events == 9


# --- replay: round trip and merging ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rec.jsonl.gz", "rec.jsonl"])
async def test_round_trip_gives_back_the_same_events(tmp_path, name):
    path = record(tmp_path / name, EVENTS)
    source, batches, errors = await replay([path])
    assert flat(batches) == EVENTS
    assert errors == [] and source.errors == 0
    assert source.events == len(EVENTS)
    assert source.last_ts == EVENTS[-1].ts
    assert source.headers[0]["source"] == "test"


async def test_gzip_is_recognised_by_its_magic_bytes_not_its_name(tmp_path):
    path = record(tmp_path / "rec.jsonl.gz", EVENTS).rename(tmp_path / "misnamed.jsonl")
    _, batches, _ = await replay([path])
    assert flat(batches) == EVENTS


async def test_batches_are_bounded_by_count_and_by_market_time(tmp_path):
    dense = [trade(T0 + i * 1e-5) for i in range(BATCH_MAX + 10)]  # 510 events inside 6 ms
    sparse = [trade(T0 + 1 + i * 0.06) for i in range(4)]  # 0.06 s apart: two per 0.1 s slice
    _, batches, _ = await replay([record(tmp_path / "rec.jsonl", dense + sparse)])
    assert [len(batch) for batch in batches] == [BATCH_MAX, 10, 2, 2]


async def test_two_files_interleave_by_ts_and_ties_keep_file_order(tmp_path):
    first = record(tmp_path / "a.jsonl.gz", [trade(T0 + ts, "a") for ts in (1, 3, 5)])
    second = record(tmp_path / "b.jsonl", [trade(T0 + ts, "b") for ts in (2, 3, 4, 6)])
    source, batches, _ = await replay([second, first])
    got = [(event.ts - T0, event.venue) for event in flat(batches)]
    assert got == [(1, "a"), (2, "b"), (3, "b"), (3, "a"), (4, "b"), (5, "a"), (6, "b")]
    assert source.events == 7


# --- replay: bad input --------------------------------------------------------------------------------


async def test_corrupt_lines_are_reported_with_file_and_line_and_skipped(tmp_path):
    good = [trade(T0 + i) for i in range(4)]
    path = write_lines(tmp_path / "rec.jsonl", [
        HEADER.strip(),
        line_of(good[0]),
        '{"t":"trade","ts":',  # line 3: bad JSON
        line_of(good[1]),
        line_of(good[2]).replace('"price":100.0', '"price":"100.0"'),  # line 5: a string price
        line_of(good[3]).replace('"t":"trade"', '"t":"quote"'),  # line 6: an unknown type
        line_of(trade(T0 + 5)),
    ])
    source, batches, errors = await replay([path])
    assert flat(batches) == good[:2] + [trade(T0 + 5)]
    assert source.errors == 3
    assert [error.split(": ", 1)[0] for error in errors] == [f"{path}:3", f"{path}:5", f"{path}:6"]
    assert errors[0].endswith("bad JSON (Expecting value at column 19)")
    assert "'price'" in errors[1] and "'quote'" in errors[2]
    assert all("\n" not in error for error in errors)


@pytest.mark.parametrize("bad_line, problem", [
    ('{"t":["trade"],"ts":1,"venue":"sim","symbol":"X"}', "unknown event type"),
    ('{"t":"trade","ts":1,"venue":"sim","symbol":"X","price":1' + "0" * 400 + ',"qty":1,"side":"buy"}',
     "'price' is not finite"),
    ('{"t":"book","ts":1,"venue":"sim","symbol":"X","snapshot":true,"bids":[[1' + "0" * 400 + ',1]],"asks":[]}',
     "bids[0]"),
    (b'{"t":"status","ts":1,"venue":"sim","symbol":null,"state":"connected","detail":"\xff"}', "utf-8"),
    ("[1, 2]", "JSON object"),
    ('{"t":"trade","ts":1,"venue":"sim","symbol":"X","price":NaN,"qty":1,"side":"buy"}', "not finite"),
])
async def test_any_malformed_record_costs_one_error_and_not_the_replay(tmp_path, bad_line, problem):
    path = write_lines(tmp_path / "rec.jsonl", [HEADER.strip(), line_of(trade(T0)), bad_line,
                                                line_of(trade(T0 + 1))])
    source, batches, errors = await replay([path])
    assert flat(batches) == [trade(T0), trade(T0 + 1)]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:3: ") and problem in errors[0]


async def test_a_timestamp_going_backwards_is_reported_and_skipped(tmp_path):
    path = write_lines(tmp_path / "rec.jsonl", [HEADER.strip()] + [line_of(trade(T0 + ts)) for ts in (1, 3, 2, 3, 4)])
    _, batches, errors = await replay([path])
    assert [event.ts - T0 for event in flat(batches)] == [1, 3, 3, 4]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:4: timestamp goes backwards")


async def test_a_blank_line_is_not_an_error(tmp_path):
    path = write_lines(tmp_path / "rec.jsonl", [HEADER.strip(), line_of(trade(T0)), "", line_of(trade(T0 + 1))])
    _, batches, errors = await replay([path])
    assert len(flat(batches)) == 2 and errors == []


async def test_a_truncated_gzip_ends_that_file_cleanly(tmp_path):
    events = [trade(T0 + i * 0.01) for i in range(5_000)]
    path = record(tmp_path / "cut.jsonl.gz", events)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    other = record(tmp_path / "other.jsonl", [trade(T0 + 100, "other")])

    source, batches, errors = await replay([path, other])
    got = flat(batches)
    kept = len(got) - 1
    assert 0 < kept < len(events)
    assert got == events[:kept] + [trade(T0 + 100, "other")]
    assert errors == [f"{path}: truncated at line {kept + 2}, replay of this file ended"]
    assert source.errors == 1


async def test_a_plain_file_cut_mid_line_loses_only_that_line(tmp_path):
    path = record(tmp_path / "cut.jsonl", [trade(T0), trade(T0 + 1)])
    path.write_bytes(path.read_bytes()[:-10])
    _, batches, errors = await replay([path])
    assert flat(batches) == [trade(T0)]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:3: bad JSON")


@pytest.mark.parametrize("first_line, problem", [
    (None, "first line is not a header"),
    ("", "first line is not a header"),
    ('{"t":"header","created":"2026-11-21T10:00:00Z","source":"sim"}', "no version"),
    ('{"t":"header","v":2,"created":"2026-11-21T10:00:00Z","source":"sim"}', "v=2"),
    ('{"t":"header","v":"1","created":"2026-11-21T10:00:00Z","source":"sim"}', "v='1'"),
    (b"\x1f\x8bnot really gzip", "cannot read the header"),
])
def test_a_bad_header_refuses_the_file_with_its_name_and_line(tmp_path, first_line, problem):
    lines = [line_of(trade(T0))] if first_line is None else [first_line, line_of(trade(T0))]
    path = write_lines(tmp_path / "rec.jsonl", lines)
    with pytest.raises(ReplayError) as caught:
        ReplaySource([record(tmp_path / "good.jsonl", EVENTS), path])
    message = str(caught.value)
    assert message.startswith(f"{path}:1: ") and problem in message and "\n" not in message


def test_a_missing_file_is_not_a_replay_error_so_callers_can_say_which(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_header(tmp_path / "nope.jsonl")


async def test_errors_go_to_stderr_by_default(tmp_path, capsys):
    path = write_lines(tmp_path / "rec.jsonl", [HEADER.strip(), "{oops", line_of(trade(T0))])
    source = ReplaySource([path])
    await source.run(lambda batch: None)
    assert capsys.readouterr().err.startswith(f"{path}:2: bad JSON")
    assert source.events == 1


# --- pacing (no wall clock: time.monotonic and asyncio.sleep are faked as feeds.source sees them) ----------


class FakeClock:
    """A monotonic clock that only moves when slept on (or when a test moves it), recording each sleep."""

    def __init__(self) -> None:
        self.now = 5_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(feeds.source, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(feeds.source, "asyncio", SimpleNamespace(sleep=clock.sleep))
    return clock


async def test_pacer_sleeps_market_gaps_divided_by_speed(clock):
    pacer = Pacer(10.0)
    for ts in (T0, T0 + 0.25, T0 + 0.5, T0 + 1.0):
        await pacer.wait_until(ts)
    assert clock.sleeps == pytest.approx([0.0, 0.025, 0.025, 0.05])


async def test_pacer_does_not_sleep_when_the_consumer_is_behind(clock):
    pacer = Pacer(2.0)
    await pacer.wait_until(T0)
    clock.now += 3.0  # the consumer took 3 s; market time T0 + 1 was due after 0.5 s
    await pacer.wait_until(T0 + 1.0)
    await pacer.wait_until(T0 + 8.0)  # due 4 s after the start, 1 s from now
    assert clock.sleeps == pytest.approx([0.0, 0.0, 1.0])


async def test_pacer_at_speed_zero_only_yields(clock):
    pacer = Pacer(0.0)
    for ts in (T0, T0 + 10, T0 + 20):
        await pacer.wait_until(ts)
    assert clock.sleeps == [0, 0, 0]
    assert clock.now == 5_000.0


async def test_replay_at_speed_10_paces_one_market_second_into_a_tenth(tmp_path, clock):
    times = [0.0, 0.05, 0.25, 0.5, 0.75, 1.0]  # the first two share a 0.1 s batch
    path = record(tmp_path / "rec.jsonl", [trade(T0 + ts) for ts in times])
    _, batches, _ = await replay([path], speed=10.0)
    assert [len(batch) for batch in batches] == [2, 1, 1, 1, 1]
    assert clock.sleeps == pytest.approx([0.0, 0.025, 0.025, 0.025, 0.025])
    assert sum(clock.sleeps) == pytest.approx(0.1)


# --- recording what the console runs, live venues included ----------------------------------------------


async def test_a_recording_of_a_live_venue_beside_the_simulator_replays_to_the_exchange_book(tmp_path):
    capture, final_u, quotes = binance_capture(seconds=8.0)
    fx = await FakeExchange([capture], speed=4.0).start()
    try:
        config = write_config(tmp_path, fx, ["BTC/USDT"], extra="  - {name: sim-alpha, source: sim}\n")
        config.write_text(config.read_text() + "  - {venue: sim-alpha, symbol: ETH/USDT, kind: spot, "
                                               "market: crypto, tick_size: 0.01, price: 3400}\n")
        out = tmp_path / "live.jsonl.gz"
        # 10 s of market time: the capture plays in 2 s from the subscription, the simulator runs throughout
        result = await watchfloor("--config", str(config), "record", str(out), "--duration", "10")
        assert result.returncode == 0, result.stderr
    finally:
        await fx.stop()
    assert read_header(out)["source"] == "ccxt:binance+sim"
    _, batches, errors = await replay([out])
    events = flat(batches)
    assert errors == []  # in time order: nothing skipped
    book = OrderBook("binance", "BTC/USDT")
    for event in events:
        if isinstance(event, BookEvent) and event.venue == "binance":
            book.apply(event)
    assert book.in_sync and book.seq == final_u
    assert (book.best_bid()[0], book.best_ask()[0]) == quotes[final_u]  # the exchange's own last quote
    assert {e.venue for e in events} == {"binance", "sim-alpha"}
