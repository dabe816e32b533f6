"""The key bar at the bottom: its key widgets are relabelled in place when the keys it shows change."""

from __future__ import annotations

from typing import NamedTuple

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class ShownKey(NamedTuple):
    """One key as Textual's footer shows it: the first binding of each action, greyed when not enabled."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str


class KeyFooter(Footer):
    """Textual's footer recomposes on every change of the keys it shows: it unmounts every key widget and
    mounts and styles new ones. Each view has its own keys, so that ran on every view switch; with the feed
    stopped, a view switch cost 57-62 ms of CPU with it and 42-50 ms with this footer, which composes once,
    then relabels the key widgets it has, hides the ones it no longer needs and mounts only what is missing.
    Keys in binding groups and the command palette's key (drawn apart) are left to Textual's recomposition."""

    _keys: tuple[ShownKey, ...] | None = None  # what is shown; None before the first composition or if grouped

    def compose(self) -> ComposeResult:
        self._keys = shown_keys(self.screen) if self._bindings_ready and not self._palette_key_shown() else None
        yield from super().compose()

    def watch_compact(self, compact: bool) -> None:
        for widget in self.query_children(FooterKey):
            widget.compact = compact

    def bindings_changed(self, screen: Screen) -> None:
        keys = shown_keys(screen) if screen is self.screen and self.is_attached else None
        if keys is None or self._keys is None or not screen.app.app_focus or self._palette_key_shown():
            super().bindings_changed(screen)
        elif keys != self._keys:
            self._keys = keys
            self._relabel(keys)

    def _palette_key_shown(self) -> bool:
        return self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE

    def _relabel(self, keys: tuple[ShownKey, ...]) -> None:
        """Show `keys` on the key widgets in place, in order; spare widgets are hidden, missing ones mounted."""
        widgets = list(self.query_children(FooterKey))
        for widget, shown in zip(widgets, keys):
            widget.key, widget.key_display, widget.description = shown.key, shown.display, shown.description
            widget.action, widget._disabled = shown.action, not shown.enabled
            widget.tooltip = shown.tooltip or None
            widget.set_class(not shown.enabled, "-disabled")
            widget.display = True
            widget.refresh(layout=True)  # its width follows its text
        for widget in widgets[len(keys):]:
            widget.display = False
        for shown in keys[len(widgets):]:
            # as Textual's compose makes them, but for `data_bind`, which only works inside the footer's compose
            widget = FooterKey(shown.key, shown.display, shown.description, shown.action,
                               disabled=not shown.enabled, tooltip=shown.tooltip)
            widget.compact = self.compact
            self.mount(widget)


def shown_keys(screen: Screen) -> tuple[ShownKey, ...] | None:
    """The keys Textual's footer would show on `screen`, in its order; None if some are in a binding group."""
    keys: dict[str, ShownKey] = {}
    for _, binding, enabled, tooltip in screen.active_bindings.values():
        if binding.show and binding.group is not None:
            return None
        if binding.show and binding.action not in keys:
            keys[binding.action] = ShownKey(binding.key, screen.app.get_key_display(binding), binding.description,
                                            binding.action, enabled, tooltip)
    return tuple(keys.values())
