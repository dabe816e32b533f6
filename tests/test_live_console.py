"""Live quoting in the full console against the local fake Binance: the typed confirmation, exchange errors on
screen, and every way out (q, escape, SIGTERM, an SSH disconnect) leaving no order behind.

The in-process tests run the real WatchfloorApp, its runtime built as the `watchfloor --live` command builds
it, with the fake serving market data and signed trading from the same event loop. The signal tests run the
real command full-screen in a pseudo-terminal, as an operator's SSH session would: keys typed into it, the
signal sent to it, or the terminal closed under it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import struct
import sys
import termios
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from console.alert_services import attach_alert_services
from console.app import WatchfloorApp
from console.config import load_config
from console.maker_runtime import attach_maker_state
from console.screens.confirm import ConfirmScreen
from console.screens.live_confirm import LiveConfirmScreen
from console.wiring import market_runtime
from maker.orders import REJECTED, Wanted
from test_app import screen_text
from test_ccxt_live import ROOT
from test_live_cli import (CHILD_WAIT_S, assert_keys_nowhere, assert_quoted_then_cancelled_everything, default_sighup,
                           fake_binance)
from test_live_quoting import API_KEY, KEY
from waiting import until

SIZE = (120, 40)
ORDER_POSTS = "POST /api/v3/order"


def order_posts(trading) -> int:
    return sum(1 for r in trading.raw_requests if r.startswith(ORDER_POSTS))


def console_runtime(config):
    """The runtime `watchfloor --config ... --live` gives the console: live feed, live maker, store."""
    runtime = market_runtime(config, live_trading=True)
    attach_alert_services(runtime, config)
    attach_maker_state(runtime)
    return runtime


@asynccontextmanager
async def live_console(monkeypatch, tmp_path: Path):
    """The real console over a live maker on the fake, and the fake's trading side."""
    async with fake_binance(monkeypatch, tmp_path) as (path, trading):
        config = load_config(path)
        runtime = await asyncio.to_thread(console_runtime, config)  # loads markets from the fake: not on its loop
        app = WatchfloorApp(config, runtime)
        app.animation_level = "none"
        yield app, trading


async def test_the_console_asks_for_live_refuses_other_text_quotes_then_quits_with_no_order_left(monkeypatch,
                                                                                                 tmp_path):
    async with live_console(monkeypatch, tmp_path) as (app, trading):
        exchange = app.runtime.maker.orders.exchange
        async with app.run_test(size=SIZE) as pilot:
            modal = app.screen
            assert isinstance(modal, LiveConfirmScreen)
            shown = str(modal.query_one("#live-confirm-what").render())
            assert "venue        binance" in shown and "binance:BTC/USDT" in shown
            assert API_KEY[-4:] in shown and API_KEY[:-4] not in shown  # the account, masked
            maker = app.runtime.maker
            quoter = maker.quoted[KEY].quoter
            await until(lambda: exchange.connected and exchange.reconciled
                        and quoter.plan(maker.market_time, 0.0) is not None,
                        "connected, reconciled and the maker warmed up: it would quote if allowed")
            await pilot.press(*"yes", "enter")
            assert "is not LIVE" in str(modal.query_one("#live-confirm-error").render())
            assert app.screen is modal and not exchange.armed
            assert order_posts(trading) == 0 and "confirmation" in maker.status(KEY)[1]  # held, and says why
            await pilot.press(*"LIVE", "enter")
            assert exchange.armed and not isinstance(app.screen, LiveConfirmScreen)
            await until(lambda: len(trading.open_orders()) == 2, "the maker's bid and ask on the exchange")

            await pilot.press("q")
            assert isinstance(app.screen, ConfirmScreen)  # quoting: quit asks first
            assert "Cancel every order and quit?" in str(app.screen.query_one("#confirm-question").render())
            await pilot.press("y")
        assert app.return_code in (0, None)
        assert_quoted_then_cancelled_everything(trading)


async def test_escape_on_the_confirmation_quits_the_console_without_any_order(monkeypatch, tmp_path):
    async with live_console(monkeypatch, tmp_path) as (app, trading):
        exchange = app.runtime.maker.orders.exchange
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, LiveConfirmScreen)
            await until(lambda: exchange.connected and exchange.reconciled, "the user stream up and reconciled")
            await pilot.press("escape")
        assert not app.is_running and not exchange.armed
        assert order_posts(trading) == 0 and trading.orders == {}


async def test_a_post_only_rejection_from_the_exchange_shows_in_the_maker_view(monkeypatch, tmp_path):
    async with live_console(monkeypatch, tmp_path) as (app, trading):
        maker = app.runtime.maker
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*"LIVE", "enter")
            await until(lambda: len(trading.open_orders()) == 2, "the maker's quotes resting")
            _, best_ask = trading.fx.books[("spot", "BTCUSDT")].best()
            crossing = maker.orders.place(KEY, Wanted("bid 9", "buy", best_ask + 50, 0.001, True), app.runtime.market_time)
            await until(lambda: crossing.state == REJECTED, "the exchange's refusal")
            await pilot.press("4")
            await until(lambda: "post-only rejected" in screen_text(app), "the rejection on screen", 10.0)
            detail = screen_text(app)
            assert "exch" in detail and "post_only 1" in detail  # the count by kind, then the exchange's text
            maker.cancel_all()
        assert trading.open_orders() == []


# -- the full-screen command in a pseudo-terminal, stopped by signals --------------------------------------------------
class Terminal:
    """A pseudo-terminal whose far end is the child's controlling terminal, as an SSH session gives a shell.

    Everything the child draws is read and kept (the console blocks once a terminal stops being read)."""

    def __init__(self, columns: int = 120, rows: int = 40) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.screen = bytearray()
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed its end
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
        self.screen += data

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def hang_up(self) -> None:
        """The SSH connection drops: the terminal's far end closes, and the kernel sends SIGHUP."""
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.master != -1:
            self.hang_up()


def _login_session() -> None:
    """In the child before it runs (after its new session began): the terminal becomes its controlling
    terminal, and SIGHUP is at its default, as an SSH login gives them."""
    default_sighup()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.parametrize("stop", ["SIGTERM", "hang-up"])
async def test_sigterm_or_a_dropped_ssh_session_stops_the_full_screen_console_cancelling_every_order(
        monkeypatch, tmp_path, stop):
    """`kill`, systemd or a closed SSH window while the console quotes: services stop in order, every order is
    cancelled, the store is committed and closed (its WAL folded back), the exit status is 0."""
    async with fake_binance(monkeypatch, tmp_path) as (config, trading):
        terminal = Terminal()
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "console.cli", "--config", str(config), "--live", cwd=ROOT,
            stdin=terminal.slave, stdout=terminal.slave, stderr=terminal.slave,
            env=os.environ | {"TERM": "xterm-256color"}, start_new_session=True, preexec_fn=_login_session)
        os.close(terminal.slave)
        try:
            await until(lambda: b"real orders" in terminal.screen or child.returncode is not None,
                        "the typed confirmation on screen", CHILD_WAIT_S)
            terminal.type("LIVE\r")
            await until(lambda: len(trading.open_orders()) == 2 or child.returncode is not None,
                        "the child's quotes on the exchange", CHILD_WAIT_S)
            assert child.returncode is None, terminal.screen.decode(errors="replace")[-2000:]
            if stop == "SIGTERM":
                child.send_signal(signal.SIGTERM)
            else:
                terminal.hang_up()
            await asyncio.wait_for(child.wait(), CHILD_WAIT_S)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            terminal.close()
        shown = terminal.screen.decode(errors="replace")
        assert child.returncode == 0, (stop, shown[-2000:])
        assert "Traceback" not in shown
        assert_quoted_then_cancelled_everything(trading)
        assert not (tmp_path / "live.db-wal").exists(), stop  # the store closed cleanly
        assert_keys_nowhere(tmp_path, shown)
