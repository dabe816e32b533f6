"""Recording the simulated market and replaying the file gives exactly the alerts of the live run."""

import gzip
import json

from conftest import run_cli


def test_replay_of_a_recording_raises_the_same_alerts_as_the_live_run(small_config, tmp_path):
    out = tmp_path / "session.jsonl.gz"
    live = run_cli("--config", str(small_config), "record", str(out), "--duration", "240")
    assert live.returncode == 0, live.stderr
    replayed = run_cli("--config", str(small_config), "replay", str(out), "--headless", "--speed", "max")
    assert replayed.returncode == 0, replayed.stderr
    live_alerts = [json.loads(line) for line in live.stdout.splitlines()]
    assert {"spread_wide", "stale_feed"} <= {a["kind"] for a in live_alerts}
    assert [json.loads(line) for line in replayed.stdout.splitlines()] == live_alerts


def test_recording_has_the_format_header_and_the_simulators_labels(small_config, tmp_path):
    out = tmp_path / "session.jsonl.gz"
    assert run_cli("--config", str(small_config), "record", str(out), "--duration", "200").returncode == 0
    with gzip.open(out, "rt") as f:
        records = [json.loads(line) for line in f]
    header = records[0]
    assert header["t"] == "header" and header["v"] == 1 and header["source"] == "sim"
    labels = [(r["kind"], r["symbol"], r["end"] - r["start"]) for r in records if r["t"] == "label"]
    assert labels == [("spread_wide", "ETH/USDT", 30), ("stale_feed", "0700.HK", 40)]
    assert {r["t"] for r in records[1:]} >= {"book", "trade", "order", "label"}
    assert all(records[i]["ts"] <= records[i + 1]["ts"] for i in range(1, len(records) - 1))


def test_replay_of_a_missing_file_is_one_clear_line(tmp_path):
    result = run_cli("replay", str(tmp_path / "nope.jsonl"), "--headless")
    assert result.returncode == 2
    assert result.stderr.strip() == f"watchfloor: no such recording: {tmp_path / 'nope.jsonl'}"
    assert result.stdout == ""
