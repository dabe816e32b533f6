"""`watchfloor bench --ui`: the console's frame time, key latency and CPU share while N instruments stream.

The real app runs headless over the simulator at full speed (`--instruments`, default 200, with the maker
quoting a few of them) for `--seconds` of wall time, while keys are pressed as an operator would (radar
cursor, view switches). Measured in one run:

- frame time: the 10 Hz redraw (`_frame`: every widget's sync inside one batch_update) plus Textual's paint
  of what it dirtied (layout, compositor, and the terminal escape codes a real terminal would receive,
  which headless mode would otherwise skip);
- key latency: from a key entering the app to the end of the first paint that shows its effect;
- CPU: the process's CPU time, the pipeline's (simulator step and runtime dispatch), and the UI's share,
  counted both directly (frames and paints) and as everything that is not the pipeline (loop overhead too).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import replace
from typing import Callable

from textual.widgets import ContentSwitcher

from console.app import ConsoleScreen, WatchfloorApp
from console.bench import BENCH_START_TS, bench_instruments
from console.config import Config
from console.maker_runtime import attach_maker
from console.runtime import Runtime
from console.widgets.radar import Radar
from feeds.simulator import SimSource

SIZE = (160, 48)
WARMUP_S = 3.0  # wall seconds of streaming before anything is measured
QUOTED = 4  # instruments the maker quotes, so its view has something to draw
KEY_TIMEOUT_S = 2.0
KEY_GAP_S = 0.25  # between key presses, as a quick operator


class Meter:
    """Accumulates CPU seconds of one kind of work and wall durations of each call."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.durations: list[float] = []

    def wrap(self, call: Callable, keep: bool = False) -> Callable:
        def timed(*args, **kwargs):
            started_cpu, started = time.thread_time(), time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.cpu += time.thread_time() - started_cpu
                if keep:
                    self.durations.append(time.perf_counter() - started)
        return timed


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_runtime(config: Config, count: int) -> tuple[Config, Runtime, SimSource]:
    """`count` simulated instruments at full speed, the maker quoting the first QUOTED."""
    instruments = bench_instruments(config, count)
    sim = replace(config.sim, speed=0.0, scenarios=[])
    source = SimSource(instruments, sim, BENCH_START_TS)
    maker = replace(config.maker, instruments=[i.key for i in instruments[:QUOTED]], autostart=True)
    bench_config = replace(config, instruments=instruments, sim=sim, maker=maker)
    runtime = Runtime(config.venues, instruments, config.detectors, [source], speed=0.0)
    attach_maker(runtime, bench_config)
    return bench_config, runtime, source


async def _measure(config: Config, count: int, seconds: float) -> dict[str, float]:
    bench_config, runtime, source = bench_runtime(config, count)
    pipeline, frames, paints = Meter(), Meter(), Meter()
    runtime.dispatch = pipeline.wrap(runtime.dispatch)
    source.sim.step = pipeline.wrap(source.sim.step)
    pending: list = []  # [(pressed_at, predicate)] waiting for a paint that shows them
    latencies: list[float] = []
    original_paint = ConsoleScreen._on_timer_update

    def paint(screen) -> None:
        original_paint(screen)
        now = time.perf_counter()
        for item in list(pending):
            if item[1]():
                latencies.append(now - item[0])
                pending.remove(item)

    ConsoleScreen._on_timer_update = paints.wrap(paint, keep=True)
    app = WatchfloorApp(bench_config, runtime, live=True)
    app.animation_level = "none"
    app._frame = frames.wrap(app._frame, keep=True)
    display = app._display

    def display_like_a_terminal(screen, renderable) -> None:
        """Headless mode skips turning the screen update into escape codes: do it, as a terminal needs it."""
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(app.console)
        display(screen, renderable)

    app._display = display_like_a_terminal
    try:
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.sleep(WARMUP_S)
            for meter in (pipeline, frames, paints):
                meter.cpu, meter.durations = 0.0, []
            events_before, market_before = runtime.events, runtime.market_time
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            presses = 0
            while time.perf_counter() - wall_before < seconds:
                for key, expect in _key_plan(app):
                    pending.append((time.perf_counter(), expect()))
                    app.simulate_key(key)
                    presses += 1
                    deadline = time.perf_counter() + KEY_TIMEOUT_S
                    while pending and time.perf_counter() < deadline:
                        await asyncio.sleep(0.001)
                    pending.clear()
                    await asyncio.sleep(KEY_GAP_S)
            cpu = time.process_time() - cpu_before
            wall = time.perf_counter() - wall_before
            events, market = runtime.events - events_before, runtime.market_time - market_before
            await pilot.press("x")  # the kill switch, so quitting asks nothing
            await pilot.press("q")
    finally:
        ConsoleScreen._on_timer_update = original_paint
    frame_totals = [f + p for f, p in zip(frames.durations, paints.durations)]
    ui_cpu = frames.cpu + paints.cpu
    return {
        "instruments": count, "wall_s": wall, "events_per_s": events / wall, "market_x_real_time": market / wall,
        "frames": len(frames.durations), "frames_per_s": len(frames.durations) / wall,
        "frame_ms_p50": statistics.median(frame_totals) * 1e3 if frame_totals else float("nan"),
        "frame_ms_p99": percentile(frame_totals, 0.99) * 1e3,
        "sync_ms_p99": percentile(frames.durations, 0.99) * 1e3, "paint_ms_p99": percentile(paints.durations, 0.99) * 1e3,
        "keys": presses, "keys_seen": len(latencies),
        "key_ms_p50": statistics.median(latencies) * 1e3 if latencies else float("nan"),
        "key_ms_p99": percentile(latencies, 0.99) * 1e3, "key_ms_max": max(latencies, default=float("nan")) * 1e3,
        "cpu_s": cpu, "pipeline_cpu_s": pipeline.cpu, "ui_cpu_s": ui_cpu,
        "ui_share": ui_cpu / cpu, "non_pipeline_share": (cpu - pipeline.cpu) / cpu,
    }


def _key_plan(app: WatchfloorApp) -> list[tuple[str, Callable[[], Callable[[], bool]]]]:
    """Keys, each with what to call just before pressing it to get the test that its effect is on screen:
    radar cursor moves, then a round of the views."""
    radar = app.query_one(Radar)
    switcher = app.query_one(ContentSwitcher)

    def cursor(delta: int) -> Callable[[], Callable[[], bool]]:
        def expect() -> Callable[[], bool]:
            target = radar._cursor_index() + delta
            return lambda: radar._cursor_index() == target
        return expect

    def view(name: str) -> Callable[[], Callable[[], bool]]:
        return lambda: (lambda: switcher.current == name and app.view == name)

    return [("j", cursor(1)), ("j", cursor(1)), ("k", cursor(-1)),
            ("2", view("book")), ("3", view("alerts")), ("4", view("maker")), ("1", view("radar"))]


def run_ui_bench(config: Config, instruments: int, seconds: float, out=sys.stdout) -> dict[str, float]:
    result = asyncio.run(_measure(config, instruments, seconds))
    ok = {True: "ok", False: "MISSED"}
    out.write(
        f"watchfloor bench --ui: {instruments} instruments streaming at full speed, {SIZE[0]}x{SIZE[1]}, "
        f"{result['wall_s']:.0f} s\n"
        f"  pipeline             {result['events_per_s']:>12,.0f} events/s ({result['market_x_real_time']:.1f}x real time)"
        f" beside the console\n"
        f"  frames               {result['frames_per_s']:>12.1f} /s ({result['frames']} frames)\n"
        f"  frame time           {result['frame_ms_p99']:>12.1f} ms p99, {result['frame_ms_p50']:.1f} ms p50 "
        f"(sync p99 {result['sync_ms_p99']:.1f}, paint p99 {result['paint_ms_p99']:.1f}; target < 50: "
        f"{ok[result['frame_ms_p99'] < 50]})\n"
        f"  key to screen        {result['key_ms_p99']:>12.1f} ms p99, {result['key_ms_p50']:.1f} ms p50, "
        f"{result['key_ms_max']:.1f} ms max ({result['keys_seen']}/{result['keys']} keys; target < 100: "
        f"{ok[result['key_ms_p99'] < 100]})\n"
        f"  UI share of CPU      {result['ui_share']:>12.1%} frames and paints; {result['non_pipeline_share']:.1%} "
        f"all but the pipeline (target < 20%: {ok[result['non_pipeline_share'] < 0.2]})\n")
    return result

