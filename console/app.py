"""The Textual console: four views of one Runtime, redrawn on a timer, driven from the keyboard.

The runtime runs in the app's own asyncio loop (live mode); the screen never renders per event. A
timer at `ui.refresh_hz` asks the header, the defensive banner, the status bar and the visible view to
bring themselves in line with the runtime inside one `batch_update`, and each repaints only what
changed. With `live=False` (tests, screenshots) nothing is started and the app shows the runtime as it is.

Keys that act on the market maker or on alerts are greyed out in the footer when the current state does
not allow them; the kill switch (`x`, or ctrl+x while typing) works from every view and modal.
"""

from __future__ import annotations

import asyncio
from functools import partial

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import ContentSwitcher

from console.alert_services import operator_name
from console.config import Config, ConfigError
from console.gc_tuning import StreamingGc
from console.runtime import Runtime
from console.screens.confirm import ConfirmScreen
from console.screens.live_confirm import LiveConfirmScreen
from console.screens.palette import Command, ConsoleCommands
from console.stop_signals import stopping_on_signals
from console.terminal_loss import after_hangup
from console.widgets.alerts import ACKABLE, AlertsTable, AlertsView
from console.widgets.bars import DefensiveBanner, HeaderBar, StatusBar
from console.widgets.footer import KeyFooter
from console.widgets.book import BookView
from console.widgets.help import HelpScreen
from console.widgets.history import History
from console.widgets.maker import MakerView
from console.widgets.model import key_label
from console.widgets.radar import Radar
from detectors.alerts import Alert
from maker.live import live_venues

VIEWS = {"radar": "Radar", "book": "Book", "alerts": "Alerts", "maker": "Maker"}  # id -> title, keys 1..4
MOVEMENT = ("cursor_", "scroll", "page", "move", "first", "last", "step")  # left out of the palette: keys only
TOAST_S = 10.0

# Colours from the xterm-256 palette, so 256-colour terminals over SSH show them exactly.
WATCHFLOOR_THEME = Theme(
    name="watchfloor", dark=True,
    primary="#5FAFFF", secondary="#87AFD7", accent="#5FD7FF",
    success="#5FD75F", warning="#FFAF00", error="#FF5F5F",
    foreground="#D0D0D0", background="#121212", surface="#1C1C1C", panel="#262626",
)
# Pure black and white with the brightest signal colours, for glare, projectors and tired eyes.
CONTRAST_THEME = Theme(
    name="watchfloor-contrast", dark=True,
    primary="#00FFFF", secondary="#FFFFFF", accent="#FFFF00",
    success="#00FF00", warning="#FFFF00", error="#FF0000",
    foreground="#FFFFFF", background="#000000", surface="#000000", panel="#303030",
    variables={"text-muted": "#FFFFFF", "footer-key-foreground": "#FFFF00"},
)
# The terminal's own 16 colours (ANSI), for terminals and multiplexers without 256 colours.
SIXTEEN_THEME = Theme(
    name="watchfloor-16", dark=True, ansi=True,
    primary="ansi_bright_blue", secondary="ansi_cyan", accent="ansi_bright_cyan",
    success="ansi_green", warning="ansi_yellow", error="ansi_red",
    foreground="ansi_default", background="ansi_default", surface="ansi_default", panel="ansi_default",
    boost="ansi_default",
    variables={"ansi-background": "ansi_black", "ansi-foreground": "ansi_white",
               "block-cursor-foreground": "ansi_black", "block-cursor-background": "ansi_white",
               "input-cursor-background": "ansi_black", "input-cursor-foreground": "ansi_bright_white",
               "input-selection-background": "ansi_bright_blue", "input-selection-foreground": "ansi_black"},
)
THEMES = (WATCHFLOOR_THEME, CONTRAST_THEME, SIXTEEN_THEME)


class ConsoleScreen(Screen, inherit_bindings=False):
    """The main screen, without Textual's tab focus cycling and text-selection copy: each view has one
    focus target, `tab` belongs to the book view and `ctrl+c` quits."""


class WatchfloorApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Watchfloor"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS = [
        Binding("1", "show_view('radar')", "Radar view", show=False),
        Binding("2", "show_view('book')", "Book view", show=False),
        Binding("3", "show_view('alerts')", "Alerts view", show=False),
        Binding("4", "show_view('maker')", "Maker view", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("colon", "command_palette", "Commands", show=False),
        Binding("ctrl+p", "command_palette", "Commands", priority=True, show=False),
        Binding("D", "defend", "Defensive"),
        Binding("L", "leave_defence", "Leave defensive", show=False),
        Binding("x,ctrl+x", "kill_switch", "Kill switch", priority=True),
        Binding("T", "cycle_theme", "Next theme", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", priority=True, show=False),
    ]

    def __init__(self, config: Config, runtime: Runtime, duration: float | None = None, live: bool = True,
                 history: History | None = None) -> None:
        """`history`: one already following the runtime (tests advance a runtime before the app exists);
        by default the app starts its own, which must happen before the runtime's first event."""
        super().__init__()
        self.config = config
        self.runtime = runtime
        self.duration = duration
        self.live = live
        self.view = "radar"
        self.operator = operator_name(config)
        self._owns_history = history is None
        self.history = history or History(runtime)
        if self._owns_history:
            self.history.attach()
        self._runtime_task: asyncio.Task | None = None
        self._alarms: list[Alert] = []  # critical alerts opened or escalated since the last frame
        self._unacked: dict[str, Alert] = {}  # critical alerts nobody has acknowledged yet
        self._bindings_state: tuple | None = None
        self._gc = StreamingGc()  # live only: see console.gc_tuning
        self._views_shown: set[str] = set()
        for theme in THEMES:
            self.register_theme(theme)
        if config.ui.theme not in self.available_themes:
            raise ConfigError(config.path, None, "ui.theme", f"unknown theme {config.ui.theme!r} "
                              f"(expected one of: {', '.join(sorted(self.available_themes))})")
        self.theme = config.ui.theme

    def get_default_screen(self) -> Screen:
        return ConsoleScreen(id="_default")

    def compose(self) -> ComposeResult:
        runtime = self.runtime
        store = runtime.alert_store.path if runtime.alert_store is not None else None
        yield HeaderBar(VIEWS, id="header")
        yield DefensiveBanner(id="defensive")
        with ContentSwitcher(initial=self.view, id="views"):
            yield Radar(runtime, id="radar")
            yield BookView(runtime, self.history, id="book")
            yield AlertsView(runtime.engine, self.history, self.operator, store, id="alerts")
            yield MakerView(runtime.maker, self.history, id="maker")
        yield StatusBar(runtime, id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        engine = self.runtime.engine
        engine.listeners.append(self._on_alert)
        for alert in engine.history:  # restored from the store: still waiting for someone
            self._watch_critical(alert)
        self._frame()
        self._focus_view()
        self.set_interval(1.0 / self.config.ui.refresh_hz, self._next_frame)
        if self.config.ui.renotify_s > 0:
            self.set_interval(self.config.ui.renotify_s, self._remind)
        if self.live:
            self._gc.start()
            self._settle_after_first_paint(self.view)
            self.set_interval(1.0, self.runtime.refresh_rates)
            self._runtime_task = asyncio.create_task(self._drive(), name="runtime")
        self._confirm_live_quoting()

    def _confirm_live_quoting(self) -> None:
        """Live quoting sends nothing until the operator types the confirmation; escape quits without trading."""
        maker = self.runtime.maker
        venues = [] if maker is None else live_venues(maker.orders.exchange)
        if not venues or all(venue.armed for venue in venues):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                for venue in venues:
                    venue.arm()
            else:
                self.exit(message="watchfloor: live quoting not confirmed; no order was sent")

        self.push_screen(LiveConfirmScreen.for_venues(venues), answered)

    async def on_unmount(self) -> None:
        """Stop the runtime's sources before the loop goes away."""
        self.runtime.engine.listeners.remove(self._on_alert)
        if self._owns_history:
            self.history.detach()
        if self._runtime_task is not None:
            self._runtime_task.cancel()
            await asyncio.gather(self._runtime_task, return_exceptions=True)
        self._gc.stop()

    async def _drive(self) -> None:
        """Run the runtime; when it stops by itself (duration over, recordings done) the console ends too.

        SIGTERM and SIGHUP (an SSH disconnect) stop it the same way, so services stop in order: a live
        maker's orders are cancelled and the store is committed before the console goes (console.stop_signals).
        """
        try:
            with stopping_on_signals(self.runtime.stop, on_hangup=partial(after_hangup, self)):
                await self.runtime.run(self.duration)
        except Exception as exc:  # a failed source: one line on exit rather than a traceback
            self.exit(return_code=1, message=f"watchfloor: the feed stopped: {exc}")
        else:
            self.exit()

    # -- critical alerts: toast and bell until acknowledged -----------------------------------------------
    def _on_alert(self, alert: Alert, change: str) -> None:
        """Runs per alert change, so it only takes note; the next frame tells the operator."""
        if alert.severity == "critical" and change in ("opened", "escalated"):
            self._alarms.append(alert)
        self._watch_critical(alert)

    def _watch_critical(self, alert: Alert) -> None:
        if alert.severity == "critical" and alert.state in ACKABLE:
            self._unacked[alert.id] = alert
        else:
            self._unacked.pop(alert.id, None)

    def _sound(self, title: str, message: str) -> None:
        if self.config.ui.toast:
            self.notify(message, title=title, severity="error", timeout=TOAST_S)
        if self.config.ui.bell:
            self.bell()

    def _announce(self) -> None:
        alarms, self._alarms = self._alarms, []
        if len(alarms) == 1:
            alert = alarms[0]
            self._sound(f"CRITICAL {alert.kind}", f"{key_label(alert.venue, alert.symbol)}: {alert.message}")
        elif alarms:
            self._sound(f"{len(alarms)} CRITICAL alerts", ", ".join(sorted({a.kind for a in alarms})))

    def _remind(self) -> None:
        """Every `ui.renotify_s`: still unacknowledged critical alerts ring again."""
        waiting = [alert for alert in self._unacked.values() if alert.state in ACKABLE]
        if waiting and self.is_running:
            self._sound(f"{len(waiting)} critical unacknowledged", "view 3, select it, press a to acknowledge")

    # -- frames ---------------------------------------------------------------------------------------------
    def _next_frame(self) -> None:
        """The frame timer, which can still fire while the app shuts down and its widgets are gone."""
        if self.is_running:
            self._frame()
            self.call_after_refresh(self._gc.collect_between_frames)

    def _frame(self) -> None:
        """One redraw: the header, the banner, the status bar and the visible view, as one screen update."""
        with self.batch_update():
            self.query_one(HeaderBar).sync(self.view, self.runtime.market_time)
            self.set_class(self.query_one(DefensiveBanner).sync(self.runtime.maker), "-defensive")
            self.query_one(StatusBar).sync()
            self.query_one(f"#{self.view}").sync()
            maker = self.runtime.maker
            state = None if maker is None else (maker.defensive, all(q.defence for q in maker.quoted.values()))
            if state != self._bindings_state:
                self._bindings_state = state
                self.refresh_bindings()
        if self._alarms:
            self._announce()

    def _focus_target(self, view: str) -> Widget:
        """The widget that takes the keys in `view` (the tables in the alerts and maker views)."""
        if view == "alerts":
            return self.query_one(AlertsTable)
        if view == "maker":
            return self.query_one("#maker-table")
        return self.query_one(f"#{view}")

    def _view_nodes(self, view: str) -> list[DOMNode]:
        """The nodes whose bindings make up a view's keys: the view, and its focus target if that is another."""
        container, target = self.query_one(f"#{view}"), self._focus_target(view)
        return [container] if container is target else [container, target]

    def _focus_view(self) -> None:
        self._focus_target(self.view).focus()

    # -- views ----------------------------------------------------------------------------------------------
    def action_show_view(self, view: str) -> None:
        self.view = view
        self.query_one(ContentSwitcher).current = view
        self._focus_view()
        self._frame()
        self._settle_after_first_paint(view)

    def _settle_after_first_paint(self, view: str) -> None:
        if view not in self._views_shown:
            self._views_shown.add(view)
            self.call_after_refresh(self._gc.settle)

    def action_help(self) -> None:
        sections = [("Global", [self, self.screen])] + [(title, self._view_nodes(view))
                                                         for view, title in VIEWS.items()]
        self.push_screen(HelpScreen(sections))

    def action_cycle_theme(self) -> None:
        names = [theme.name for theme in THEMES]
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.notify(f"theme {self.theme}")

    def on_radar_open_book(self, message: Radar.OpenBook) -> None:
        self.query_one(BookView).show(message.key)
        self.action_show_view("book")

    # -- the command palette ----------------------------------------------------------------------------------
    def palette_commands(self) -> list[Command]:
        """Every action a key runs (but plain movement), titled by where it applies and what it does."""
        commands = []
        for view in VIEWS:  # hidden views are not kept current: bring them up to date to say what is allowed
            self.query_one(f"#{view}").sync()
        scopes = [("Global", None, [self])] + [(title, view, self._view_nodes(view)) for view, title in VIEWS.items()]
        for title, view, nodes in scopes:
            seen = set()
            for node in nodes:
                for key, binding in node._bindings:
                    action = binding.action
                    if action in seen or action == "command_palette" or action.startswith(MOVEMENT):
                        continue
                    seen.add(action)
                    keys = " ".join(self.get_key_display(b) for _, b in node._bindings if b.action == action)
                    enabled = self._check_action_state(action, node) is True
                    help_text = f"key {keys}" + ("" if enabled else " · not available now")
                    commands.append(Command(f"{title}: {binding.description}", help_text,
                                            partial(self._run_command, view, node, action)))
        return commands

    async def _run_command(self, view: str | None, node: DOMNode, action: str) -> None:
        if view is not None and view != self.view:
            self.action_show_view(view)
        if not await self.run_action(action, node):
            self.notify("not available now", title=action.replace("_", " "), severity="warning")

    # -- the market maker: defensive mode, kill switch --------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Greyed out (None) when the maker is missing or already in the state the key asks for."""
        maker = self.runtime.maker
        if action == "defend":
            return maker is not None and not all(q.defence for q in maker.quoted.values()) or None
        if action == "leave_defence":
            return maker is not None and maker.defensive or None
        if action == "kill_switch":
            return maker is not None or None
        return True

    def action_defend(self) -> None:
        maker = self.runtime.maker

        def answered(yes: bool | None) -> None:
            if yes:
                maker.enter_defensive(None, f"operator {self.operator}")
                self._frame()

        action = maker.settings.defence.action
        what = ("pull every quote" if action == "pull" else
                f"widen every quote x{maker.settings.defence.widen_multiplier:g}")
        self.push_screen(ConfirmScreen("defensive mode", f"Enter defensive mode on all {len(maker.quoted)} quoted "
                                       f"instruments? It will {what} and cut positions by "
                                       f"{maker.settings.defence.reduce_share:.0%}. Only L leaves it."), answered)

    def action_leave_defence(self) -> None:
        maker = self.runtime.maker

        def answered(yes: bool | None) -> None:
            if yes:
                maker.leave_defensive(None)
                self.notify("defensive mode left: normal quoting resumes")
                self._frame()

        self.push_screen(ConfirmScreen("leave defensive mode",
                                       "Leave defensive mode and quote normally again on every instrument?"),
                         answered)

    def action_kill_switch(self) -> None:
        """No question asked: stop quoting everywhere and cancel every order, now."""
        maker = self.runtime.maker
        working = len(maker.orders.orders)
        maker.cancel_all()
        self.notify(f"quoting stopped everywhere; cancel sent for {working} working orders",
                    title="KILL SWITCH", severity="error", timeout=TOAST_S)
        self._frame()

    async def action_quit(self) -> None:
        """Quit; while the maker quotes, ask first, and cancel every order before leaving."""
        maker = self.runtime.maker
        quoting = [key for key, q in maker.quoted.items() if q.quoting] if maker is not None else []
        if not quoting:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return  # ctrl+c again while the question is open: it still wants an answer

        def answered(yes: bool | None) -> None:
            if yes:
                maker.cancel_all()
                self.exit()

        self.push_screen(ConfirmScreen("quit while quoting",
                                       f"{len(quoting)} instruments are quoting with {len(maker.orders.orders)} "
                                       "working orders. Cancel every order and quit?"), answered)
