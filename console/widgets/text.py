"""Helpers of the widgets that redraw ten times a second: a Static that repaints only on change, and a
style cache for Line-API widgets."""

from __future__ import annotations

from rich.style import Style
from textual.content import Content
from textual.widgets import Static


class BaseStyleCache:
    """For Line-API widgets: `base_style` and `component_style` are worked out once per style change rather
    than once per line (Textual walks the DOM for them, which showed as the top cost of a repaint)."""

    _base_style: Style | None = None
    _style_memo: dict[str, Style] | None = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None
        self._style_memo = None

    def component_style(self, name: str) -> Style:
        """`get_component_rich_style(name)`, remembered until the styles change."""
        styles = self._style_memo
        if styles is None:
            styles = self._style_memo = {}
        style = styles.get(name)
        if style is None:
            style = styles[name] = self.get_component_rich_style(name)
        return style

    @property
    def base_style(self) -> Style:
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style


class TextLine(Static):
    """Repaints only when its text changes (Content compares by text; styles here follow the words)."""

    _shown: Content | str | None = None

    def show(self, content: Content | str) -> None:
        if content != self._shown:
            self._shown = content
            self.update(content)
