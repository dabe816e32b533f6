"""The key bar at the bottom, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's footer recomposes (unmounts and mounts a widget per key, then lays the screen out) every
    time bindings are refreshed: on each focus change and each `refresh_bindings`, which the views call when
    the selection moves. This one skips the recomposition when the keys it last composed are the keys it
    would show now (a key, its description or its greying changed: it recomposes)."""

    _keys: tuple | None = None  # what the last composition showed; None before the bindings were ready

    def compose(self) -> ComposeResult:
        self._keys = _shown_keys(self.screen) if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        if self._keys is not None and screen is self.screen and _shown_keys(screen) == self._keys:
            return
        super().bindings_changed(screen)


def _shown_keys(screen: Screen) -> tuple:
    return tuple((binding.key, binding.description, enabled)
                 for _, binding, enabled, _ in screen.active_bindings.values() if binding.show)
