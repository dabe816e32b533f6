"""The console: snapshots of every view and modal at 80x24 and 160x48, and what an operator sees pressing keys.

The runtime is advanced without its async source: a Simulator with the same seed, instruments and a
fixed start is stepped by hand, the alert engine's wall clock is frozen, so every screen is the same on
every run and no wall clock shows. Snapshots use the default configuration with the maker quoting two
instruments; the flows use the small desk market (three instruments, two detectors, operator `ana`),
each on a runtime of its own since they change it.
"""

from __future__ import annotations

import gc
import io
import time
from dataclasses import replace

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import ContentSwitcher, Input

from alert_desk import DESK_CONFIG
from conftest import START_TS
from console.alert_services import attach_alert_services
from console.app import VIEWS, WatchfloorApp
from console.config import ConfigError, default_config_path, load_config
from console.gc_tuning import THRESHOLDS
from console.runtime import Runtime
from console.screens.confirm import ConfirmScreen
from console.screens.details import AlertDetails
from console.screens.resolve import ResolveScreen
from console.widgets.alerts import AlertsTable, AlertsView
from console.widgets.book import BookView, Ladder
from console.widgets.help import HelpScreen
from console.widgets.history import History
from console.widgets.maker import MakerView
from console.widgets.model import family_cells, ordered_keys
from console.widgets.radar import Radar
from console.wiring import simulated_runtime
from feeds.simulator import Simulator

SMALL, LARGE = (80, 24), (160, 48)
SIZES = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
WALL = START_TS + 3600.0  # the frozen wall clock of acknowledgements and the audit trail
WARM_STEPS = 1000  # 100 s of market time: the spread scenario (40 s) has come and gone, the stale feed (70 s) is open
QUOTED = ["sim-alpha:BTC/USDT", "sim-alpha:ETH/USDT"]
DESK_STEPS = 2400  # the desk market's 240 s: stale feed at 150-190 s on sim-hk:0700.HK
DESK_MAKER = f"maker:\n  instruments: {QUOTED}\n  quoting: {{defaults: {{warmup_s: 10}}}}\n"


def frozen_runtime(config, batches) -> tuple[Runtime, History]:
    """A runtime with the History the app will read, advanced through `batches`."""
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    runtime.engine.clock = lambda: WALL
    history = History(runtime)
    history.attach()
    for batch in batches:
        runtime.dispatch(batch)
    return runtime, history


def steps(config, count: int) -> list:
    sim = Simulator(config.instruments, config.sim, START_TS, config.markets)  # equities keep their hours
    return [sim.step() for _ in range(count)]


@pytest.fixture(scope="module")
def market():
    """The default config quoting two instruments, its scenarios sooner, and a runtime advanced WARM_STEPS to share.

    Stepping and dispatching cost seconds, so tests that only look share one runtime.
    """
    config = load_config(default_config_path())
    scenarios = [replace(config.sim.scenarios[0], at=40.0), replace(config.sim.scenarios[1], at=70.0)]
    config = replace(config, sim=replace(config.sim, scenarios=scenarios),
                     maker=replace(config.maker, instruments=QUOTED, autostart=True))
    batches = steps(config, WARM_STEPS)
    runtime, history = frozen_runtime(config, batches)
    return config, runtime, history


@pytest.fixture(scope="module")
def desk_market(tmp_path_factory):
    path = tmp_path_factory.mktemp("desk") / "desk.yaml"
    path.write_text(DESK_CONFIG + DESK_MAKER + "ui: {refresh_hz: 5}\n")  # fewer frames: the pilot finds the app idle sooner
    config = load_config(path)
    return config, steps(config, DESK_STEPS)


def console_app(config, runtime: Runtime, history: History | None = None) -> WatchfloorApp:
    app = WatchfloorApp(config, runtime, live=False, history=history)
    app.animation_level = "none"
    return app


def desk(desk_market, seconds: float = 170.0, config=None) -> tuple[WatchfloorApp, Runtime, list]:
    """The desk market advanced `seconds` on a runtime of its own, the app over it, and the steps to come."""
    base, batches = desk_market
    count = int(seconds * 10)
    runtime, history = frozen_runtime(config or base, batches[:count])
    return console_app(config or base, runtime, history), runtime, batches[count:]


@pytest.fixture
def app(market) -> WatchfloorApp:
    """The app over the shared runtime: for tests that do not change it."""
    config, runtime, history = market
    return console_app(config, runtime, history)


def screen_text(app: WatchfloorApp) -> str:
    """What the terminal shows, as plain text."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      force_terminal=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def until(pilot, condition, timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds, or `timeout` passes (the assertion that follows then fails):
    as quick as the machine allows, never a fixed guess of how long it takes."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.02)


def desk_quoting(desk_market, steps: int = 50) -> tuple[WatchfloorApp, Runtime, list]:
    """The desk at 60 s with the maker quoting every instrument for `steps` more steps (orders resting)."""
    app, runtime, later = desk(desk_market, 60.0)
    runtime.maker.start_all()
    for batch in later[:steps]:
        runtime.dispatch(batch)
    return app, runtime, later[steps:]


def row_of(app: WatchfloorApp, alert_id: str) -> str:
    return " ".join(str(cell) for cell in app.query_one(AlertsTable).get_row(alert_id))


def desk_on_stale_alert(desk_market):
    """The desk at 170 s, and its open stale_feed alert."""
    app, runtime, _ = desk(desk_market)
    return app, next(alert for alert in runtime.engine.history if alert.kind == "stale_feed")


async def select_alert(pilot, app: WatchfloorApp, alert_id: str) -> None:
    """Open the alerts view and move the cursor onto `alert_id`."""
    await pilot.press("3")
    table = app.query_one(AlertsTable)
    await pilot.press(*["j"] * table.get_row_index(alert_id))
    assert table.selected_id() == alert_id


# -- snapshots: every view and modal, at both sizes --------------------------------------------------------

SCREENS = {  # name -> the keys that bring it up from the start
    "radar": [], "book_with_our_quotes": ["enter"], "alerts": ["3"], "alert_details": ["3", "j", "enter"],
    "resolve_form": ["3", "r"], "acknowledge_all_question": ["3", "A"], "maker": ["4"],
    "defensive_question": ["4", "D"], "help": ["question_mark"],
}


def steady(keys: list[str]):
    """Press `keys`, then stop text cursors blinking: a blink follows the wall clock, snapshots must not."""
    async def run_before(pilot) -> None:
        await pilot.press(*keys)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
    return run_before


@SIZES
@pytest.mark.parametrize("screen", SCREENS)
def test_snapshot(app, snap_compare, screen, size):
    assert snap_compare(app, terminal_size=size, run_before=steady(SCREENS[screen]))


@SIZES
def test_snapshot_command_palette(app, snap_compare, size):
    async def search(pilot):
        await steady(["colon", *"ack all"])(pilot)
        await until(pilot, lambda: "Ack all shown" in screen_text(pilot.app))  # the palette searches in a worker

    assert snap_compare(app, terminal_size=size, run_before=search)


def test_snapshot_no_color(market, snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = console_app(*market)
    assert app.no_color
    assert snap_compare(app, terminal_size=SMALL, press=["3"])


@pytest.mark.parametrize("theme", ["watchfloor-contrast", "watchfloor-16"])
def test_snapshot_themes(market, snap_compare, theme):
    config, runtime, history = market
    app = console_app(replace(config, ui=replace(config.ui, theme=theme)), runtime, history)
    assert snap_compare(app, terminal_size=SMALL, press=["4"])


# -- views and navigation --------------------------------------------------------------------------------

async def test_number_keys_switch_the_visible_view(app):
    async with app.run_test(size=SMALL) as pilot:
        for number, (view, title) in reversed(list(enumerate(VIEWS.items(), start=1))):
            await pilot.press(str(number))
            assert app.query_one(ContentSwitcher).current == view
            assert app.query_one(f"#{view}").display
            assert f"[{number} {title}]" in screen_text(app).splitlines()[0]


async def test_radar_shows_every_instrument_and_spells_out_the_cursor_cell(app):
    runtime = app.runtime
    keys = ordered_keys(runtime)
    async with app.run_test(size=LARGE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        for venue, symbol in keys:
            assert f"── {runtime.instruments[(venue, symbol)].settings.market} · {venue} " in text
            assert f" {symbol} " in text
        counts = runtime.engine.open_counts()
        lines = text.splitlines()
        assert f"C:{counts['critical']} W:{counts['warning']} I:{counts['info']}" in lines[-2]  # the status bar
        assert "2026-01-05 02:01:40 UTC" in lines[0]  # market time, not the wall clock
        radar = app.query_one(Radar)
        stale = ("sim-hk", "9988.HK")  # the 70 s scenario: silent, its stale_feed warning still open
        await pilot.press(*["j"] * keys.index(stale), *["l"] * radar.families.index("feed"))
        lines = screen_text(app).splitlines()
        row = next(line for line in lines if "▸ 9988.HK" in line)
        assert "!" in row  # the warning as a glyph in the grid ...
        assert "sim-hk:9988.HK · feed: ! stale_feed: warning" in lines[-3]  # ... and in words below it


async def test_radar_cursor_moves_and_enter_opens_that_book(app):
    keys = ordered_keys(app.runtime)
    async with app.run_test(size=SMALL) as pilot:
        radar = app.query_one(Radar)
        assert radar.selected == keys[0]
        await pilot.press("end")
        assert radar.selected == keys[-1]
        await pilot.press("home", "j", "down", "down", "k")
        assert radar.selected == keys[2]
        assert "▸ SOL/USDT" in screen_text(app)
        await pilot.press("enter")
        assert app.query_one(ContentSwitcher).current == "book"
        assert app.query_one(BookView).key == keys[2]
        assert "sim-alpha:SOL/USDT" in screen_text(app)


async def test_radar_scrolls_to_rows_below_the_screen_with_current_values(app):
    keys = ordered_keys(app.runtime)
    async with app.run_test(size=(80, 12)) as pilot:  # room for a few rows only
        await pilot.press("end")
        text = screen_text(app)
        last = app.runtime.instruments[keys[-1]]
        assert f"▸ {keys[-1][1]}" in text
        assert f"{last.last_price:,.2f}" in next(line for line in text.splitlines() if f"▸ {keys[-1][1]}" in line)


async def test_book_marks_our_resting_quotes(app):
    maker = app.runtime.maker
    key = ("sim-alpha", "BTC/USDT")
    working = [order for order in maker.orders.working(key) if order.state != "pending_cancel"]
    assert working  # the maker quotes BTC/USDT at 100 s
    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("enter")
        text = screen_text(app)
        for order in working:
            line = next(line for line in text.splitlines() if f"{order.price:,.1f}" in line and "◆" in line)
            assert f"{order.remaining:.4f}" in line


async def test_brackets_and_tab_change_the_book_instrument(app):
    keys = ordered_keys(app.runtime)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        book = app.query_one(BookView)
        assert book.key == keys[0]
        await pilot.press("right_square_bracket")
        assert book.key == keys[1]
        assert f"{keys[1][0]}:{keys[1][1]}" in screen_text(app)
        await pilot.press("tab", "left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert book.key == keys[-1]  # wraps around


async def test_space_freezes_the_ladder(desk_market):
    app, runtime, later = desk(desk_market, 60.0)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2", "space")
        assert "PAUSED" in screen_text(app)
        ladder = app.query_one(Ladder)
        frozen = ladder.snapshot
        frozen_lines = [line for line in screen_text(app).splitlines() if "─ spread" in line]
        for batch in later[:50]:
            runtime.dispatch(batch)
        await pilot.pause(0.3)  # several frames
        assert ladder.snapshot == frozen
        assert [line for line in screen_text(app).splitlines() if "─ spread" in line] == frozen_lines
        await pilot.press("space")
        await until(pilot, lambda: ladder.snapshot != frozen)  # live again: the book had moved on
        assert ladder.snapshot != frozen
        assert "PAUSED" not in screen_text(app)


async def test_help_lists_every_binding_and_escape_closes_it(app):
    async with app.run_test(size=(160, 70)) as pilot:  # tall enough to show it all at once
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        nodes = [app, app.query_one(Radar), app.query_one(BookView), app.query_one(AlertsView),
                 app.query_one(AlertsTable), app.query_one(MakerView), app.query_one("#maker-table"), app.screen]
        help_text = screen_text(app)
        for node in nodes:
            for _, binding in node._bindings:
                assert binding.description in help_text, binding
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_lists_every_action_and_runs_it(desk_market):
    app, runtime, _ = desk(desk_market, 60.0)
    async with app.run_test(size=LARGE) as pilot:
        titles = [command.title for command in app.palette_commands()]
        for expected in ("Global: Defensive", "Global: Kill switch", "Alerts: Ack", "Alerts: Resolve",
                         "Alerts: Text filter", "Maker: Start/stop", "Maker: Stop all", "Book: Pause/resume"):
            assert expected in titles
        await pilot.press("colon")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"start/", "enter")
        await until(pilot, lambda: app.query_one(ContentSwitcher).current == "maker")
        assert app.query_one(ContentSwitcher).current == "maker"  # it went where the action lives ...
        assert runtime.maker.quoted[("sim-alpha", "BTC/USDT")].quoting  # ... and ran it


# -- the alert desk -----------------------------------------------------------------------------------

async def test_alerts_table_has_a_row_per_alert_updated_in_place(desk_market):
    app, runtime, later = desk(desk_market)
    history = runtime.engine.history
    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("3")
        table = app.query_one(AlertsTable)
        assert table.row_count == len(history) >= 2
        newest_first = sorted(history, key=lambda alert: alert.ts)[::-1]
        assert [row.key.value for row in table.ordered_rows] == [alert.id for alert in newest_first]
        stale = next(alert for alert in history if alert.kind == "stale_feed")
        assert str(table.get_cell(stale.id, "state")).strip() == "open"
        for batch in later[:300]:  # to 200 s: the silent instrument resumes and its alert resolves
            runtime.dispatch(batch)
        await until(pilot, lambda: str(table.get_cell(stale.id, "state")).strip() == "resolved")
        assert table.row_count == len(history)
        assert str(table.get_cell(stale.id, "state")).strip() == "resolved"
        assert "resolved" in next(line for line in screen_text(app).splitlines() if "stale_feed" in line)


async def test_acknowledge_the_selected_alert(desk_market):
    app, stale = desk_on_stale_alert(desk_market)
    async with app.run_test(size=LARGE) as pilot:
        await select_alert(pilot, app, stale.id)
        await pilot.press("a")
        assert (stale.state, stale.acked_by, stale.acked_at) == ("acknowledged", "ana", WALL)
        assert "acked" in row_of(app, stale.id) and "ana" in row_of(app, stale.id)
        assert app.screen.active_bindings["a"].enabled is False  # greyed: nothing left to acknowledge
        await pilot.press("enter")
        assert isinstance(app.screen, AlertDetails)
        assert "acknowledged ana" in " ".join(screen_text(app).split())  # the audit trail


async def test_acknowledge_all_shown_asks_first(desk_market):
    app, runtime, _ = desk(desk_market)
    engine = runtime.engine
    unacked = [alert for alert in engine.history if alert.state in ("open", "escalated")]
    assert unacked
    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("3", "A")
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Acknowledge the {len(unacked)} unacknowledged alerts" in screen_text(app)
        await pilot.press("n")
        assert all(alert.state in ("open", "escalated") for alert in unacked)
        await pilot.press("A", "y")
        assert [alert.state for alert in unacked] == ["acknowledged"] * len(unacked)
        assert app.screen.active_bindings["A"].enabled is False


async def test_resolve_needs_a_reason(desk_market):
    app, stale = desk_on_stale_alert(desk_market)
    async with app.run_test(size=LARGE) as pilot:
        await select_alert(pilot, app, stale.id)
        await pilot.press("r")
        assert isinstance(app.screen, ResolveScreen)
        await pilot.press("enter")  # no reason
        assert isinstance(app.screen, ResolveScreen)
        assert "a reason is required" in screen_text(app)
        assert stale.state == "open"
        await pilot.press(*"vendor fix", "enter")
        assert not isinstance(app.screen, ResolveScreen)
        assert (stale.state, stale.resolved_by, stale.resolution) == ("resolved", "ana", "vendor fix")
        await pilot.press("t", "t")  # state filter: unacknowledged only
        assert stale.id not in [row.key.value for row in app.query_one(AlertsTable).ordered_rows]


async def test_filters_by_severity_state_kind_and_text(desk_market):
    app, runtime, _ = desk(desk_market)
    history = runtime.engine.history
    kinds = list(dict.fromkeys(alert.kind for alert in history))
    assert len(kinds) >= 2

    def shown() -> list[str]:
        return [row.key.value for row in app.query_one(AlertsTable).ordered_rows]

    def ids(match) -> set[str]:
        return {alert.id for alert in history if match(alert)}

    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("3", "v", "v")  # critical only
        assert set(shown()) == ids(lambda a: a.severity == "critical")
        assert "severity critical+" in screen_text(app)
        await pilot.press("c", "t")  # unresolved
        assert set(shown()) == ids(lambda a: a.state != "resolved")
        await pilot.press("c", "n")  # the first kind raised
        assert set(shown()) == ids(lambda a: a.kind == kinds[0])
        await pilot.press("c", "slash", *"07", "enter")
        assert set(shown()) == ids(lambda a: a.symbol == "0700.HK") != set()
        assert app.focused is app.query_one(AlertsTable)  # enter went back to the table, filter kept
        await pilot.press("slash", "escape")
        assert set(shown()) == ids(lambda a: True)
        assert not app.query_one("#alerts-search", Input).display


async def test_details_show_what_an_earlier_run_did_from_the_store(desk_market, tmp_path):
    config = replace(desk_market[0], store=replace(desk_market[0].store, path=str(tmp_path / "alerts.db")))
    first, _ = frozen_runtime(config, [])
    attach_alert_services(first, config)
    await first.alert_store.start()
    for batch in desk_market[1][:1700]:
        first.dispatch(batch)
    stale = next(alert for alert in first.engine.history if alert.kind == "stale_feed")
    first.engine.acknowledge(stale.id, "bo", "called the vendor")
    await first.alert_store.stop()

    app, runtime, _ = desk(desk_market, 1.0, config)  # a restart: the alert comes back from the store
    attach_alert_services(runtime, config)
    await runtime.alert_store.start()
    try:
        assert stale.id in runtime.engine.by_id
        async with app.run_test(size=LARGE) as pilot:
            await select_alert(pilot, app, stale.id)
            await pilot.press("enter")
            await until(pilot, lambda: "called the vendor" in screen_text(app))  # the store is read in a worker
            assert "acknowledged bo: called the vendor" in " ".join(screen_text(app).split())
            await pilot.press("escape")
            assert "store ok" in screen_text(app).splitlines()[-2]  # the status bar
    finally:
        await runtime.alert_store.stop()


async def test_status_bar_shows_an_unwritable_store_in_red(desk_market, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    config = replace(desk_market[0], store=replace(desk_market[0].store, path=str(blocked / "alerts.db")))
    app, runtime, _ = desk(desk_market, 1.0, config)
    attach_alert_services(runtime, config)
    await runtime.alert_store.start()
    try:
        async with app.run_test(size=LARGE) as pilot:
            await until(pilot, lambda: "STORE ERROR" in screen_text(app).splitlines()[-2])
            status = screen_text(app).splitlines()[-2]
            assert f"STORE ERROR {blocked / 'alerts.db'}: cannot open" in status
    finally:
        await runtime.alert_store.stop()


async def test_a_new_critical_alert_rings_the_bell_and_toasts_once(desk_market):
    app, runtime, later = desk(desk_market, 85.0)  # the spread scenario starts at 90 s
    rings = []
    app.bell = lambda: rings.append(runtime.market_time)
    async with app.run_test(size=LARGE, notifications=True) as pilot:
        for batch in later[:150]:
            runtime.dispatch(batch)
        await until(pilot, lambda: "CRITICAL" in screen_text(app), timeout=10.0)  # the toast, however loaded
        assert any(alert.severity == "critical" for alert in runtime.engine.history)
        assert len(rings) == 1
        assert "CRITICAL" in screen_text(app)  # the toast


async def test_unacknowledged_critical_alerts_ring_again_until_acknowledged(desk_market):
    base = desk_market[0]
    config = replace(base, ui=replace(base.ui, renotify_s=0.1), maker=replace(base.maker, instruments=[]))
    app, runtime, later = desk(desk_market, 85.0, config)
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=LARGE) as pilot:
        for batch in later[:150]:
            runtime.dispatch(batch)
        await until(pilot, lambda: len(rings) >= 3)
        assert len(rings) >= 3  # the first ring, then reminders
        for alert in runtime.engine.history:
            if alert.severity == "critical" and alert.state in ("open", "escalated"):
                runtime.engine.acknowledge(alert.id, "ana")
        await pilot.pause(0.15)  # a reminder already under way
        before = len(rings)
        await pilot.pause(0.3)  # three reminder periods
        assert len(rings) == before


# -- the market maker ---------------------------------------------------------------------------------

async def test_start_and_stop_quoting_the_selected_instrument(desk_market):
    app, runtime, later = desk(desk_market, 60.0)
    maker = runtime.maker
    btc = ("sim-alpha", "BTC/USDT")

    def btc_row() -> str:
        return next(line for line in screen_text(app).splitlines() if "sim-alpha:BTC/USDT" in line)

    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("4")
        assert "STOPPED" in screen_text(app)
        await pilot.press("s")
        assert maker.quoted[btc].quoting
        for batch in later[:50]:
            runtime.dispatch(batch)
        assert maker.orders.working(btc)
        await until(pilot, lambda: "ACTIVE" in btc_row())
        assert "ACTIVE" in btc_row()
        await pilot.press("s")
        assert not maker.quoted[btc].quoting
        assert all(order.state == "pending_cancel" for order in maker.orders.working(btc))
        assert "STOPPED" in btc_row()


async def test_stop_all_asks_first(desk_market):
    app, runtime, _ = desk_quoting(desk_market, 0)
    maker = runtime.maker
    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("4", "S")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert all(q.quoting for q in maker.quoted.values())
        await pilot.press("S", "y")
        assert not any(q.quoting for q in maker.quoted.values())
        assert app.screen.active_bindings["S"].enabled is False  # nothing left to stop


async def test_kill_switch_works_from_a_modal(desk_market):
    app, runtime, _ = desk_quoting(desk_market)
    maker = runtime.maker
    assert maker.orders.orders
    async with app.run_test(size=LARGE, notifications=True) as pilot:
        await pilot.press("3", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("x")
        await until(pilot, lambda: "KILL SWITCH" in screen_text(app))
        assert not any(q.quoting for q in maker.quoted.values())
        assert all(order.state == "pending_cancel" for order in maker.orders.orders.values())
        assert "KILL SWITCH" in screen_text(app)


async def test_defensive_mode_on_and_off(desk_market):
    app, runtime, _ = desk(desk_market, 60.0)
    maker = runtime.maker
    async with app.run_test(size=SMALL) as pilot:
        assert "DEFENSIVE" not in screen_text(app)
        assert app.screen.active_bindings["L"].enabled is False
        await pilot.press("D")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not maker.defensive
        await pilot.press("D", "y")
        assert all(q.defence is not None and q.defence.reason == "operator ana" for q in maker.quoted.values())
        for number in "14":
            await pilot.press(number)
            assert "DEFENSIVE · manual by ana (2)" in screen_text(app).splitlines()[1]
        assert app.screen.active_bindings["D"].enabled is False  # already defending everything
        await pilot.press("L", "y")
        assert not maker.defensive
        assert "DEFENSIVE" not in screen_text(app)


async def test_defensive_banner_says_what_triggered_it(desk_market):
    app, runtime, later = desk_quoting(desk_market, 0)
    async with app.run_test(size=LARGE) as pilot:
        for batch in later[:400]:  # through the 90 s spread scenario on ETH/USDT
            runtime.dispatch(batch)
        await until(pilot, lambda: "DEFENSIVE" in screen_text(app).splitlines()[1])
        banner = screen_text(app).splitlines()[1]
        assert "DEFENSIVE · triggered by spread_wide critical on sim-alpha:ETH/USDT (1)" in banner
        assert "1/2 instruments" in banner


async def test_quit_while_quoting_asks_and_cancels_everything(desk_market):
    app, runtime, _ = desk_quoting(desk_market)
    maker = runtime.maker
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.is_running and all(q.quoting for q in maker.quoted.values())
        await pilot.press("q", "y")
        await pilot.pause()
        assert not app.is_running
    assert not any(q.quoting for q in maker.quoted.values())
    assert app.return_code == 0


async def test_q_quits_at_once_when_nothing_quotes(desk_market):
    app, _, _ = desk(desk_market, 10.0)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_without_a_maker_its_keys_are_greyed_and_the_view_says_how_to_configure_it(desk_market):
    base = desk_market[0]
    app, runtime, _ = desk(desk_market, 10.0, replace(base, maker=replace(base.maker, instruments=[])))
    assert runtime.maker is None
    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("4")
        bindings = app.screen.active_bindings
        assert [bindings[key].enabled for key in ("D", "x", "s", "S")] == [False] * 4
        assert "maker.instruments" in screen_text(app)


# -- the app around the views ---------------------------------------------------------------------------

async def test_live_mode_runs_the_runtime_and_quits_when_it_stops():
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    app = WatchfloorApp(config, runtime, duration=5.0)
    await app.run_async(headless=True, size=SMALL)
    assert app.return_code == 0
    assert runtime.market_time >= START_TS + 5.0 and runtime.events > 0


async def test_quitting_a_live_app_cancels_the_runtime_and_gives_the_garbage_collector_back():
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=1.0, start_ts=START_TS)
    app = WatchfloorApp(config, runtime)
    before = gc.get_threshold()
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: runtime.events > 0)
        assert runtime.events > 0
        assert gc.get_threshold() == THRESHOLDS and gc.get_freeze_count() > 0  # console.gc_tuning while live
        task = app._runtime_task
        await pilot.press("q")
    assert task.done()
    assert app._on_alert not in runtime.engine.listeners
    assert app.history.on_batch not in runtime.consumers
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_a_failing_feed_ends_the_console_with_one_line(capfd):
    class BrokenSource:
        name = "broken"

        async def run(self, emit) -> None:
            raise ConnectionError("exchange went away")

    config = load_config(default_config_path())
    runtime = Runtime(config.venues, config.instruments, config.detectors, [BrokenSource()])
    app = WatchfloorApp(config, runtime)
    await app.run_async(headless=True, size=SMALL)
    assert app.return_code == 1
    assert capfd.readouterr().err.strip() == "watchfloor: the feed stopped: exchange went away"


def test_unknown_theme_is_a_config_error(market):
    config = market[0]
    config = replace(config, ui=replace(config.ui, theme="no-such-theme"))
    with pytest.raises(ConfigError, match="ui.theme: unknown theme 'no-such-theme'"):
        WatchfloorApp(config, simulated_runtime(config, speed=0.0, start_ts=START_TS), live=False)


def test_radar_cells_show_warm_up_then_alerts(market):
    config, runtime, _ = market
    fresh, _ = frozen_runtime(config, steps(config, 100))  # 10 s in: spread_wide still has samples to take
    cells = family_cells(fresh)[("sim-alpha", "BTC/USDT")]
    assert cells["quality"].state == "warming"
    assert any(note.startswith("spread_wide: warming up ") for note in cells["quality"].notes)
    stale = family_cells(runtime)[("sim-hk", "9988.HK")]["feed"]
    assert stale.state == "warning" and stale.notes[0].startswith("stale_feed: warning, no update for")


def test_history_samples_once_a_market_second_and_estimates_volatility(desk_market):
    _, batches = desk_market
    runtime, history = frozen_runtime(desk_market[0], batches[:600])  # 60 s
    key = ("sim-alpha", "BTC/USDT")
    mids = history.mids[key]
    assert 55 <= len(mids) <= 61
    assert all(0.9 <= b - a <= 1.1 for a, b in zip(list(mids.ts), list(mids.ts)[1:]))
    assert mids.values[-1] == pytest.approx(runtime.instruments[key].book.mid(), rel=1e-3)
    volatility = history.volatility(key)
    assert volatility is not None and 0.05 < volatility < 5.0  # configured at 0.6 a year
    history.detach()
    assert history.on_batch not in runtime.consumers
