"""Headless mode end to end: alert lines exactly as FORMAT.md section 2 says, and nothing else on stdout."""

import json

from conftest import START_TS, run_cli

ALERT_FIELDS = ["id", "ts", "venue", "symbol", "kind", "severity", "value", "threshold", "zscore", "message",
                "state"]


def alert_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_headless_prints_the_injected_spread_blowout_and_stale_feed(small_config):
    result = run_cli("--config", str(small_config), "--headless", "--speed", "max", "--duration", "240")
    assert result.returncode == 0, result.stderr
    alerts = alert_lines(result.stdout)  # every stdout line must be one JSON alert
    assert alerts, result.stderr
    for alert in alerts:
        assert list(alert) == ALERT_FIELDS
        assert alert["severity"] in ("info", "warning", "critical")
        assert alert["state"] in ("open", "escalated")
        assert alert["message"]
    spread = [a for a in alerts if a["kind"] == "spread_wide"]
    stale = [a for a in alerts if a["kind"] == "stale_feed"]
    assert [(a["venue"], a["symbol"]) for a in spread][:1] == [("sim-alpha", "ETH/USDT")]
    assert START_TS + 90 <= spread[0]["ts"] <= START_TS + 92  # detected within 2 s of the blowout
    assert spread[0]["value"] > spread[0]["threshold"]
    assert [(a["venue"], a["symbol"]) for a in stale][:1] == [("sim-hk", "0700.HK")]
    assert START_TS + 150 + 10 <= stale[0]["ts"] <= START_TS + 150 + 11  # after the 10 s freshness limit
    # Pulling the liquidity that widens the spread also empties the book near the touch: those alerts are
    # true too. Anything else, anywhere else, is a false alarm.
    blowout = [a for a in alerts if a["symbol"] == "ETH/USDT" and START_TS + 90 <= a["ts"] <= START_TS + 120]
    assert {a["kind"] for a in blowout} <= {"spread_wide", "book_depletion", "depth_floor"}
    assert [a for a in alerts if a not in blowout + stale] == []
    assert "events" in result.stderr  # the end-of-run summary goes to stderr


def test_escalation_repeats_the_same_id_with_the_new_severity(small_config):
    result = run_cli("--config", str(small_config), "--headless", "--speed", "max", "--duration", "240")
    stale = [a for a in alert_lines(result.stdout) if a["kind"] == "stale_feed"]
    # silent for 40 s against a 10 s limit with critical at 3x: a warning, then the same alert as critical
    assert [(a["severity"], a["state"]) for a in stale] == [("warning", "open"), ("critical", "escalated")]
    assert stale[0]["id"] == stale[1]["id"]
    assert stale[1]["ts"] == stale[0]["ts"]  # the alert keeps the time it was raised
    assert stale[1]["threshold"] == 30.0 and 30.0 < stale[1]["value"] <= 31.0
