"""The market maker's share of `watchfloor bench`: the cost of one quote update, per instrument.

The same pre-generated events run through a runtime that quotes every instrument on the paper exchange.
A quote update is the engine's work on one book event of one instrument: volatility and imbalance, the
mark to mid and the risk checks, the model's plan and the order manager's sync (paper requests included).
It is timed around the engine's hook itself, so the figure is per update whatever else the pipeline does.
"""

from __future__ import annotations

import time
from dataclasses import replace

from console.config import Config
from console.maker_runtime import attach_maker
from console.runtime import Runtime
from feeds.events import Event
from feeds.settings import InstrumentSettings
from maker.settings import QuoteOverride

BENCH_WARMUP_S = 5.0  # quoting starts this soon, so even a short bench measures quotes
BENCH_CLIPS = 10  # quote size: this many lots of each instrument


class _Timed:
    """Stands in for the engine among an instrument's watchers and times each of its book hooks."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # CPU time of this thread: what other programs on the machine do not inflate
        self.updates = 0

    def on_book(self, book, event) -> None:
        started, cpu_started = time.perf_counter(), time.thread_time()
        self.engine.on_book(book, event)
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.thread_time() - cpu_started
        self.updates += 1

    def on_trade(self, book, event) -> None:
        self.engine.on_trade(book, event)


def measure_maker(batches: list[list[Event]], instruments: list[InstrumentSettings], config: Config) -> dict:
    """Quote every instrument through the whole run; the mean cost of a quote update and the run's time."""
    quoting = replace(config.maker.quoting,
                      defaults=replace(config.maker.quoting.defaults, warmup_s=BENCH_WARMUP_S),
                      overrides=[QuoteOverride(match=i.key, size=i.lot_size * BENCH_CLIPS) for i in instruments])
    maker = replace(config.maker, instruments=[i.key for i in instruments], autostart=True, quoting=quoting,
                    defence=replace(config.maker.defence, kinds=[]))  # no alert pulls the quotes being timed
    bench_config = replace(config, instruments=instruments, maker=maker)
    runtime = Runtime(config.venues, instruments, config.detectors)
    engine = attach_maker(runtime, bench_config)
    timed = _Timed(engine)
    for state in runtime.instruments.values():
        state.watchers = [timed if w is engine else w for w in state.watchers]
    started = time.perf_counter()
    for batch in batches:
        runtime.dispatch(batch)
    elapsed = time.perf_counter() - started
    return {"maker_pipeline_s": elapsed, "maker_quote_updates": timed.updates,
            "maker_quote_update_us": timed.seconds / max(timed.updates, 1) * 1e6,
            "maker_quote_update_cpu_us": timed.cpu_seconds / max(timed.updates, 1) * 1e6, "maker_fills": sum(p.fills for p in engine.inventory.positions.values()),
            "maker_orders": engine.orders.placed}
