"""Live quoting through the real `watchfloor` command, in a child process, against the local fake Binance.

The fake serves both sides from this test's event loop: market data replayed from the real capture
(tests/fake_exchange.py) and signed spot trading with the websocket user stream
(tests/fake_binance_trading.py). The keys reach the child through environment variables only.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from fake_binance_trading import BinanceTrading
from fake_exchange import FakeExchange, load_binance
from test_ccxt_live import ROOT, watchfloor, write_config
from test_live_quoting import API_KEY, ENV, SECRET
from waiting import until

CHILD_WAIT_S = 120.0  # a loaded 2-core machine may be slow to start the child; a run that works ends sooner
VENUE_KEYS = "".join(f"    {name}: {variable}\n"
                     for name, variable in zip(("api_key_env", "secret_env"), ENV))  # under the venue's urls
LIVE_MAKER = """maker:
  mode: live
  instruments: ["binance:BTC/USDT"]
  autostart: true
  live: {{dead_man_s: 5, poll_s: 1}}
  defence: {{kinds: []}}
  quoting:
    defaults: {{model: simple, size: 0.001, warmup_s: 0.5, base_spread_bps: 20}}
store:
  path: {store}
"""


@asynccontextmanager
async def fake_binance(monkeypatch, tmp_path: Path):
    """The fake serving 20 s of the capture at real time (quotes keep moving while the child runs), its
    trading side, and a live config pointing at it; the keys in this process's environment, which the
    child inherits."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    fx = FakeExchange([load_binance("spot", "BTCUSDT", 20.0)], speed=1.0)
    trading = BinanceTrading(fx, API_KEY, SECRET)
    await fx.start()
    config = write_config(tmp_path, fx, ["BTC/USDT"], extra=VENUE_KEYS)
    config.write_text(config.read_text() + LIVE_MAKER.format(store=tmp_path / "live.db"))
    try:
        yield config, trading
    finally:
        await fx.stop()


def default_sighup() -> None:
    """In a child before it runs: SIGHUP at its default, as a login shell leaves it (this test may itself run
    under nohup, whose ignoring the child would inherit)."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def assert_quoted_then_cancelled_everything(trading: BinanceTrading) -> None:
    ours = [o for o in trading.orders.values() if o.client_id.startswith("wf")]
    assert ours and all(o.type == "LIMIT_MAKER" for o in ours)  # the maker quoted, post-only
    assert trading.open_orders() == []  # nothing left working after the exit
    assert ("DELETE", "/api/v3/openOrders") in {(m, p) for m, p, _ in trading.requests}  # the exit's cancel-all


def assert_keys_nowhere(tmp_path: Path, *outputs: str) -> None:
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("live.db"))
    assert stored  # the store was written (alerts, audit), so its absence of keys means something
    for secret in (API_KEY, SECRET):
        assert not any(secret in text for text in outputs)
        assert secret.encode() not in stored


async def test_a_headless_live_run_quotes_on_the_exchange_and_cancels_everything_at_the_end(monkeypatch, tmp_path):
    async with fake_binance(monkeypatch, tmp_path) as (config, trading):
        result = await watchfloor("--config", str(config), "--live", "--headless", "--i-understand-live",
                                  "--duration", "4")
        assert result.returncode == 0, result.stderr
        assert "events in" in result.stderr and "Traceback" not in result.stderr
        assert_quoted_then_cancelled_everything(trading)
        assert any(API_KEY in r for r in trading.raw_requests)  # the key did go to the exchange, in its header
        assert_keys_nowhere(tmp_path, result.stdout, result.stderr)


@pytest.mark.parametrize("stop, status", [(signal.SIGINT, 130), (signal.SIGTERM, 0), (signal.SIGHUP, 0)],
                         ids=["ctrl-c", "kill", "hang-up"])
async def test_stopping_a_headless_live_run_by_signal_cancels_every_order(monkeypatch, tmp_path, stop, status):
    """Ctrl-C at a terminal, SIGTERM from `kill`, systemd or `docker stop`, SIGHUP from a dropped SSH session:
    the orders must not outlive the program."""
    async with fake_binance(monkeypatch, tmp_path) as (config, trading):
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "console.cli", "--config", str(config), "--live", "--headless",
            "--i-understand-live", cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            preexec_fn=default_sighup)
        try:
            await until(lambda: len(trading.open_orders()) == 2 or child.returncode is not None,
                        "the child's quotes on the exchange", CHILD_WAIT_S)
            assert child.returncode is None, (await child.stderr.read()).decode()
            child.send_signal(stop)
            stdout, stderr = await asyncio.wait_for(child.communicate(), CHILD_WAIT_S)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert child.returncode == status, stderr.decode()
        assert_quoted_then_cancelled_everything(trading)
        assert_keys_nowhere(tmp_path, stdout.decode(), stderr.decode())


async def test_a_missing_key_variable_stops_the_start_with_one_line_naming_it(monkeypatch, tmp_path):
    async with fake_binance(monkeypatch, tmp_path) as (config, trading):
        _, secret_variable = ENV  # the key is set, its secret is not
        monkeypatch.delenv(secret_variable)
        result = await watchfloor("--config", str(config), "--live", "--headless", "--i-understand-live",
                                  "--duration", "4")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert f"environment variable {secret_variable} (secret_env) is not set" in result.stderr
        assert result.stderr.startswith(f"watchfloor: {config}: venues[0]")
        assert API_KEY not in result.stderr and trading.requests == []  # nothing signed went out
