"""The key bar at the bottom: one widget drawing one line, so a change of keys is a repaint, never a layout."""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget


GREYED = Style(dim=True)  # a key not allowed now, as Textual's footer shows it


class ShownKey(NamedTuple):
    """One key as Textual's footer shows it: the first binding of each action, greyed when not enabled."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str


class KeyFooter(Widget, can_focus=False):
    """The keys of the focused view, drawn as Textual's compact footer draws them ("key description", a space
    between keys, greyed keys dimmed), but as one line of one widget.

    Textual's footer is a container of a widget per key, each sized by its text: every view switch changed
    the keys, so every switch relaid the whole screen out a second time once the new key widths were known
    (after the first paint) and restyled the key widgets. Here the bar's size never changes, so new keys
    only repaint its line. Clicking a key presses it (a greyed one rings the bell), as in Textual's footer.
    Binding groups are shown as their keys, one by one (this console defines none)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--hover"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-footer--hover {
            background: $block-hover-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys: tuple[ShownKey, ...] = ()
        self._spans: list[tuple[int, int, ShownKey]] = []  # (first cell, end cell, key) of each key shown
        self._hovered: ShownKey | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self._show(shown_keys(self.screen))

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        """As Textual's footer: the keys do not follow the bindings while the terminal has lost focus."""
        if screen.app.app_focus and screen is self.screen and self.is_attached:
            self._show(shown_keys(screen))

    def _show(self, keys: tuple[ShownKey, ...]) -> None:
        if keys == self.keys:
            return
        self.keys, self._spans, start = keys, [], 0
        for shown in keys:
            end = start + cell_len(shown.display + _described(shown))
            self._spans.append((start, end, shown))
            start = end + 1  # the space between keys
        self._hover(None)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        hovered = Style(bgcolor=self.get_component_rich_style("key-footer--hover").bgcolor)
        blank = Style(bgcolor=base.bgcolor)  # spaces between keys and after them, as Textual fills them
        segments = []
        for shown in self.keys:
            if segments:
                segments.append(Segment(" ", blank))
            over = (Style() if shown.enabled else GREYED) + (hovered if shown is self._hovered else Style())
            segments.append(Segment(shown.display, base + key_style + over))
            if shown.description:
                segments.append(Segment(_described(shown), base + description_style + over))
        return Strip(segments).adjust_cell_length(self.size.width, blank)

    def _key_at(self, x: int) -> ShownKey | None:
        return next((shown for start, end, shown in self._spans if start <= x < end), None)

    def _hover(self, shown: ShownKey | None) -> None:
        if shown is not self._hovered:
            self._hovered = shown
            self.tooltip = None if shown is None else shown.tooltip or None
            self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover(self._key_at(event.x))

    def on_leave(self) -> None:
        self._hover(None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        shown = self._key_at(event.x)
        if shown is None:
            return
        if shown.enabled:
            self.app.simulate_key(shown.key)
        else:
            self.app.bell()


def _described(shown: ShownKey) -> str:
    """The text after the key: a space and the description, if it has one."""
    return f" {shown.description}" if shown.description else ""


def shown_keys(screen: Screen) -> tuple[ShownKey, ...]:
    """The keys Textual's footer shows on `screen`, in its order: the first binding of each action shown."""
    keys: dict[str, ShownKey] = {}
    for _, binding, enabled, tooltip in screen.active_bindings.values():
        if binding.show and binding.action not in keys:
            keys[binding.action] = ShownKey(binding.key, screen.app.get_key_display(binding), binding.description,
                                            binding.action, enabled, tooltip)
    return tuple(keys.values())
