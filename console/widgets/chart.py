"""Small line charts drawn by plotext: panels stacked in one widget, rebuilt only when data or size change.

A build takes milliseconds, not microseconds, so callers hand over new data at most about once a
second (see `Chart.show`); long series are thinned to what the width can show.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import plotext
from rich.text import Text
from textual.widget import Widget

MIN_INTERVAL_S = 1.0  # a chart rebuilds at most this often from new data (a resize redraws at once)
PANEL_CHROME = 2  # title and bottom axis lines around each panel's plot rows
MIN_PLOT_ROWS = 2


class Line(NamedTuple):
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    marker: str = "braille"  # a different marker per line keeps lines apart without colour


class Panel(NamedTuple):
    title: str
    lines: tuple[Line, ...]


def thin(xs: tuple[float, ...], ys: tuple[float, ...], limit: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """At most `limit` points, evenly picked, always keeping the last."""
    if len(xs) <= limit:
        return xs, ys
    step = len(xs) / limit
    picks = sorted({min(int(i * step), len(xs) - 1) for i in range(limit)} | {len(xs) - 1})
    return tuple(xs[i] for i in picks), tuple(ys[i] for i in picks)


def render_panels(panels: tuple[Panel, ...], width: int, height: int) -> Text:
    """The panels stacked in `width` x `height` cells, as styled text; a note when there is nothing to draw."""
    drawable = [panel for panel in panels if any(line.xs for line in panel.lines)]
    if not drawable or width < 10 or height < PANEL_CHROME + MIN_PLOT_ROWS:
        return Text("\n".join(f"{panel.title}: no data yet" for panel in panels))
    fit = max(1, height // (PANEL_CHROME + MIN_PLOT_ROWS))
    drawable = drawable[:fit]
    figure = plotext.figure  # one build at a time on the event loop, so the shared figure is safe to reuse
    figure.clear()
    figure.plot_size(width, height)
    if len(drawable) > 1:  # plotext has no 1x1 grid: one panel is drawn on the figure itself
        figure.subplots(len(drawable), 1)
    for row, panel in enumerate(drawable, start=1):
        plot = figure.subplot(row, 1) if len(drawable) > 1 else figure
        plot.theme("simple")  # no background: the terminal's (and the app theme's) shows through
        plot.title(panel.title)
        plot.legend(False)
        plot.axes(False, axis="x", side="upper")
        plot.ruler("x").frequency(0)
        plot.ruler("y").frequency(2)
        for line in panel.lines:
            if line.xs:
                xs, ys = thin(line.xs, line.ys, 2 * width)
                signal = plot.signal(list(xs), list(ys), marker=line.marker)
                signal.lines()
                plot.draw(signal)
    return Text.from_ansi(figure.build().string())


class Chart(Widget):
    """Stacked plotext panels; `show` new data as often as you like, it rebuilds at most once a second."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._panels: tuple[Panel, ...] = ()
        self._built: tuple[tuple[Panel, ...], tuple[int, int], Text] | None = None
        self._shown_at = float("-inf")

    def show(self, panels: tuple[Panel, ...], force: bool = False) -> None:
        """New data; drawn now if the last drawing is older than MIN_INTERVAL_S (or `force`), else later."""
        now = time.monotonic()
        if panels == self._panels or (not force and self._panels and now - self._shown_at < MIN_INTERVAL_S):
            return
        self._panels = panels
        self._shown_at = now
        self.refresh()

    def render(self) -> Text:
        size = (self.size.width, self.size.height)
        built = self._built
        if built is None or built[0] != self._panels or built[1] != size:
            built = self._built = (self._panels, size, render_panels(self._panels, *size))
        return built[2]
