"""The benchmark runs the same events through bare books and through the whole pipeline, in one run."""

import asyncio
import io
import time

import pytest

from console.bench import run_bench
from console.config import default_config_path, load_config
from console.ui_bench import TaskClock, run_ui_bench


def test_bench_reports_both_rates_and_their_ratio_over_the_same_events():
    out = io.StringIO()
    result = run_bench(load_config(default_config_path()), instrument_count=20, seconds=20, out=out,
                       store_alerts=3000)
    assert result["instruments"] == 20
    assert result["level_updates"] > 0 and result["book_events"] < result["events"]
    assert result["pipeline_vs_raw"] == pytest.approx(
        result["pipeline_level_updates_per_s"] / result["raw_level_updates_per_s"])
    text = out.getvalue()
    for label in ("raw book apply", "full pipeline", "pipeline / raw", "vs real time", "peak memory",
                  "alert store", "ack to disk"):
        assert label in text
    assert result["store_alerts"] == 3000 and result["store_rows_per_s"] > result["store_alert_writes_per_s"] > 0


def test_ui_bench_presses_keys_and_reports_each_target():
    out = io.StringIO()
    result = run_ui_bench(load_config(default_config_path()), instruments=12, seconds=3.0, out=out)
    assert result["presses"] > 0 and len(result["latency_ms"]) == result["presses"]  # every key reached the screen
    for part in (result["steady"], result["keys"]):
        assert part["frames"] > 0 and part["events_per_s"] > 0
        assert 0 < part["pipeline_cpu_s"] < part["cpu_s"]
        assert 0 < part["ui_share"] <= part["non_pipeline_share"] < 1
    text = out.getvalue()
    for label in ("watching the radar", "pressing keys", "frame time", "UI share of CPU", "garbage collector",
                  "key to screen"):
        assert label in text


def _burn(cpu_seconds: float) -> None:
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


async def test_task_clock_charges_the_pipeline_only_for_the_pipelines_tasks():
    async def work() -> None:
        _burn(0.05)
        await asyncio.sleep(0)
        _burn(0.05)

    with TaskClock() as clock:
        await asyncio.gather(asyncio.create_task(work(), name="source:sim"),
                             asyncio.create_task(work(), name="message-pump"))
    assert 0.1 <= clock.pipeline < 0.2  # one task's two slices; the other's 0.1 s would reach 0.2
