"""The quality harness: every injected kind is caught within the targets, and the command works in CI."""

import json
from dataclasses import replace

import pytest

from conftest import SMALL_CONFIG, run_cli
from console.config import default_config_path, load_config
from console.evaluate import (GRACE_S, SPACING_S, TARGET_LATENCY_S, TARGET_RECALL, freshness_delay, score,
                              simulate, suite)
from feeds.scenarios import SCENARIOS


@pytest.fixture(scope="module")
def evaluation():
    """One injection of every kind over the default config's 13 instruments (about 6 market minutes)."""
    config = load_config(default_config_path())
    config = replace(config, sim=replace(config.sim, start="2026-01-01T00:00:00Z"))
    scenarios = suite(config.instruments, rounds=1)
    end = max(s.at + s.duration for s in scenarios) + SPACING_S
    alerts, labels, instruments, seconds = simulate(config, scenarios, end)
    return scenarios, score(alerts, labels, instruments, seconds, GRACE_S, freshness_delay(config))


def test_the_suite_injects_every_kind_on_an_instrument_its_role_allows(evaluation):
    scenarios, _ = evaluation
    assert sorted(s.kind for s in scenarios) == sorted(SCENARIOS)
    by_kind = {s.kind: s.instrument for s in scenarios}
    assert by_kind["basis_dislocation"].endswith(":USDT")  # a perpetual
    assert by_kind["price_gap"].split(":")[0] in ("sim-us", "sim-hk", "sim-cn") or "SOL" in by_kind["price_gap"]


def test_every_injected_kind_meets_the_recall_and_latency_targets(evaluation):
    _, result = evaluation
    for kind in SCENARIOS:
        entry = result.scores[kind]
        assert entry.labels == 1, kind
        assert entry.recall >= TARGET_RECALL, f"{kind} missed"
        assert entry.median_latency <= TARGET_LATENCY_S, f"{kind} took {entry.median_latency} s"


def test_false_alerts_stay_rare(evaluation):
    _, result = evaluation
    false = sum(entry.false_alerts for entry in result.scores.values())
    assert false / result.instrument_hours <= 2.0  # across all 19 kinds


def test_the_command_prints_json_and_checks_targets(tmp_path):
    result = run_cli("evaluate", "--kinds", "spread_wide,stale_feed", "--json", "--check")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["kinds"]["spread_wide"]["recall"] == 1.0
    assert figures["kinds"]["stale_feed"]["meets_targets"] is True
    # a detector switched off misses its kind: --check turns that into exit status 1
    blind = tmp_path / "blind.yaml"
    blind.write_text(SMALL_CONFIG + "  defaults:\n    spread_wide: {enabled: false}\n")
    result = run_cli("--config", str(blind), "evaluate", "--config-scenarios", "--check")
    assert result.returncode == 1
    assert "spread_wide" in result.stdout and "MISSED" in result.stdout


def test_a_recording_with_labels_is_scored_like_the_live_run(small_config, tmp_path):
    out = tmp_path / "labelled.jsonl.gz"
    assert run_cli("--config", str(small_config), "record", str(out), "--duration", "200").returncode == 0
    result = run_cli("--config", str(small_config), "evaluate", str(out), "--json")
    assert result.returncode == 0, result.stderr
    kinds = json.loads(result.stdout)["kinds"]
    assert kinds["spread_wide"]["recall"] == 1.0 and kinds["stale_feed"]["recall"] == 1.0


def test_bad_options_are_one_line_errors():
    result = run_cli("evaluate", "--kinds", "meteor")
    assert result.returncode == 2 and "unknown scenario kind meteor" in result.stderr
    result = run_cli("evaluate", "/no/such/recording.jsonl")
    assert result.returncode == 2 and "no such recording: /no/such/recording.jsonl" in result.stderr
