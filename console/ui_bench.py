"""`watchfloor bench --ui`: the console's frame time, key latency and CPU share while N instruments stream.

The real app runs headless over the simulator at full speed (`--instruments`, default 200, with the maker
quoting a few of them) for `--seconds` of wall time, while keys are pressed as an operator would (radar
cursor, view switches). Measured in one run:

- frame time: the 10 Hz redraw (`_frame`: every widget's sync inside one batch_update) plus Textual's paint
  of what it dirtied (layout, compositor, and the terminal escape codes a real terminal would receive,
  which headless mode would otherwise skip), in CPU time of the loop thread, so that other programs on
  a shared machine do not inflate it;
- key latency: from a key entering the app to the end of the first paint that shows its effect;
- CPU: the event loop thread's CPU time (the UI and the pipeline share it), the pipeline's (simulator step
  and runtime dispatch), and the UI's share, counted both directly (frames and paints) and as everything
  that is not the pipeline (Textual's message handling and the loop's overhead too).

The simulator steps all instruments at once (step_s of market time per step) and yields to the loop once
per step, so a key waits for the step in progress, and for one step per hop through Textual's message
queues: the key figures grow with the step's cost, which grows with the instrument count.
"""

from __future__ import annotations

import asyncio
import gc
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


class GcClock:
    """Time Python's garbage collector takes: its pauses land in whatever runs, frames included."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            pause = time.thread_time() - self._started
            self.seconds += pause
            self.longest = max(self.longest, pause)


class Window:
    """What one stretch of the run measured, read off the meters at its end."""

    def __init__(self, runtime: Runtime, meters: tuple[Meter, Meter, Meter], timeline: list, gc_clock: GcClock) -> None:
        self.runtime, self.meters, self.timeline, self.gc = runtime, meters, timeline, gc_clock
        gc_clock.seconds = gc_clock.longest = 0.0
        for meter in meters:
            meter.cpu, meter.durations = 0.0, []
        timeline.clear()
        self.events, self.market = runtime.events, runtime.market_time
        self.cpu, self.wall = time.thread_time(), time.perf_counter()

    def close(self) -> dict[str, float]:
        pipeline, frames, paints = self.meters
        cpu, wall = time.thread_time() - self.cpu, time.perf_counter() - self.wall
        ui_cpu = frames.cpu + paints.cpu
        return {"wall_s": wall, "events_per_s": (self.runtime.events - self.events) / wall,
                "market_x_real_time": (self.runtime.market_time - self.market) / wall,
                "frames": len(frames.durations), "frames_per_s": len(frames.durations) / wall,
                "frame_ms": frame_times(self.timeline), "sync_ms_p99": percentile(frames.durations, 0.99) * 1e3,
                "paint_ms_p99": percentile(paints.durations, 0.99) * 1e3, "cpu_s": cpu,
                "pipeline_cpu_s": pipeline.cpu, "ui_cpu_s": ui_cpu, "ui_share": ui_cpu / cpu,
                "non_pipeline_share": (cpu - pipeline.cpu) / cpu, "gc_share": self.gc.seconds / cpu,
                "gc_longest_ms": self.gc.longest * 1e3}


def frame_times(timeline: list[tuple[str, float]]) -> list[float]:
    """Each redraw's cost in ms: its sync plus the paint that put it on screen."""
    totals, sync = [], None
    for kind, seconds in timeline:
        if kind == "sync":
            sync = seconds
        elif sync is not None:
            totals.append((sync + seconds) * 1e3)
            sync = None
    return totals


async def _measure(config: Config, count: int, seconds: float) -> dict[str, object]:
    bench_config, runtime, source = bench_runtime(config, count)
    pipeline, frames, paints = Meter(), Meter(), Meter()
    runtime.dispatch = pipeline.wrap(runtime.dispatch)
    source.sim.step = pipeline.wrap(source.sim.step)
    pending: list = []  # [(pressed_at, predicate)] waiting for a paint that shows them
    latencies: list[float] = []
    timeline: list[tuple[str, float]] = []
    original_paint = ConsoleScreen._on_timer_update

    def paint(screen) -> None:
        started = time.thread_time()
        original_paint(screen)
        timeline.append(("paint", time.thread_time() - started))
        now = time.perf_counter()
        for item in list(pending):
            if item[1]():
                latencies.append(now - item[0])
                pending.remove(item)

    ConsoleScreen._on_timer_update = paints.wrap(paint, keep=True)
    app = WatchfloorApp(bench_config, runtime, live=True)
    app.animation_level = "none"
    sync = frames.wrap(app._frame, keep=True)

    def frame() -> None:
        started = time.thread_time()
        sync()
        timeline.append(("sync", time.thread_time() - started))

    app._frame = frame
    display = app._display

    def display_like_a_terminal(screen, renderable) -> None:
        """Headless mode skips turning the screen update into escape codes: do it, as a terminal needs it."""
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(app.console)
        display(screen, renderable)

    app._display = display_like_a_terminal
    meters = (pipeline, frames, paints)
    gc_clock = GcClock()
    gc.callbacks.append(gc_clock)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.sleep(WARMUP_S)
            window = Window(runtime, meters, timeline, gc_clock)  # the operator watches the radar
            await asyncio.sleep(seconds / 2)
            steady = window.close()
            window = Window(runtime, meters, timeline, gc_clock)  # the operator presses keys
            presses = 0
            while time.perf_counter() - window.wall < seconds / 2:
                for key, expect in _key_plan(app):
                    pending.append((time.perf_counter(), expect()))
                    app.simulate_key(key)
                    presses += 1
                    deadline = time.perf_counter() + KEY_TIMEOUT_S
                    while pending and time.perf_counter() < deadline:
                        await asyncio.sleep(0.001)
                    pending.clear()
                    await asyncio.sleep(KEY_GAP_S)
            busy = window.close()
            await pilot.press("x")  # the kill switch, so quitting asks nothing
            await pilot.press("q")
    finally:
        ConsoleScreen._on_timer_update = original_paint
        gc.callbacks.remove(gc_clock)
    return {"instruments": count, "steady": steady, "keys": busy, "presses": presses, "latency_ms":
            [latency * 1e3 for latency in latencies]}


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


def run_ui_bench(config: Config, instruments: int, seconds: float, out=sys.stdout) -> dict[str, object]:
    result = asyncio.run(_measure(config, instruments, seconds))
    steady, busy, latency = result["steady"], result["keys"], result["latency_ms"]
    verdict = {True: "ok", False: "MISSED"}
    out.write(f"watchfloor bench --ui: {instruments} instruments streaming at full speed, {SIZE[0]}x{SIZE[1]}\n")
    for title, part in (("watching the radar", steady), ("pressing keys", busy)):
        frames = part["frame_ms"]
        out.write(
            f"  {title} ({part['wall_s']:.0f} s): pipeline {part['events_per_s']:,.0f} events/s "
            f"({part['market_x_real_time']:.1f}x real time), {part['frames_per_s']:.1f} frames/s\n"
            f"    frame time         {percentile(frames, 0.99):>8.1f} ms p99, {percentile(frames, 0.5):.1f} ms p50 "
            f"(sync p99 {part['sync_ms_p99']:.1f}, paint p99 {part['paint_ms_p99']:.1f}; target < 50: "
            f"{verdict[percentile(frames, 0.99) < 50]})\n"
            f"    UI share of CPU    {part['ui_share']:>8.1%} in frames and paints, {part['non_pipeline_share']:.1%} "
            f"outside the pipeline (target < 20%: {verdict[part['non_pipeline_share'] < 0.2]})\n"
            f"    garbage collector  {part['gc_share']:>8.1%} of the CPU, longest pause {part['gc_longest_ms']:.0f} ms "
            "(lands in frames and steps alike)\n")
    out.write(f"  key to screen        {percentile(latency, 0.99):>8.1f} ms p99, {percentile(latency, 0.5):.1f} ms p50, "
              f"{max(latency, default=float('nan')):.1f} ms max ({len(latency)}/{result['presses']} keys shown; "
              f"target < 100: {verdict[percentile(latency, 0.99) < 100]})\n")
    return result
