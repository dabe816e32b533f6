"""The key bar relabels its key widgets on a view switch: what it shows must be what a fresh one shows."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets._footer import FooterKey

from conftest import START_TS
from console.app import WatchfloorApp
from console.config import default_config_path, load_config
from console.widgets.footer import KeyFooter
from console.widgets.history import History
from console.wiring import simulated_runtime
from feeds.simulator import Simulator

SIZE = (160, 48)


def console_app() -> WatchfloorApp:
    """The default config, 20 s of market dispatched, no maker quoting (its keys are greyed)."""
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    history = History(runtime)
    history.attach()
    sim = Simulator(config.instruments, config.sim, START_TS, config.markets)
    for _ in range(200):
        runtime.dispatch(sim.step())
    app = WatchfloorApp(config, runtime, live=False, history=history)
    app.animation_level = "none"
    return app


def bottom_line(app: WatchfloorApp) -> str:
    """The key bar as the terminal receives it: text, colours and dim (greyed keys) as escape codes."""
    console = Console(width=SIZE[0], height=SIZE[1], file=io.StringIO(), record=True, force_terminal=True,
                      color_system="truecolor", legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=True).splitlines()[-1]


async def shown_after(keys: str) -> str:
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()
        line = bottom_line(app)
        await pilot.press("q")
    return line


async def test_after_rounds_of_view_switches_each_view_shows_the_keys_a_fresh_console_shows():
    for view in "1234":
        fresh = await shown_after(view)
        switched = await shown_after("2341234" + view)
        assert "Quit" in fresh and switched == fresh, f"view {view}"


async def test_view_switches_reuse_the_key_widgets():
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in "2341":
            await pilot.press(key)
            await pilot.pause()
        before = list(app.query_one(KeyFooter).query_children(FooterKey))
        for key in "2341":
            await pilot.press(key)
            await pilot.pause()
        after = list(app.query_one(KeyFooter).query_children(FooterKey))
        await pilot.press("q")
    assert after == before
