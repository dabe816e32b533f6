"""`watchfloor bench`: raw book-apply rate vs full-pipeline rate over the same simulated events, in one run.

Events are generated first and kept in memory, so neither figure includes the simulator's own cost.
The ratio compares book level updates per second: the pipeline also handles trades, L3 orders and
every detector, so it is the price of surveillance per unit of book work.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import replace

from console.config import Config
from console.maker_bench import measure_maker
from console.store_bench import measure_store
from console.runtime import Runtime
from feeds.book import OrderBook
from feeds.events import BOOK, Event
from feeds.settings import InstrumentSettings
from feeds.simulator import Simulator

BENCH_START_TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a fixed start keeps runs comparable


def bench_instruments(config: Config, count: int) -> list[InstrumentSettings]:
    """The config's instruments, cloned with a numbered symbol suffix until there are `count` of them."""
    base = config.instruments
    instruments = []
    for i in range(count):
        template = base[i % len(base)]
        copy = i // len(base)
        instruments.append(template if copy == 0 else replace(template, symbol=f"{template.symbol}~{copy}"))
    return instruments


def generate(instruments: list[InstrumentSettings], config: Config, seconds: float) -> tuple[list[list[Event]], float]:
    sim = Simulator(instruments, replace(config.sim, scenarios=[]), BENCH_START_TS)
    steps = int(seconds / config.sim.step_s)
    started = time.perf_counter()
    batches = [sim.step() for _ in range(steps)]
    return batches, time.perf_counter() - started


def raw_book_apply(batches: list[list[Event]]) -> float:
    """Seconds to apply every book event to bare books: the floor any pipeline is measured against."""
    books: dict[tuple[str, str], OrderBook] = {}
    started = time.perf_counter()
    for batch in batches:
        for event in batch:
            if event.t == BOOK:
                key = (event.venue, event.symbol)
                book = books.get(key)
                if book is None:
                    book = books[key] = OrderBook(event.venue, event.symbol)
                book.apply(event)
    return time.perf_counter() - started


def full_pipeline(batches: list[list[Event]], instruments: list[InstrumentSettings], config: Config) -> tuple[float, Runtime]:
    runtime = Runtime(config.venues, instruments, config.detectors)
    started = time.perf_counter()
    for batch in batches:
        runtime.dispatch(batch)
    return time.perf_counter() - started, runtime


def run_bench(config: Config, instrument_count: int, seconds: float, out=sys.stdout,
              store_alerts: int = 50_000) -> dict[str, float]:
    instruments = bench_instruments(config, instrument_count)
    batches, gen_s = generate(instruments, config, seconds)
    events = sum(len(b) for b in batches)
    book_events = [e for b in batches for e in b if e.t == BOOK]
    levels = sum(len(e.bids) + len(e.asks) for e in book_events)
    raw_s = raw_book_apply(batches)
    pipe_s, runtime = full_pipeline(batches, instruments, config)
    store = measure_store(store_alerts, config.store)
    maker = measure_maker(batches, instruments, config)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "instruments": instrument_count, "market_seconds": seconds, "events": events,
        "book_events": len(book_events), "level_updates": levels,
        "sim_events_per_s": events / gen_s,
        "raw_level_updates_per_s": levels / raw_s, "raw_book_events_per_s": len(book_events) / raw_s,
        "pipeline_events_per_s": events / pipe_s, "pipeline_level_updates_per_s": levels / pipe_s,
        "pipeline_vs_raw": raw_s / pipe_s, "replay_vs_real_time": seconds / pipe_s,
        "alerts": len(runtime.engine.history), "peak_rss_mb": peak_mb, **store, **maker,
        "maker_pipeline_vs_raw": raw_s / maker["maker_pipeline_s"],
    }
    out.write(
        f"watchfloor bench: {instrument_count} instruments, {seconds:.0f} s of market time, {events:,} events "
        f"({len(book_events):,} book, {levels:,} level updates)\n"
        f"  simulator            {result['sim_events_per_s']:>12,.0f} events/s generated\n"
        f"  raw book apply       {result['raw_level_updates_per_s']:>12,.0f} level updates/s "
        f"({result['raw_book_events_per_s']:,.0f} book events/s)\n"
        f"  full pipeline        {result['pipeline_level_updates_per_s']:>12,.0f} level updates/s "
        f"({result['pipeline_events_per_s']:,.0f} events/s, all types, all detectors)\n"
        f"  pipeline / raw       {result['pipeline_vs_raw']:>12.1%}\n"
        f"  vs real time         {result['replay_vs_real_time']:>12,.0f}x\n"
        f"  alerts raised        {result['alerts']:>12}\n"
        f"  alert store          {store['store_alert_writes_per_s']:>12,.0f} alert writes/s sustained "
        f"({store['store_alert_writes_per_cpu_s']:,.0f} per CPU second; {store_alerts:,} new alerts, each an "
        f"alert row and an audit row)\n"
        f"  ack to disk          {store['ack_to_disk_ms_mean']:>12,.0f} ms mean, {store['ack_to_disk_ms_max']:.0f} ms max "
        f"(flush every {store['flush_interval_ms']:.0f} ms)\n"
        f"  maker quote update   {maker['maker_quote_update_us']:>12,.1f} us per instrument book event "
        f"({maker['maker_quote_update_cpu_us']:,.1f} us CPU; {maker['maker_quote_updates']:,} updates quoting all "
        f"{instrument_count}, {maker['maker_orders']:,} orders, "
        f"{maker['maker_fills']:,} paper fills; pipeline with maker {result['maker_pipeline_vs_raw']:.1%} of raw)\n"
        f"  peak memory (RSS)    {peak_mb:>12,.0f} MB\n")
    return result
