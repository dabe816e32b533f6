"""console.config: the default config loads, and every bad file gives one exact line: file, line, key path."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest
import yaml

from console.config import ConfigError, _Walker, default_config_path, load_config

BASE = """\
venues:
  - name: v1
    freshness_s: 5
instruments:
  - venue: v1
    symbol: AAA
    kind: equity
    market: us
    tick_size: 0.01
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Bad files are written to, and loaded from, the working directory so messages start `bad.yaml:`."""
    monkeypatch.chdir(tmp_path)


def error(text: str) -> str:
    with open("bad.yaml", "w") as f:
        f.write(textwrap.dedent(text))
    with pytest.raises(ConfigError) as info:
        load_config("bad.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_default_config_covers_every_market_and_kind():
    config = load_config(default_config_path())
    assert config.path == str(default_config_path())
    assert len(config.venues) >= 3 and len(config.instruments) >= 12
    assert {i.kind for i in config.instruments} >= {"spot", "perp", "equity"}
    assert {i.market for i in config.instruments} >= {"crypto", "us", "hk", "cn"}
    assert all(v.source == "sim" for v in config.venues)
    assert config.instrument("sim-hk:0700.HK").tick_size == 0.2
    assert config.venue("sim-cn").freshness_s == 10
    assert [s.kind for s in config.sim.scenarios] == ["spread_wide", "stale_feed"]
    with pytest.raises(KeyError):
        config.instrument("sim-alpha:DOGE/USDT")


def test_overrides_apply_to_matching_instruments_only():
    detectors = load_config(default_config_path()).detectors
    assert detectors.params_for("spread_wide", "sim-cn:600519.SS").threshold_bps == 10.0
    assert detectors.params_for("spread_wide", "sim-hk:9988.HK").threshold_bps == 15.0
    assert detectors.params_for("spread_wide", "sim-alpha:BTC/USDT").threshold_bps == 5.0
    assert detectors.params_for("stale_feed", "sim-cn:600519.SS") == detectors.defaults["stale_feed"]


def test_minimal_file_gets_section_defaults():
    with open("ok.yaml", "w") as f:
        f.write(BASE + "operator: ana\nsim: {start: 2024-05-01T13:30:00Z}\n")
    config = load_config("ok.yaml")
    assert config.operator == "ana" and config.sim.start == "2024-05-01T13:30:00Z"
    assert config.maker.mode == "paper" and config.ui.refresh_hz == 10.0 and config.notify.channels == []


def test_yaml12_exponent_floats_are_numbers():
    with open("ok.yaml", "w") as f:
        f.write(BASE + "    lot_size: 1e-4\n")
    assert load_config("ok.yaml").instruments[0].lot_size == 1e-4


def test_dict_fields_are_walked_by_their_value_type():
    walker = _Walker("t.yaml")
    assert walker.value(yaml.compose("a: 1\nb: 2.5"), dict[str, float], "x") == {"a": 1.0, "b": 2.5}
    with pytest.raises(ConfigError, match=r"^t\.yaml:2: x\.b: expected a number, got 'no'$"):
        walker.value(yaml.compose("a: 1\nb: 'no'"), dict[str, float], "x")


def test_unknown_top_level_key():
    assert error(BASE + "colour: blue\n") == (
        "bad.yaml:10: colour: unknown key (expected one of: venues, instruments, sim, markets, detectors, maker, store, "
        "notify, ui, operator)")


def test_unknown_nested_key_typo():
    assert error(BASE + "detectors:\n  defaults:\n    spread_wide:\n      treshold_bps: 5\n") == (
        "bad.yaml:13: detectors.defaults.spread_wide.treshold_bps: unknown key (expected one of: enabled, "
        "zscore, persist_s, clear_ratio, cooldown_s, threshold_bps, critical_bps, window, warmup, sample_s)")


def test_string_for_a_float():
    assert error(BASE.replace("tick_size: 0.01", "tick_size: abc")) == (
        "bad.yaml:9: instruments[0].tick_size: expected a number, got 'abc'")


def test_quoted_string_for_a_bool():
    assert error(BASE + "ui:\n  bell: 'yes'\n") == "bad.yaml:11: ui.bell: expected true or false, got 'yes'"


def test_bad_literal_value():
    assert error(BASE.replace("market: us", "market: eu")) == (
        "bad.yaml:8: instruments[0].market: expected crypto, us, hk or cn, got 'eu'")
    assert error(BASE + "maker: {mode: demo}\n") == "bad.yaml:10: maker.mode: expected paper or live, got 'demo'"


def test_missing_required_field():
    assert error(BASE.replace("    tick_size: 0.01\n", "")) == (
        "bad.yaml:5: instruments[0].tick_size: required key is missing")


def test_unknown_detector_kind():
    assert error(BASE + "detectors:\n  defaults:\n    spread_wid: {}\n") == (
        "bad.yaml:12: detectors.defaults.spread_wid: unknown detector kind (expected one of: bar_breakout, "
        "bar_opening_gap, bar_spread_wide, bar_volatility_spike, bar_volume_spike, basis_dislocation, "
        "book_depletion, concentration, cross_venue_dislocation, crossed_book, depth_floor, feed_gap, layering, "
        "momentum_ignition, price_gap, price_limit, price_volume_divergence, pump_and_dump, quote_stuffing, "
        "spoofing, spread_wide, stale_feed, volatility_spike, volume_spike, wash_trading)")


def test_override_with_a_bad_field():
    text = BASE + """\
detectors:
  overrides:
    - match: "v1:*"
      spread_wide: {threshold_bps: wide}
"""
    assert error(text) == "bad.yaml:13: detectors.overrides[0].spread_wide.threshold_bps: expected a number, got 'wide'"


def test_override_breaking_the_params_rules():
    text = BASE + """\
detectors:
  defaults:
    spread_wide: {critical_bps: 25}
  overrides:
    - match: "v1:*"
      stale_feed: {critical_multiple: 2}
    - match: "*"
      spread_wide: {threshold_bps: 30}
"""
    assert error(text) == (
        "bad.yaml:17: detectors.overrides[1].spread_wide: need 0 < threshold_bps <= critical_bps")


def test_post_init_violation_in_defaults():
    text = BASE + "detectors:\n  defaults:\n    spread_wide:\n      threshold_bps: 30\n      critical_bps: 20\n"
    assert error(text) == "bad.yaml:12: detectors.defaults.spread_wide: need 0 < threshold_bps <= critical_bps"


def test_instrument_on_an_undeclared_venue():
    assert error(BASE.replace("  - venue: v1", "  - venue: v2")) == (
        "bad.yaml:5: instruments[0].venue: unknown venue 'v2' (declared: v1)")


def test_duplicate_instrument():
    text = BASE + "  - {venue: v1, symbol: AAA, kind: equity, market: us, tick_size: 0.01}\n"
    assert error(text) == "bad.yaml:10: instruments[1].symbol: duplicate instrument 'v1:AAA' (first at line 6)"


def test_ccxt_venue_needs_an_exchange():
    assert error(BASE.replace("    freshness_s: 5\n", "    source: ccxt\n")) == (
        "bad.yaml:2: venues[0].exchange: required when source is ccxt")


def test_cross_references_and_sim_values():
    assert error(BASE + "maker:\n  instruments: [v1:AAA, v1:BBB]\n") == (
        "bad.yaml:11: maker.instruments[1]: unknown instrument 'v1:BBB'")
    assert error(BASE + "sim:\n  start: '2024-05-01 13:30'\n") == (
        "bad.yaml:11: sim.start: expected an ISO-8601 UTC time like 2024-05-01T13:30:00Z, got '2024-05-01 13:30'")
    assert error(BASE + "sim:\n  step_s: 0\n") == "bad.yaml:11: sim.step_s: must be positive, got 0.0"
    scenario = "sim:\n  scenarios:\n    - {kind: stale_feed, instrument: v1:ZZZ, at: 1, duration: 2}\n"
    assert error(BASE + scenario) == "bad.yaml:12: sim.scenarios[0].instrument: unknown instrument 'v1:ZZZ'"


def test_unknown_scenario_kind(monkeypatch):
    """Checked against feeds.scenarios.SCENARIOS; a stand-in keeps this test independent of the real kinds."""
    monkeypatch.setitem(sys.modules, "feeds.scenarios", types.SimpleNamespace(SCENARIOS={"gap": 0, "halt": 0}))
    scenario = "sim:\n  scenarios:\n    - {kind: meteor, instrument: v1:AAA, at: 1, duration: 2}\n"
    assert error(BASE + scenario) == (
        "bad.yaml:12: sim.scenarios[0].kind: unknown scenario kind 'meteor' (expected one of: gap, halt)")


def test_channel_secrets_stay_in_the_environment():
    text = BASE + "notify:\n  channels:\n    - kind: slack\n      url_env: https://hooks.slack.com/x\n"
    assert error(text) == (
        "bad.yaml:12: notify.channels[0]: url_env must name an environment variable (like WATCHFLOOR_SLACK_URL), "
        "not hold a secret")  # and never echoes what may be the secret itself


def test_duplicate_key():
    assert error(BASE + "ui: {bell: true, bell: false}\n") == "bad.yaml:10: ui.bell: duplicate key (first at line 10)"


def test_yaml_syntax_error():
    assert error(BASE + "ui\nstore: {}\n") == (
        "bad.yaml:11: YAML syntax error: could not find expected ':' (while scanning a simple key at line 10)")


def test_empty_file():
    assert error("") == "bad.yaml:1: venues: required key is missing"


def test_missing_file():
    with pytest.raises(ConfigError) as info:
        load_config("nowhere.yaml")
    assert str(info.value) == "nowhere.yaml: cannot read: No such file or directory"
