"""Focus changes skip the restyle of views whose CSS ignores focus, but a `:focus` rule for them still works."""

from __future__ import annotations

from pathlib import Path

from rich.color import Color
from rich.style import Style

import console.app
from test_key_footer import SIZE, console_app
from console.app import WatchfloorApp

RED = Color.parse("#FF0000")  # the background a :focus rule gives the radar's cursor row


class FocusStyledRadarApp(WatchfloorApp):
    """The console with a rule that styles the radar by its focus, as an operator's own CSS could."""

    CSS_PATH = Path(console.app.__file__).with_name("app.tcss")
    CSS = "Radar:focus > .radar--cursor { background: #FF0000; }"


def screen_segments(app: WatchfloorApp) -> list[tuple[str, Style | None]]:
    """Every run of text on screen with its style (styles, not escape codes: Rich caches a style's codes for
    the first colour system it meets)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return [(segment.text, segment.style) for line in update.strips for strip in line for segment in strip]


def shows_red(app: WatchfloorApp) -> bool:
    return any(style is not None and style.bgcolor == RED for _, style in screen_segments(app))


async def before_and_after_a_round_of_views(app: WatchfloorApp, look):
    """What `look(app)` sees on the radar at start, and again after visiting every other view and coming back."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = look(app)
        for key in "2341":
            await pilot.press(key)
            await pilot.pause()
        after = look(app)
        await pilot.press("q")
    return before, after


async def test_a_focus_rule_for_the_radar_is_applied_when_it_takes_the_focus():
    focused, refocused = await before_and_after_a_round_of_views(console_app(FocusStyledRadarApp), shows_red)
    assert focused and refocused


async def test_without_such_a_rule_the_radar_looks_the_same_after_a_round_of_views():
    before, after = await before_and_after_a_round_of_views(console_app(), screen_segments)
    assert after == before
