"""The lines around every view: the header (views, market time), the DEFENSIVE banner and the status bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from console.runtime import Runtime
from console.widgets.fmt import fmt_rate, market_datetime
from console.widgets.text import TextLine

# Venue health as a short word, worst first: the status bar groups venues under these.
HEALTH_WORD = {"disconnected": "down", "gap": "gap", "stale": "stale", "halted": "halt", "waiting": "wait",
               "connected": "up", "resumed": "up"}
HEALTH_ORDER = ("down", "gap", "stale", "halt", "wait", "up")
HEALTH_STYLE = {"down": "bold $error", "gap": "bold $error", "stale": "bold $warning", "halt": "bold $warning",
                "wait": "$text-muted", "up": "$success"}
SEVERITY_COUNTS = (("critical", "C", "bold $error"), ("warning", "W", "bold $warning"), ("info", "I", "$primary"))


class HeaderBar(Horizontal):
    """The app name, the views with the current one marked, and market time (never the wall clock)."""

    def __init__(self, views: dict[str, str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views = views  # view id -> title, in key order 1..n

    def compose(self) -> ComposeResult:
        yield TextLine(id="header-views")
        yield TextLine(id="header-clock")

    def sync(self, current: str, market_time: float) -> None:
        parts: list = [(" WATCHFLOOR ", "bold reverse")]
        for number, (view, title) in enumerate(self.views.items(), start=1):
            if view == current:  # brackets as well as colour, for monochrome terminals
                parts += [" ", (f"[{number} {title}]", "bold reverse $accent")]
            else:
                parts += [" ", (f" {number} {title} ", "$text-muted")]
        self.query_one("#header-views", TextLine).show(Content.assemble(*parts))
        self.query_one("#header-clock", TextLine).show(
            market_datetime(market_time) if market_time > 0 else "waiting for market data")


class DefensiveBanner(Static):
    """Shown while the app's `defensive` flag is set (the market maker drives it)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("DEFENSIVE", id=id)


class StatusBar(TextLine):
    """Venue health grouped by word, total events/s, open alerts per severity."""

    def __init__(self, runtime: Runtime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime

    def sync(self) -> None:
        runtime = self.runtime
        groups: dict[str, list[str]] = {}
        for health in runtime.health.values():
            groups.setdefault(HEALTH_WORD.get(health.state, health.state), []).append(health.name)
        rate = fmt_rate(sum(health.rate for health in runtime.health.values()))
        counts = runtime.engine.open_counts()
        parts: list = []
        for word in sorted(groups, key=lambda w: HEALTH_ORDER.index(w) if w in HEALTH_ORDER else 0):
            parts += [(f"{word}:", HEALTH_STYLE.get(word, "bold $warning")), f" {' '.join(groups[word])}  "]
        parts.append(f"{rate} ev/s  ")
        for severity, letter, style in SEVERITY_COUNTS:
            parts += [(f"{letter}:{counts[severity]}", style if counts[severity] else ""), " "]
        self.show(Content.assemble(*parts))
