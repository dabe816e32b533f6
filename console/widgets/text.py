"""Helpers of the widgets that redraw ten times a second: a Static that repaints only on change, and a
style cache for Line-API widgets."""

from __future__ import annotations

from rich.cells import cell_len
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
    """Repaints only when its text changes (Content compares by text; styles here follow the words), and asks
    for a layout only when the new text can change its size: a layout reflows the whole screen, and the
    clock and the status bar change every frame."""

    _shown: Content | str | None = None

    def show(self, content: Content | str) -> None:
        if content != self._shown:
            layout = self._may_resize(content)
            self._shown = content
            self.update(content, layout=layout)

    def _may_resize(self, content: Content | str) -> bool:
        """Whether showing `content` instead of what is shown can change the widget's size: only if the CSS
        leaves its width or height to the text (`auto`), and then if the text's extent changes, or at any
        change when its lines wrap at a width of their own (the words decide how many lines there are)."""
        styles = self.styles
        auto_width = styles.width is not None and styles.width.is_auto
        auto_height = styles.height is not None and styles.height.is_auto
        if auto_height and not auto_width and styles.text_wrap != "nowrap":
            return True
        return (auto_width or auto_height) and _extent(content) != _extent(self._shown)


def _extent(content: Content | str | None) -> tuple[int, int]:
    """(widest line, lines) in terminal cells: what an auto-sized widget's size follows."""
    lines = str(content or "").split("\n")
    return max(cell_len(line) for line in lines), len(lines)
