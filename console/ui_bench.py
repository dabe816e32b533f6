"""`watchfloor bench --ui`: the console's frame time, key latency and CPU share while N instruments stream.

The real app runs headless over the simulator at full speed (`--instruments`, default 200, with the maker
quoting a few of them) for `--seconds` of wall time, while keys are pressed as an operator would (radar
cursor, view switches). Measured in one run:

- frame time: the 10 Hz redraw (`_frame`: every widget's sync inside one batch_update) plus Textual's paint
  of what it dirtied (layout, compositor, and the terminal escape codes a real terminal would receive,
  which headless mode would otherwise skip), in CPU time of the loop thread, so that other programs on
  a shared machine do not inflate it; also without the collector's pauses that fell inside frames;
- key latency: from a key entering the app to the end of the first paint that shows its effect, in wall
  time (what the operator waits), p50/p95/p99;
- CPU: the event loop thread's CPU time (the UI and the pipeline share it), split by the task each of the
  loop's callbacks ran for (TaskClock): the pipeline's tasks (the simulator, the runtime, the alert store)
  against everything else, Textual's message pumps and timers, the loop's own overhead between callbacks and
  this benchmark's key presses. The UI's share is that everything-else, so the estimate errs high; the frames
  and paints alone are shown beside it;
- garbage collection: every collection's pause, by generation (`gc.callbacks`), since a pause lands in
  whatever runs, a frame or a key's handling included (console.gc_tuning sets the collector up).

The simulator steps all instruments at once (step_s of market time per step), but hands the loop back
every few milliseconds of that work (feeds.source.Pacer.breathe) and emits a step in pieces, so a key
waits for a slice of a step, not for a whole one, at each hop through Textual's message queues.
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


def bench_runtime(config: Config, count: int) -> tuple[Config, Runtime]:
    """`count` simulated instruments at full speed, the maker quoting the first QUOTED."""
    instruments = bench_instruments(config, count)
    sim = replace(config.sim, speed=0.0, scenarios=[])
    source = SimSource(instruments, sim, BENCH_START_TS)
    maker = replace(config.maker, instruments=[i.key for i in instruments[:QUOTED]], autostart=True)
    bench_config = replace(config, instruments=instruments, sim=sim, maker=maker)
    runtime = Runtime(config.venues, instruments, config.detectors, [source], speed=0.0)
    attach_maker(runtime, bench_config)
    return bench_config, runtime


PIPELINE_TASKS = ("runtime", "source:", "wall-ticker", "alert-store:", "notify:", "live:")


class TaskClock:
    """CPU seconds of the loop's callbacks that ran for the pipeline's tasks (by task name).

    Timing each callback (asyncio's Handle._run) costs the same for every task, where wrapping the
    simulator's calls one by one would charge a meter's own cost, and the pipeline's code between the
    wrapped calls, to the UI."""

    def __init__(self) -> None:
        self.pipeline = 0.0
        self._run = asyncio.events.Handle._run

    def __enter__(self) -> TaskClock:
        original, clock = self._run, self

        def timed_run(handle: asyncio.Handle) -> None:
            started = time.thread_time()
            original(handle)
            task = getattr(handle._callback, "__self__", None)
            if isinstance(task, asyncio.Task) and task.get_name().startswith(PIPELINE_TASKS):
                clock.pipeline += time.thread_time() - started

        asyncio.events.Handle._run = timed_run
        return self

    def __exit__(self, *exc) -> None:
        asyncio.events.Handle._run = self._run


class GcClock:
    """Each of Python's garbage collections, as (generation, CPU seconds of its pause), and their running total
    (a frame's share of it is the total's growth while the frame ran)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            pause = time.thread_time() - self._started
            self.pauses.append((info["generation"], pause))
            self.total += pause


class Window:
    """What one stretch of the run measured, read off the meters at its end."""

    def __init__(self, runtime: Runtime, tasks: TaskClock, meters: tuple[Meter, Meter], timeline: list,
                 gc_clock: GcClock) -> None:
        self.runtime, self.tasks, self.meters, self.timeline, self.gc = runtime, tasks, meters, timeline, gc_clock
        gc_clock.pauses = []
        for meter in meters:
            meter.cpu, meter.durations = 0.0, []
        timeline.clear()
        self.events, self.market, self.pipeline = runtime.events, runtime.market_time, tasks.pipeline
        self.cpu, self.wall = time.thread_time(), time.perf_counter()

    def close(self) -> dict[str, float]:
        frames, paints = self.meters
        cpu, wall = time.thread_time() - self.cpu, time.perf_counter() - self.wall
        pipeline, ui_cpu = self.tasks.pipeline - self.pipeline, frames.cpu + paints.cpu
        return {"wall_s": wall, "events_per_s": (self.runtime.events - self.events) / wall,
                "market_x_real_time": (self.runtime.market_time - self.market) / wall,
                "frames": len(frames.durations), "frames_per_s": len(frames.durations) / wall,
                "frame_ms": frame_times(self.timeline), "frame_ms_without_gc": frame_times(self.timeline, False),
                "sync_ms_p99": percentile(frames.durations, 0.99) * 1e3,
                "paint_ms_p99": percentile(paints.durations, 0.99) * 1e3, "cpu_s": cpu,
                "pipeline_cpu_s": pipeline, "ui_cpu_s": ui_cpu, "ui_share": ui_cpu / cpu,
                "non_pipeline_share": (cpu - pipeline) / cpu,
                "gc_share": sum(pause for _, pause in self.gc.pauses) / cpu,
                "gc_pauses_ms": {generation: [pause * 1e3 for g, pause in self.gc.pauses if g == generation]
                                 for generation in range(3)}}


def frame_times(timeline: list[tuple[str, float, float]], with_gc: bool = True) -> list[float]:
    """Each redraw's cost in ms: its sync plus the paint that put it on screen (less any collector pause)."""
    totals, sync = [], None
    for kind, seconds, in_gc in timeline:
        seconds -= 0.0 if with_gc else in_gc
        if kind == "sync":
            sync = seconds
        elif sync is not None:
            totals.append((sync + seconds) * 1e3)
            sync = None
    return totals


async def _measure(config: Config, count: int, seconds: float) -> dict[str, object]:
    bench_config, runtime = bench_runtime(config, count)
    frames, paints = Meter(), Meter()
    pending: list = []  # [(pressed_at, predicate)] waiting for a paint that shows them
    shown = asyncio.Event()  # set by the paint that empties `pending`
    latencies: list[float] = []
    timeline: list[tuple[str, float, float]] = []  # (sync or paint, CPU seconds, of which garbage collection)
    gc_clock = GcClock()
    original_paint = ConsoleScreen._on_timer_update

    def paint(screen) -> None:
        started, collected = time.thread_time(), gc_clock.total
        original_paint(screen)
        timeline.append(("paint", time.thread_time() - started, gc_clock.total - collected))
        now = time.perf_counter()
        for item in list(pending):
            if item[1]():
                latencies.append(now - item[0])
                pending.remove(item)
                if not pending:
                    shown.set()

    ConsoleScreen._on_timer_update = paints.wrap(paint, keep=True)
    app = WatchfloorApp(bench_config, runtime, live=True)
    app.animation_level = "none"
    sync = frames.wrap(app._frame, keep=True)

    def frame() -> None:
        started, collected = time.thread_time(), gc_clock.total
        sync()
        timeline.append(("sync", time.thread_time() - started, gc_clock.total - collected))

    app._frame = frame
    display = app._display

    def display_like_a_terminal(screen, renderable) -> None:
        """Headless mode skips turning the screen update into escape codes: do it, as a terminal needs it."""
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(app.console)
        display(screen, renderable)

    app._display = display_like_a_terminal
    meters = (frames, paints)
    gc.callbacks.append(gc_clock)
    try:
        with TaskClock() as tasks:
            async with app.run_test(size=SIZE) as pilot:
                await asyncio.sleep(WARMUP_S)
                window = Window(runtime, tasks, meters, timeline, gc_clock)  # the operator watches the radar
                await asyncio.sleep(seconds / 2)
                steady = window.close()
                window = Window(runtime, tasks, meters, timeline, gc_clock)  # the operator presses keys
                presses = 0
                while time.perf_counter() - window.wall < seconds / 2:
                    for key, expect in _key_plan(app):
                        shown.clear()
                        pending.append((time.perf_counter(), expect()))
                        app.simulate_key(key)
                        presses += 1
                        try:
                            await asyncio.wait_for(shown.wait(), KEY_TIMEOUT_S)
                        except TimeoutError:
                            pending.clear()  # not shown in time: counted as a key not shown
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
            f"    frame time         {percentile(frames, 0.99):>8.1f} ms p99, {percentile(frames, 0.5):.1f} ms p50, "
            f"{max(frames, default=float('nan')):.1f} ms max (sync p99 {part['sync_ms_p99']:.1f}, paint p99 "
            f"{part['paint_ms_p99']:.1f}; target < 50: {verdict[percentile(frames, 0.99) < 50]})\n"
            f"      less GC pauses   {percentile(part['frame_ms_without_gc'], 0.99):>8.1f} ms p99, "
            f"{max(part['frame_ms_without_gc'], default=float('nan')):.1f} ms max\n"
            f"    UI share of CPU    {part['non_pipeline_share']:>8.1%} outside the pipeline's tasks, of which "
            f"{part['ui_share']:.1%} in frames and paints (target < 20%: {verdict[part['non_pipeline_share'] < 0.2]})\n"
            f"    garbage collector  {part['gc_share']:>8.1%} of the CPU; pauses {_pauses(part['gc_pauses_ms'])}\n")
    out.write(f"  key to screen        {percentile(latency, 0.99):>8.1f} ms p99, "
              f"{percentile(latency, 0.95):.1f} ms p95, {percentile(latency, 0.5):.1f} ms p50 (wall time; {len(latency)}/{result['presses']} keys shown; "
              f"target < 100: {verdict[percentile(latency, 0.99) < 100]})\n")
    return result


def _pauses(by_generation: dict[int, list[float]]) -> str:
    """"gen0 312 x, p99 1.2 ms, max 1.9 ms; ..." for the generations that ran."""
    return "; ".join(f"gen{generation} {len(pauses)} x, p99 {percentile(pauses, 0.99):.1f} ms, max {max(pauses):.1f} ms"
                     for generation, pauses in by_generation.items() if pauses) or "none"
