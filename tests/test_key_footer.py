"""The key bar draws the keys as one line: it must show exactly what Textual's footer shows, follow view
switches, and press a key when it is clicked."""

from __future__ import annotations

from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual.widgets import Footer

from conftest import START_TS
import console.app
from console.app import THEMES, WatchfloorApp
from console.config import default_config_path, load_config
from console.widgets.footer import KeyFooter
from console.widgets.history import History
from console.wiring import simulated_runtime
from feeds.simulator import Simulator

SIZE = (160, 48)


class TextualFooterApp(WatchfloorApp):
    """The console with Textual's own footer in the key bar's place, styled as app.tcss styles the key bar."""

    CSS_PATH = Path(console.app.__file__).with_name("app.tcss")  # resolved from the subclass's module otherwise
    CSS = "Footer { background: $panel; }"

    def compose(self):
        for widget in super().compose():
            yield Footer(compact=True, show_command_palette=False) if isinstance(widget, KeyFooter) else widget


def console_app(app_type: type[WatchfloorApp] = WatchfloorApp) -> WatchfloorApp:
    """The default config, 20 s of market dispatched, no maker quoting (its keys are greyed)."""
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=0.0, start_ts=START_TS)
    history = History(runtime)
    history.attach()
    sim = Simulator(config.instruments, config.sim, START_TS, config.markets)
    for _ in range(200):
        runtime.dispatch(sim.step())
    app = app_type(config, runtime, live=False, history=history)
    app.animation_level = "none"
    return app


def bottom_line(app: WatchfloorApp) -> tuple[tuple[str, Style | None], ...]:
    """The key bar as the screen has it: each run of text with its style (colours, bold, dim of greyed keys).
    Styles rather than escape codes: Rich caches a style's codes for the first colour system it meets, and
    other tests of the same process print in 16 colours."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    segments = Segment.simplify(Segment(segment.text, segment.style and segment.style.clear_meta_and_links())
                                for strip in update.strips[-1] for segment in strip)  # meta: mouse offsets
    return tuple((segment.text, segment.style) for segment in segments)


def text_of(line: tuple[tuple[str, Style | None], ...]) -> str:
    return "".join(text for text, _ in line)


async def shown_after(keys: str, app_type: type[WatchfloorApp] = WatchfloorApp,
                      theme: str | None = None) -> tuple[tuple[str, Style | None], ...]:
    app = console_app(app_type)
    if theme is not None:
        app.theme = theme  # set, not cycled with T: its toast could cover the bar's end in one run and not the other
    async with app.run_test(size=SIZE) as pilot:
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()
        line = bottom_line(app)
        await pilot.press("q")
    return line


async def test_each_view_shows_its_keys_exactly_as_textuals_footer_does():
    """Same text and styles, greyed (dimmed) keys included, run for run, in each theme."""
    for keys, theme in [(view, None) for view in "1234"] + [("3", theme.name) for theme in THEMES[1:]]:
        ours = await shown_after(keys, theme=theme)
        assert "Kill switch" in text_of(ours) and ours == await shown_after(keys, TextualFooterApp, theme), f"{keys} {theme}"


async def test_after_rounds_of_view_switches_each_view_shows_the_keys_a_fresh_console_shows():
    for view in "1234":
        fresh = await shown_after(view)
        switched = await shown_after("2341234" + view)
        assert "Quit" in text_of(fresh) and switched == fresh, f"view {view}"


async def test_clicking_a_key_presses_it_and_a_greyed_one_rings_the_bell():
    app = console_app()
    rings = []
    app.bell = lambda: rings.append(app.screen)
    async with app.run_test(size=SIZE) as pilot:
        footer = app.query_one(KeyFooter)
        greyed = next(start for start, _, shown in footer._spans if shown.action == "defend")  # no maker here
        await pilot.click(KeyFooter, offset=(greyed, 0))
        await pilot.pause()
        assert rings == [app.screen] and app.screen.id == "_default"
        help_key = next(start for start, _, shown in footer._spans if shown.action == "help")
        await pilot.click(KeyFooter, offset=(help_key, 0))
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape", "q")


async def test_the_key_under_the_mouse_is_highlighted():
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        footer = app.query_one(KeyFooter)
        start, end, _ = footer._spans[1]
        before = footer.render_line(0)
        await pilot.hover(KeyFooter, offset=(start, 0))
        await pilot.pause()
        after = footer.render_line(0)
        changed = [x for x in range(SIZE[0]) if list(before.crop(x, x + 1)) != list(after.crop(x, x + 1))]
        await pilot.press("q")
    assert changed == list(range(start, end))
