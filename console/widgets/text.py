"""A one-purpose Static for text that frames re-send ten times a second."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class TextLine(Static):
    """Repaints only when its text changes (Content compares by text; styles here follow the words)."""

    _shown: Content | str | None = None

    def show(self, content: Content | str) -> None:
        if content != self._shown:
            self._shown = content
            self.update(content)
