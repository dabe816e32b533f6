"""`watchfloor bench --captures PATH...`: how much faster than real time recorded markets replay.

Two passes over the same files, in one run: reading alone (decompress, parse, sync books, order by time),
then the whole pipeline as `watchfloor replay PATH... --headless --speed max` runs it (books, every
detector, the alert engine). Speeds are market seconds (first to last event) per second, wall and CPU:
on a shared machine the CPU figure is the one that does not depend on the neighbours.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TextIO

from console.config import Config
from console.headless import run_headless
from console.wiring import replay_runtime
from feeds.replay import ReplayError, ReplaySource


def read_only(paths: list[Path]) -> tuple[float, int, float | None, float | None]:
    """(CPU seconds, events, first ts, last ts) to read every file's events without the pipeline."""
    source = ReplaySource(paths, on_error=lambda message: None)
    started = time.process_time()
    count, first, last = 0, None, None
    with ExitStack() as stack:
        for reader in source.readers:
            for event in stack.enter_context(closing(reader.events())):
                count += 1
                first = event.ts if first is None or event.ts < first else first
                last = event.ts if last is None or event.ts > last else last
    return time.process_time() - started, count, first, last


def run_replay_bench(config: Config, paths: list[Path], out: TextIO = sys.stdout) -> dict[str, float]:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ReplayError(f"no such capture: {', '.join(missing)}")
    read_cpu, events, first, last = read_only(paths)
    if first is None:
        raise ReplayError(f"no events in {', '.join(map(str, paths))}")
    span = last - first
    errors: list[str] = []
    runtime = replay_runtime(config, paths, speed=0.0, on_error=errors.append, on_note=lambda note: None)
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    asyncio.run(run_headless(runtime, None, out=io.StringIO(), log=io.StringIO()))
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    checks = [check for source in runtime.sources if isinstance(source, ReplaySource) for check in source.book_checks]
    result = {"files": len(paths), "market_seconds": span, "events": events, "read_cpu_s": read_cpu,
              "pipeline_wall_s": wall, "pipeline_cpu_s": cpu, "read_vs_real_time": span / read_cpu,
              "vs_real_time_wall": span / wall, "vs_real_time_cpu": span / cpu, "book_gaps": runtime.book_gaps,
              "replay_errors": len(errors), "alerts": len(runtime.engine.history),
              "detectors": len({d.kind for s in runtime.instruments.values() for d in s.detectors}),
              "book_ticker_agree": sum(check.agree for check in checks),
              "book_ticker_disagree": sum(check.disagree for check in checks)}
    out.write(
        f"watchfloor bench --captures: {len(paths)} files, {span:,.1f} s of market data, {events:,} events\n"
        f"  read only            {read_cpu:>8.2f} s CPU   {result['read_vs_real_time']:>8,.0f}x real time\n"
        f"  full pipeline        {wall:>8.2f} s wall  {result['vs_real_time_wall']:>8,.0f}x real time "
        f"({result['detectors']} detector kinds per instrument)\n"
        f"                       {cpu:>8.2f} s CPU   {result['vs_real_time_cpu']:>8,.0f}x real time\n"
        f"  book gaps {runtime.book_gaps}, replay errors {len(errors)}, alerts raised {result['alerts']}\n")
    if checks:
        out.write(f"  bookTicker checks: {result['book_ticker_agree']:,} agree, {result['book_ticker_disagree']:,} "
                  f"disagree with the rebuilt books\n")
    return result
