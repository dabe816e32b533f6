"""The simulator shares the event loop with the console: it hands the loop back within a step, and still
emits exactly the stream `Simulator.step` makes for the same seed."""

import asyncio
from dataclasses import replace

from feeds.settings import InstrumentSettings, SimSettings
from feeds.simulator import EMIT_EVENTS, SimSource, Simulator

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
BTC = InstrumentSettings("sim-a", "BTC/USDT", "spot", "crypto", tick_size=0.1, lot_size=0.0001, price=65000,
                         volatility=0.6)
WIDE = [replace(BTC, symbol=f"BTC/USDT~{i}") for i in range(40)]  # a step of several thousand events


async def test_the_source_emits_the_simulators_stream_in_pieces():
    settings = SimSettings(speed=0, seed=7)
    source = SimSource(WIDE, settings, START, until_ts=START + 2.0)
    batches = []
    await asyncio.wait_for(source.run(batches.append), timeout=30)
    simulator = Simulator(WIDE, settings, START)
    stepped = [event for _ in range(20) for event in simulator.step()]
    assert [event for batch in batches for event in batch] == stepped
    assert max(len(batch) for batch in batches) == EMIT_EVENTS  # a step came in several pieces


async def test_other_tasks_run_while_the_source_steps_its_instruments():
    source = SimSource(WIDE, SimSettings(speed=0), START, until_ts=START + 0.1)  # one step
    source.pacer.slice_s = 0.0  # hand the loop back after every instrument
    turns = []  # the other task's turns, by how many batches had been emitted then
    emitted = []

    async def other_task() -> None:
        while True:
            turns.append(len(emitted))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(other_task())
    await source.run(emitted.append)
    watcher.cancel()
    assert len(emitted) > 1
    assert turns.count(0) >= len(WIDE)  # before the step's first events: a turn per instrument stepped
