"""The key bar at the bottom: its key widgets are relabelled in place when the keys it shows change."""

from __future__ import annotations

from typing import NamedTuple

from textual.app import ComposeResult
from textual.geometry import Size
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
    """Textual's footer recomposes on every change of the keys it shows: it unmounts every key widget, mounts
    new ones (each styled from scratch) and lays the screen out again, once for the removal and once for the
    mount. Each view has its own keys, so on a view switch that was a third of the console's CPU
    (`watchfloor bench --ui`). This footer composes once, then relabels the key widgets it has, hides the ones
    it no longer needs and mounts only what is missing: one layout, together with the view's own. Keys in
    binding groups (which Textual draws grouped) are left to Textual's recomposition."""

    _keys: tuple[ShownKey, ...] | None = None  # what is shown; None before the first composition or if grouped

    def compose(self) -> ComposeResult:
        self._keys = shown_keys(self.screen) if self._bindings_ready and not self._palette_key_shown() else None
        if self._keys is None:
            yield from super().compose()
        else:
            yield from (key_widget(shown, self.compact) for shown in self._keys)

    def watch_compact(self, compact: bool) -> None:
        for widget in self.query_children(KeySlot):
            widget.compact = compact

    def bindings_changed(self, screen: Screen) -> None:
        keys = shown_keys(screen) if screen is self.screen and self.is_attached else None
        if keys is None or self._keys is None or not screen.app.app_focus or self._palette_key_shown():
            super().bindings_changed(screen)
        elif keys != self._keys:
            self._keys = keys
            self._relabel(keys)

    def _palette_key_shown(self) -> bool:
        """Textual docks the command palette's key on the right, a widget apart: left to its recomposition."""
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
        if len(keys) > len(widgets):
            self.mount(*(key_widget(shown, self.compact) for shown in keys[len(widgets):]))


class KeySlot(FooterKey):
    """A footer key whose new width does not ask for a second layout of the screen. Textual lays the screen
    out again whenever a widget's size changed in a layout, in case its children depend on it; a key has
    none, and the layout that changed its width has already placed the keys after it."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)


def key_widget(shown: ShownKey, compact: bool) -> KeySlot:
    """Textual's footer binds each key's `compact` to its own with `data_bind`, which only works while the
    footer runs (its compose); keys are also made from a key handler, so the footer passes it on itself."""
    widget = KeySlot(shown.key, shown.display, shown.description, shown.action, disabled=not shown.enabled,
                     tooltip=shown.tooltip)
    widget.compact = compact
    return widget


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
