"""The Textual console: four views of one Runtime, redrawn on a timer, driven from the keyboard.

The runtime runs in the app's own asyncio loop (live mode); the screen never renders per event. A
timer at `ui.refresh_hz` asks the header, the status bar and the visible view to bring themselves in
line with the runtime inside one `batch_update`, and each repaints only what changed. With
`live=False` (tests, screenshots) nothing is started and the app shows the runtime as it is.
"""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import ContentSwitcher

from console.config import Config, ConfigError
from console.runtime import Runtime
from console.widgets.alerts import AlertsTable
from console.widgets.bars import DefensiveBanner, HeaderBar, StatusBar
from console.widgets.book import BookView
from console.widgets.help import HelpScreen
from console.widgets.maker import MakerView
from console.widgets.radar import Radar
from detectors.alerts import Alert

VIEWS = {"radar": "Radar", "book": "Book", "alerts": "Alerts", "maker": "Maker"}  # id -> title, keys 1..4

# Colours from the xterm-256 palette, so 256-colour terminals over SSH show them exactly.
WATCHFLOOR_THEME = Theme(
    name="watchfloor", dark=True,
    primary="#5FAFFF", secondary="#87AFD7", accent="#5FD7FF",
    success="#5FD75F", warning="#FFAF00", error="#FF5F5F",
    foreground="#D0D0D0", background="#121212", surface="#1C1C1C", panel="#262626",
)


class ConsoleScreen(Screen, inherit_bindings=False):
    """The main screen, without Textual's tab focus cycling and text-selection copy: each view has one
    focus target, `tab` belongs to the book view and `ctrl+c` quits."""


class WatchfloorApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Watchfloor"
    BINDINGS = [
        Binding("1", "show_view('radar')", "Radar view"),
        Binding("2", "show_view('book')", "Book view"),
        Binding("3", "show_view('alerts')", "Alerts view"),
        Binding("4", "show_view('maker')", "Maker view"),
        Binding("question_mark", "help", "This help"),
        Binding("ctrl+p", "command_palette", "Command palette", priority=True),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", priority=True),
    ]

    defensive: reactive[bool] = reactive(False)  # the maker's defensive mode; shows the red banner

    def __init__(self, config: Config, runtime: Runtime, duration: float | None = None, live: bool = True) -> None:
        super().__init__()
        self.config = config
        self.runtime = runtime
        self.duration = duration
        self.live = live
        self.view = "radar"
        self._runtime_task: asyncio.Task | None = None
        self._bell_due = False
        self.register_theme(WATCHFLOOR_THEME)
        if config.ui.theme not in self.available_themes:
            raise ConfigError(config.path, None, "ui.theme", f"unknown theme {config.ui.theme!r} "
                              f"(expected one of: {', '.join(sorted(self.available_themes))})")
        self.theme = config.ui.theme

    def get_default_screen(self) -> Screen:
        return ConsoleScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield HeaderBar(VIEWS, id="header")
        yield DefensiveBanner(id="defensive")
        with ContentSwitcher(initial=self.view, id="views"):
            yield Radar(self.runtime, id="radar")
            yield BookView(self.runtime, id="book")
            yield AlertsTable(self.runtime.engine, id="alerts")
            yield MakerView(self.runtime, self.config.maker, id="maker")
        yield StatusBar(self.runtime, id="status")

    def on_mount(self) -> None:
        self.runtime.engine.listeners.append(self._on_alert)
        self._frame()
        self._focus_view()
        self.set_interval(1.0 / self.config.ui.refresh_hz, self._frame)
        if self.live:
            self.set_interval(1.0, self.runtime.refresh_rates)
            self._runtime_task = asyncio.create_task(self._drive(), name="runtime")

    async def on_unmount(self) -> None:
        """Stop the runtime's sources before the loop goes away."""
        self.runtime.engine.listeners.remove(self._on_alert)
        if self._runtime_task is not None:
            self._runtime_task.cancel()
            await asyncio.gather(self._runtime_task, return_exceptions=True)

    async def _drive(self) -> None:
        """Run the runtime; when it stops by itself (duration over, recordings done) the console ends too."""
        try:
            await self.runtime.run(self.duration)
        except Exception as exc:  # a failed source: one line on exit rather than a traceback
            self.exit(return_code=1, message=f"watchfloor: the feed stopped: {exc}")
        else:
            self.exit()

    def _on_alert(self, alert: Alert, change: str) -> None:
        """Runs per alert change, so it only notes the bell; the next frame rings it."""
        if alert.severity == "critical" and change in ("opened", "escalated"):
            self._bell_due = True

    def _frame(self) -> None:
        """One redraw: the header, the status bar and the visible view, as one screen update."""
        with self.batch_update():
            self.query_one(HeaderBar).sync(self.view, self.runtime.market_time)
            self.query_one(StatusBar).sync()
            self.query_one(f"#{self.view}").sync()
        if self._bell_due:
            self._bell_due = False
            if self.config.ui.bell:
                self.bell()

    def _focus_target(self, view: str) -> Widget:
        """The widget that takes the keys in `view` (the maker view's table, the view itself otherwise)."""
        return self.query_one("#maker-table") if view == "maker" else self.query_one(f"#{view}")

    def _focus_view(self) -> None:
        self._focus_target(self.view).focus()

    # -- actions ------------------------------------------------------------------------------------
    def action_show_view(self, view: str) -> None:
        self.view = view
        self.query_one(ContentSwitcher).current = view
        self._focus_view()
        self._frame()

    def action_help(self) -> None:
        sections = [("Global", [self, self.screen])] + [(title, [self._focus_target(view)])
                                                         for view, title in VIEWS.items()]
        self.push_screen(HelpScreen(sections))

    def on_radar_open_book(self, message: Radar.OpenBook) -> None:
        self.query_one(BookView).show(message.key)
        self.action_show_view("book")

    def watch_defensive(self, defensive: bool) -> None:
        self.set_class(defensive, "-defensive")  # app.tcss shows the banner under this class
