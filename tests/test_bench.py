"""The benchmark runs the same events through bare books and through the whole pipeline, in one run."""

import io

import pytest

from console.bench import run_bench
from console.config import default_config_path, load_config


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
