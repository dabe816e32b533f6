"""The maker through the real command line and the benchmark."""

import json
from dataclasses import replace

from console.bench import bench_instruments, generate
from console.config import default_config_path, load_config
from console.maker_bench import measure_maker
from feeds.events import BOOK
from conftest import run_cli
from test_maker_engine import MAKER_CONFIG

CONFIG = MAKER_CONFIG + "  limits: {max_orders_per_min: 8}\n"


def test_headless_prints_the_risk_limit_alert_when_the_order_rate_trips(tmp_path):
    path = tmp_path / "maker.yaml"
    path.write_text(CONFIG)
    result = run_cli("--config", str(path), "--headless", "--speed", "max", "--duration", "60")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    risk = [line for line in lines if line["kind"] == "risk_limit"]
    assert len(risk) == 1
    assert risk[0]["venue"] == "maker" and risk[0]["symbol"] is None and risk[0]["severity"] == "critical"
    assert risk[0]["message"] == "HALTED: 9 orders in 60 s > max 8" and risk[0]["threshold"] == 8.0


def test_a_bad_maker_setting_is_one_line_naming_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(CONFIG.replace("defence: {kinds: []}", "defence: {kinds: [spread_wide, spred_wide]}"))
    result = run_cli("check-config", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"watchfloor: {path}:")
    assert "maker.defence: unknown alert kind 'spred_wide' in kinds" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bench_quote_update_cost_covers_every_book_event_of_every_quoted_instrument():
    config = load_config(default_config_path())
    instruments = bench_instruments(config, 3)
    batches, _ = generate(instruments, replace(config, sim=replace(config.sim, scenarios=[])), 20)
    result = measure_maker(batches, instruments, config)
    book_events = sum(1 for batch in batches for event in batch if event.t == BOOK)
    assert result["maker_quote_updates"] == book_events
    assert result["maker_orders"] > 0 and result["maker_quote_update_us"] > 0
