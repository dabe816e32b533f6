"""The lines around every view: the header (views, market time), the DEFENSIVE banner and the status bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content

from console.runtime import Runtime
from console.widgets.fmt import fmt_rate, fmt_span, market_clock, market_datetime
from feeds.calendars import SessionStatus
from console.widgets.text import TextLine
from maker.engine import MakerEngine

MANUAL = "operator"  # defensive mode entered from the console carries the reason "operator <name>"

# Venue health as a short word, worst first: the status bar groups venues under these.
HEALTH_WORD = {"disconnected": "down", "gap": "gap", "stale": "stale", "halted": "halt", "waiting": "wait",
               "connected": "up", "resumed": "up"}
HEALTH_ORDER = ("down", "gap", "stale", "halt", "wait", "closed", "up")
HEALTH_STYLE = {"down": "bold $error", "gap": "bold $error", "stale": "bold $warning", "halt": "bold $warning",
                "wait": "$text-muted", "closed": "$text-muted", "up": "$success"}
COUNTED = ("closed", "up")  # health words shown as a count: the venues under the others are named
STORE_STYLE = {"error": "bold reverse $error", "read-only": "bold $warning"}
SEVERITY_COUNTS = (("critical", "C", "bold $error"), ("warning", "W", "bold $warning"), ("info", "I", "$primary"))
SESSION_STYLE = {"open": "$success", "closed": "$text-muted"}  # others (pre, post, auction, break): $warning


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


def session_parts(sessions: list[SessionStatus]) -> list:
    """`us:closed 5h02m hk:open 1h58m`: each market with hours, its state and the time to the next change that
    matters: the close (or lunch break) while open, the next open otherwise. 24/7 markets are left out."""
    parts: list = []
    for status in sessions:
        if status.until == float("inf") and status.state == "open":
            continue
        change = status.until if status.state == "open" else status.next_open
        span = "" if change == float("inf") else f" {fmt_span(change - status.ts)}"
        parts += [(f"{status.market}:{status.state}", SESSION_STYLE.get(status.state, "$warning")), f"{span} "]
    return parts


class StatusBar(TextLine):
    """Open alerts per severity, the store and notifier health, each market's session, total events/s, venue
    health by word."""

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
        if runtime.market_time > 0:
            parts += session_parts(runtime.market_sessions(runtime.market_time))
        groups: dict[str, list[str]] = {}
        shut = self._shut_venues()
        for health in runtime.health.values():
            word = HEALTH_WORD.get(health.state, health.state)
            if word in ("wait", "up") and health.name in shut:
                word = "closed"  # quiet because its markets are shut, not because its feed is
            groups.setdefault(word, []).append(health.name)
        rate = fmt_rate(sum(health.rate for health in runtime.health.values()))
        parts.append(f"{rate} ev/s ")
        for word in sorted(groups, key=lambda w: HEALTH_ORDER.index(w) if w in HEALTH_ORDER else 0):
            # healthy and closed venues as a count, the others by name: at 80 columns the names that matter show
            names = f"{len(groups[word])}" if word in COUNTED else f" {' '.join(groups[word])}"
            parts += [(f"{word}:", HEALTH_STYLE.get(word, "bold $warning")), f"{names} "]
        self.show(Content.assemble(*parts))

    def _shut_venues(self) -> set[str]:
        """Venues whose every instrument's market is not open now (24/7 markets always are)."""
        runtime = self.runtime
        open_now: dict[str, bool] = {}
        for (venue, _), state in runtime.instruments.items():
            open_now[venue] = open_now.get(venue, False) or state.gate.state_at(runtime.market_time) == "open"
        return {venue for venue, is_open in open_now.items() if not is_open}

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
