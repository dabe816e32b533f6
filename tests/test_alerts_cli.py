"""`watchfloor alerts ...` and `watchfloor report` on a store written by a real headless run."""

import csv
import io
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing, redirect_stderr, redirect_stdout

import pytest

from alert_desk import DESK_CONFIG
from conftest import ROOT, run_cli
from console.cli import main

# 170 s of the small market: the 90 s spread blowout has come and cleared (resolved by the system),
# the 150 s stale feed is still open (a warning) when the run ends.
RUN = ("--headless", "--speed", "max", "--duration", "170")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recorded")
    (folder / "desk.yaml").write_text(DESK_CONFIG)
    result = run_cli("--config", str(folder / "desk.yaml"), *RUN)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def desk(recorded, tmp_path):
    """A copy of the recorded folder (config + store) this test may change."""
    for name in ("desk.yaml", "watchfloor.db"):
        shutil.copy(recorded / name, tmp_path / name)
    return tmp_path / "desk.yaml"


def cli(config, *args):
    """The real command line, run in this process to save start-ups (headless runs below are real children)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([*args, "--config", str(config)])
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code
    assert "Traceback" not in err.getvalue()
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def ids(stdout):
    return [line.split()[0] for line in stdout.splitlines()[1:]]


def stored(config):
    with closing(sqlite3.connect(config.parent / "watchfloor.db")) as db:
        return {kind: (id_, state) for id_, kind, state in db.execute("SELECT id, kind, state FROM alerts")}


def test_list_shows_stored_alerts_and_filters_them(desk):
    alerts = stored(desk)
    spread, stale = alerts["spread_wide"][0], alerts["stale_feed"][0]
    assert alerts["spread_wide"][1] == "resolved" and alerts["stale_feed"][1] == "open"
    result = cli(desk, "alerts", "list")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split()[:4] == ["ID", "RAISED", "(UTC)", "SEVERITY"]
    assert ids(result.stdout) == [stale, spread]  # newest first
    assert "sim-hk:0700.HK" in rows[0] and "stale_feed" in rows[0] and "2026-01-05 02:02:40" in rows[0]
    assert "system" in rows[1]  # resolved by the detector's all-clear
    for args, expected in [(("--state", "open"), [stale]), (("--state", "open,resolved"), [stale, spread]),
                           (("--kind", "spread_wide"), [spread]), (("--severity", "critical"), [spread]),
                           (("--severity", "warning"), [stale, spread]), (("--symbol", "sim-hk:0700.HK"), [stale]),
                           (("--symbol", "ETH/USDT"), [spread]), (("--since", "2026-01-05T02:02:00Z"), [stale]),
                           (("--until", "2026-01-05T02:02"), [spread]), (("--since", "1h"), [])]:
        assert ids(cli(desk, "alerts", "list", *args).stdout) == expected, args


def test_bad_filters_are_one_line_errors(desk):
    for args, words in [(("--since", "yesterday"), "expected a time like"),
                        (("--state", "closed"), "expected one or more of open, acknowledged")]:
        result = cli(desk, "alerts", "list", *args)
        assert result.returncode == 2 and words in result.stderr


def test_export_as_csv_and_json_with_the_audit_trail(desk):
    rows = list(csv.DictReader(io.StringIO(cli(desk, "alerts", "export", "--format", "csv").stdout)))
    assert [row["kind"] for row in rows] == ["spread_wide", "stale_feed"]  # oldest first
    assert rows[0]["resolved_by"] == "system" and rows[0]["resolution"] == "condition cleared"
    exported = json.loads(cli(desk, "alerts", "export", "--format", "json").stdout)
    assert [(a["kind"], a["state"], a["venue"], a["symbol"]) for a in exported] == [
        ("spread_wide", "resolved", "sim-alpha", "ETH/USDT"), ("stale_feed", "open", "sim-hk", "0700.HK")]
    assert exported[0]["evidence"] and json.loads(rows[0]["evidence"]) == exported[0]["evidence"]
    assert [a["count"] for a in exported] == [int(row["count"]) for row in rows]
    audit = json.loads(cli(desk, "alerts", "export", "--format", "json", "--audit").stdout)
    assert [(a["action"], a["operator"], a["reason"]) for a in audit] == [
        ("opened", "system", None), ("resolved", "system", "condition cleared"), ("opened", "system", None)]
    out = desk.parent / "audit.csv"
    assert cli(desk, "alerts", "export", "--audit", "--out", str(out)).stdout == ""
    assert [row["action"] for row in csv.DictReader(out.open())] == ["opened", "resolved", "opened"]


def test_acknowledge_then_resolve_from_the_shell_and_the_report_counts_them(desk):
    stale = stored(desk)["stale_feed"][0]
    result = cli(desk, "alerts", "ack", stale, "--reason", "checking the HK feed")
    assert (result.returncode, result.stdout) == (0, f"acknowledged {stale} as ana\n")
    assert "acknowledged" in cli(desk, "alerts", "list", "--state", "acknowledged").stdout
    refused = cli(desk, "alerts", "resolve", stale)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    assert cli(desk, "alerts", "resolve", stale, "--reason", "feed restarted").returncode == 0
    again = cli(desk, "alerts", "ack", stale)
    assert again.returncode == 2 and again.stderr == (
        f"watchfloor: {stale} is already resolved by ana (feed restarted)\n")
    unknown = cli(desk, "alerts", "ack", "al-000000000000")
    assert unknown.returncode == 2 and "no alert al-000000000000" in unknown.stderr

    report = json.loads(cli(desk, "report", "--format", "json").stdout)
    assert report["total"] == 2
    assert report["by_severity"] == {"critical": 1, "warning": 1, "info": 0}
    assert list(report["by_kind"]) == ["spread_wide", "stale_feed"]
    assert report["by_instrument"]["sim-hk:0700.HK"] == {"total": 1, "critical": 0, "warning": 1, "info": 0}
    tta = report["time_to_acknowledge_s"]
    assert (tta["acknowledged"], tta["never_acknowledged"]) == (1, 1) and tta["mean"] == tta["p95"] > 0
    assert report["resolved"] == {"total": 2, "by_operator": 1, "condition_cleared": 1}
    assert report["backlog"]["total"] == 0
    text = cli(desk, "report", "--since", "2026-01-05T02:02:00Z").stdout
    assert "1 alerts: 0 critical, 1 warning, 0 info" in text
    assert "time to acknowledge:" in text and "1 acknowledged" in text and "open backlog: 0" in text


def test_ack_while_a_console_writes_the_store_is_applied_by_that_console(desk):
    stale = stored(desk)["stale_feed"][0]
    console = subprocess.Popen([sys.executable, "-m", "console.cli", "--config", str(desk), "--headless",
                                "--speed", "1", "--duration", "600"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert console.stderr.readline() == "watchfloor: store ok\n"  # it holds the store and restored the alert
        result = cli(desk, "alerts", "ack", stale, "--reason", "from desk 2")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"acknowledged {stale} as ana (applied by the console writing the store")
        with closing(sqlite3.connect(desk.parent / "watchfloor.db")) as db:
            assert db.execute("SELECT operator, reason FROM audit WHERE action = 'acknowledged'").fetchall() == [
                ("ana", "from desk 2")]
    finally:
        console.send_signal(signal.SIGINT)
        console.wait(timeout=30)


def test_store_problems_are_one_line_errors(desk, tmp_path):
    (tmp_path / "watchfloor.db").unlink()
    missing = cli(desk, "alerts", "list")
    assert missing.returncode == 2 and missing.stderr.startswith("watchfloor: no alert store at ")
    with closing(sqlite3.connect(tmp_path / "watchfloor.db")) as db:
        db.execute("PRAGMA user_version = 99")
    for result in (cli(desk, "alerts", "list"), cli(desk, "report"), run_cli("--config", str(desk), *RUN)):
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "schema version 99 is newer than this watchfloor" in result.stderr
