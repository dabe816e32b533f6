"""Shared test helpers: a small fixed-start configuration and a way to run the real CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TS = 1_767_578_400.0  # 2026-01-05T02:00:00Z: a Monday, 10:00 in Hong Kong (0700.HK trades until 12:00)

SMALL_CONFIG = """\
venues:
  - {name: sim-alpha, source: sim, freshness_s: 5}
  - {name: sim-hk, source: sim, freshness_s: 10}
instruments:
  - {venue: sim-alpha, symbol: BTC/USDT, kind: spot, market: crypto, tick_size: 0.1, lot_size: 0.001, price: 65000, volatility: 0.6}
  - {venue: sim-alpha, symbol: ETH/USDT, kind: spot, market: crypto, tick_size: 0.01, lot_size: 0.01, price: 3400, volatility: 0.7}
  - {venue: sim-hk, symbol: 0700.HK, kind: equity, market: hk, tick_size: 0.2, lot_size: 100, price: 380, volatility: 0.3}
sim:
  seed: 11
  start: "2026-01-05T02:00:00Z"
  speed: 0
  scenarios:
    - {kind: spread_wide, instrument: "sim-alpha:ETH/USDT", at: 90, duration: 30, magnitude: 8}
    - {kind: stale_feed, instrument: "sim-hk:0700.HK", at: 150, duration: 40}
detectors:
  overrides:
    - match: "sim-hk:*"
      spread_wide: {threshold_bps: 30, critical_bps: 80}
      stale_feed: {critical_multiple: 3}
"""


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_CONFIG)
    return path


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real `watchfloor` command in a child process, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "console.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
