"""The console: snapshots of every view at 80x24, and what a user sees when pressing keys.

The runtime is advanced without its async source: a Simulator with the same seed, instruments and a
fixed start is stepped by hand, so every screen is the same on every run and no wall clock shows.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import ContentSwitcher

from conftest import START_TS
from console.app import VIEWS, WatchfloorApp
from console.config import ConfigError, load_config
from console.config import default_config_path
from console.runtime import Runtime
from console.widgets.alerts import AlertsTable
from console.widgets.book import BookView, Ladder
from console.widgets.help import HelpScreen
from console.widgets.model import family_cells, ordered_keys
from console.widgets.radar import Radar
from console.wiring import simulated_runtime
from feeds.simulator import Simulator

SIZE = (80, 24)
WARM_STEPS = 1800  # 180 s of market time: the 90 s spread scenario has come and gone, the 150 s stale feed is open
MORE_STEPS = 200  # then to 200 s, by which time the stale feed has resumed


@pytest.fixture(scope="module")
def market():
    """The default config and the simulator's steps, generated once (stepping costs more than dispatching)."""
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    sim = Simulator([state.settings for state in runtime.instruments.values()], config.sim, START_TS)
    return config, [sim.step() for _ in range(WARM_STEPS + MORE_STEPS)]


def build(market, steps: int = WARM_STEPS) -> tuple[WatchfloorApp, Runtime, list]:
    """A fresh runtime advanced `steps` steps, the app over it (not live), and the steps still to come."""
    config, batches = market
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    for batch in batches[:steps]:
        runtime.dispatch(batch)
    app = WatchfloorApp(config, runtime, live=False)
    app.animation_level = "none"
    return app, runtime, batches[steps:]


@pytest.fixture
def app(market) -> WatchfloorApp:
    return build(market)[0]


def screen_text(app: WatchfloorApp) -> str:
    """What the terminal shows, as plain text."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      force_terminal=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


# -- snapshots -----------------------------------------------------------------------------------------

def test_snapshot_radar(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE)


def test_snapshot_book(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, press=["j", "enter"])


def test_snapshot_alerts(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, press=["3"])


def test_snapshot_maker(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, press=["4"])


def test_snapshot_help(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"])


# -- behaviour -----------------------------------------------------------------------------------------

async def test_number_keys_switch_the_visible_view(app):
    async with app.run_test(size=SIZE) as pilot:
        for number, (view, title) in reversed(list(enumerate(VIEWS.items(), start=1))):
            await pilot.press(str(number))
            assert app.query_one(ContentSwitcher).current == view
            assert app.query_one(f"#{view}").display
            assert f"[{number} {title}]" in screen_text(app).splitlines()[0]


async def test_radar_shows_every_instrument_family_and_open_alert(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        for key in ordered_keys(app.runtime):
            assert f"{key[0]}:{key[1]}" in text
        for heading in ("crypto", "us", "hk", "cn"):
            assert f"── {heading} " in text
        stale_row = next(line for line in text.splitlines() if "sim-hk:9988.HK" in line)
        assert "! warn" in stale_row  # the open stale_feed warning, as a glyph and a word
        assert "C:0 W:1 I:0" in text.splitlines()[-1]
        assert "2026-01-01 00:03:00 UTC" in text.splitlines()[0]  # market time, not the wall clock


async def test_radar_cursor_moves_and_enter_opens_that_book(app):
    keys = ordered_keys(app.runtime)
    async with app.run_test(size=SIZE) as pilot:
        radar = app.query_one(Radar)
        assert radar.selected == keys[0]
        await pilot.press("end")
        assert radar.selected == keys[-1]
        await pilot.press("home", "j", "down", "down", "k")
        assert radar.selected == keys[2]
        assert "▸ sim-alpha:SOL/USDT" in screen_text(app)
        await pilot.press("enter")
        assert app.query_one(ContentSwitcher).current == "book"
        assert app.query_one(BookView).key == keys[2]
        assert "sim-alpha:SOL/USDT" in screen_text(app).splitlines()[1]


async def test_brackets_and_tab_change_the_book_instrument(app):
    keys = ordered_keys(app.runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        book = app.query_one(BookView)
        assert book.key == keys[0]
        await pilot.press("right_square_bracket")
        assert book.key == keys[1]
        assert f"{keys[1][0]}:{keys[1][1]}" in screen_text(app).splitlines()[1]
        await pilot.press("tab", "left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert book.key == keys[-1]  # wraps around


async def test_space_freezes_the_ladder(market):
    app, runtime, later = build(market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "space")
        assert "PAUSED" in screen_text(app).splitlines()[1]
        ladder = app.query_one(Ladder)
        frozen, frozen_text = ladder.snapshot, screen_text(app)
        for batch in later[:50]:
            runtime.dispatch(batch)
        await pilot.pause(0.3)  # several frames
        assert ladder.snapshot == frozen
        assert screen_text(app) .splitlines()[1:-1] == frozen_text.splitlines()[1:-1]
        await pilot.press("space")
        await pilot.pause(0.2)
        assert "PAUSED" not in screen_text(app).splitlines()[1]
        assert ladder.snapshot != frozen  # live again: the book had moved on


async def test_alerts_table_has_a_row_per_alert_updated_in_place(market):
    app, runtime, later = build(market)
    history = runtime.engine.history
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        table = app.query_one(AlertsTable)
        assert table.row_count == len(history) >= 2
        newest_first = sorted(history, key=lambda alert: alert.ts, reverse=True)
        assert [row.key.value for row in table.ordered_rows] == [alert.id for alert in newest_first]
        stale = next(alert for alert in history if alert.kind == "stale_feed")
        assert table.get_cell(stale.id, "state") == "open"
        for batch in later:  # to 200 s: the silent instrument resumes and its alert resolves
            runtime.dispatch(batch)
        await pilot.pause(0.2)
        assert table.row_count == len(history)
        assert table.get_cell(stale.id, "state") == "resolved"
        assert "resolved" in next(line for line in screen_text(app).splitlines() if "stale_feed" in line)


async def test_help_lists_every_binding_and_escape_closes_it(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = screen_text(app)
        nodes = [app, app.query_one(Radar), app.query_one(BookView), app.query_one(AlertsTable),
                 app.query_one("#maker-table"), app.screen]
        for node in nodes:
            for _, binding in node._bindings:
                assert app.get_key_display(binding) in help_text, binding
                assert binding.description in help_text, binding
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_defensive_banner_shows_on_every_view(app):
    async with app.run_test(size=SIZE) as pilot:
        assert "DEFENSIVE" not in screen_text(app)
        app.defensive = True
        for number in "1234":
            await pilot.press(number)
            assert "DEFENSIVE" in screen_text(app).splitlines()[1]


async def test_live_mode_runs_the_runtime_and_quits_when_it_stops():
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    app = WatchfloorApp(config, runtime, duration=5.0)
    await app.run_async(headless=True, size=SIZE)
    assert app.return_code == 0
    assert runtime.market_time >= START_TS + 5.0 and runtime.events > 0


async def test_quitting_a_live_app_cancels_the_runtime():
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=1.0, start_ts=START_TS)
    app = WatchfloorApp(config, runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert runtime.events > 0
        task = app._runtime_task
        await pilot.press("q")
    assert task.done()
    assert app._on_alert not in runtime.engine.listeners


async def test_a_failing_feed_ends_the_console_with_one_line(capfd):
    class BrokenSource:
        name = "broken"

        async def run(self, emit) -> None:
            raise ConnectionError("exchange went away")

    config = load_config(default_config_path())
    runtime = Runtime(config.venues, config.instruments, config.detectors, [BrokenSource()])
    app = WatchfloorApp(config, runtime)
    await app.run_async(headless=True, size=SIZE)
    assert app.return_code == 1
    assert capfd.readouterr().err.strip() == "watchfloor: the feed stopped: exchange went away"


async def test_a_new_critical_alert_rings_the_bell_once(market):
    app, runtime, _ = build(market, steps=850)  # 85 s: the spread scenario starts at 90 s
    rings = []
    app.bell = lambda: rings.append(runtime.market_time)
    _, batches = market
    async with app.run_test(size=SIZE) as pilot:
        for batch in batches[850:1000]:
            runtime.dispatch(batch)
        await pilot.pause(0.3)
    assert any(alert.severity == "critical" for alert in runtime.engine.history)
    assert len(rings) == 1


def test_unknown_theme_is_a_config_error(market):
    config, _ = market
    from dataclasses import replace
    config = replace(config, ui=replace(config.ui, theme="no-such-theme"))
    with pytest.raises(ConfigError, match="ui.theme: unknown theme 'no-such-theme'"):
        WatchfloorApp(config, simulated_runtime(config, speed=0.0, start_ts=START_TS), live=False)


def test_radar_cells_show_warm_up_then_alerts(market):
    app, runtime, _ = build(market, steps=100)  # 10 s in: spread_wide has 10 of its 30 samples
    cells = family_cells(runtime)[("sim-alpha", "BTC/USDT")]
    assert cells["quality"].state == "warming" and cells["quality"].text.startswith("~ ")
    assert cells["feed"].state == "ok"
    app, runtime, _ = build(market)
    assert family_cells(runtime)[("sim-hk", "9988.HK")]["feed"].text == "! warn"
