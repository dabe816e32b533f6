"""The lines around every view: the header (views, market time), the DEFENSIVE banner and the status bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content

from console.runtime import Runtime
from console.widgets.fmt import fmt_rate, market_clock, market_datetime
from console.widgets.text import TextLine
from maker.engine import MakerEngine

MANUAL = "operator"  # defensive mode entered from the console carries the reason "operator <name>"

# Venue health as a short word, worst first: the status bar groups venues under these.
HEALTH_WORD = {"disconnected": "down", "gap": "gap", "stale": "stale", "halted": "halt", "waiting": "wait",
               "connected": "up", "resumed": "up"}
HEALTH_ORDER = ("down", "gap", "stale", "halt", "wait", "up")
HEALTH_STYLE = {"down": "bold $error", "gap": "bold $error", "stale": "bold $warning", "halt": "bold $warning",
                "wait": "$text-muted", "up": "$success"}
STORE_STYLE = {"error": "bold reverse $error", "read-only": "bold $warning"}
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


class DefensiveBanner(TextLine):
    """Across every view while any quoted instrument is defending: manual or triggered, by what, since when."""

    def sync(self, maker: MakerEngine | None) -> bool:
        """Show the maker's defensive mode; False when there is none (the app hides the banner)."""
        text = defence_text(maker) if maker is not None else None
        if text is not None:
            self.show(text)
        return text is not None


def defence_text(maker: MakerEngine) -> str | None:
    """"DEFENSIVE · manual by ana (2) · since 00:03:10 · 2/2 instruments · L leaves", or None."""
    reasons: dict[str, int] = {}
    since = None
    for quoted in maker.quoted.values():
        defence = quoted.defence
        if defence is not None:
            reasons[defence.reason] = reasons.get(defence.reason, 0) + 1
            since = defence.since if since is None else min(since, defence.since)
    if not reasons:
        return None
    causes = "; ".join(f"{_cause(reason)} ({count})" for reason, count in reasons.items())
    return (f"DEFENSIVE · {causes} · since {market_clock(since)} · {sum(reasons.values())}/{len(maker.quoted)} "
            "instruments · L leaves")


def _cause(reason: str) -> str:
    if reason.startswith(MANUAL):
        return f"manual by {reason[len(MANUAL):].strip() or 'the operator'}"
    return f"triggered by {reason}"


class StatusBar(TextLine):
    """Open alerts per severity, the store and notifier health, total events/s, venue health by word."""

    def __init__(self, runtime: Runtime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime

    def sync(self) -> None:
        runtime = self.runtime
        parts: list = []
        counts = runtime.engine.open_counts()
        for severity, letter, style in SEVERITY_COUNTS:
            parts += [(f"{letter}:{counts[severity]}", style if counts[severity] else ""), " "]
        parts += self._services()
        groups: dict[str, list[str]] = {}
        for health in runtime.health.values():
            groups.setdefault(HEALTH_WORD.get(health.state, health.state), []).append(health.name)
        rate = fmt_rate(sum(health.rate for health in runtime.health.values()))
        parts.append(f" {rate} ev/s  ")
        for word in sorted(groups, key=lambda w: HEALTH_ORDER.index(w) if w in HEALTH_ORDER else 0):
            parts += [(f"{word}:", HEALTH_STYLE.get(word, "bold $warning")), f" {' '.join(groups[word])}  "]
        self.show(Content.assemble(*parts))

    def _services(self) -> list:
        """The alert store's health (red when it cannot write) and undelivered notifications."""
        runtime = self.runtime
        parts: list = []
        if runtime.alert_store is not None:
            level, text = runtime.alert_store.status()
            parts.append((f" {text} ", STORE_STYLE.get(level, "$text-muted")))
        if runtime.notifier is not None and runtime.notifier.dead_letters:
            parts.append((f" dead letters:{runtime.notifier.dead_letters} ", "bold reverse $error"))
        return parts
