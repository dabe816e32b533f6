"""Market sessions: what a market is doing at a moment, and until when.

A market's time splits into segments, each with one state:

- `open`: continuous trading; `pre` / `post`: extended hours (US); `auction`: a call auction (no prints until
  it uncrosses: the A-share and HK opening and closing auctions);
- `break`: between two windows of the same trading day (the lunch break, the pause before the open);
- `closed`: from a day's last window to the next trading day's first (nights, weekends, holidays).

`session_state(ts)` is asked on every event, so each calendar remembers the segment it last answered,
[start, end) in epoch seconds, and works one out again only when `ts` leaves it: two comparisons per event.
Local times become epoch seconds through the market's time zone date by date, so a DST change moves the
sessions with the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from feeds.settings import MarketSettings, MarketsSettings, SessionWindow, parse_hours
from feeds.trading_days import TradingDays

SessionState = Literal["open", "pre", "post", "auction", "break", "closed"]
OPEN, BREAK, CLOSED = "open", "break", "closed"
_INF = float("inf")
_SEARCH_DAYS = 400  # the farthest a calendar looks for the next or previous trading day (or a state change)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time in one state. `start` is where the answer starts to hold (for a window, its opening)."""

    state: SessionState
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """What a status bar shows for a market at `ts`: its state, when that ends, and when it next opens."""

    market: str
    state: SessionState
    ts: float
    until: float  # the end of the current state (inf: never, e.g. crypto)
    next_open: float  # start of the next `open` segment; `ts` itself while open; inf: none within a year


_ALWAYS_OPEN = Segment(OPEN, -_INF, _INF)
_EMPTY = Segment(CLOSED, _INF, -_INF)  # contains no ts, so the first question works out a segment


class MarketCalendar:
    """One market's sessions, from its settings (feeds.settings.MarketSettings)."""

    def __init__(self, name: str, settings: MarketSettings) -> None:
        self.name = name
        self.tz = ZoneInfo(settings.timezone)
        self.days = TradingDays(settings)
        self._always = self.days.always and not settings.sessions
        self._full = _spans(settings.sessions) or [(OPEN, 0, 24 * 60)]
        self._half = _spans(settings.half_day_sessions) if settings.half_day_sessions is not None else self._full
        self._plans: dict[date, tuple[Segment, ...]] = {}
        self._current = _EMPTY

    @property
    def always_open(self) -> bool:
        """Trading around the clock every day (crypto): nothing to gate."""
        return self._always

    def session_state(self, ts: float) -> tuple[SessionState, float]:
        """(state, the ts at which it next changes); O(1) while `ts` stays in the segment answered last."""
        segment = self._current
        if not segment.start <= ts < segment.end:
            segment = self._current = self.segment(ts)
        return segment.state, segment.end

    def segment(self, ts: float) -> Segment:
        """The segment holding `ts`, worked out from the day plans (no cache of its own)."""
        if self._always:
            return _ALWAYS_OPEN
        day = datetime.fromtimestamp(ts, self.tz).date()
        before = after = None
        for window in self.plan(day):
            if window.end <= ts:
                before = window
            elif window.start <= ts:
                return Segment(window.state, window.start, self._run_end(window, day))
            else:
                after = window
                break
        if before is not None and after is not None:
            return Segment(BREAK, before.end, after.start)
        start = before.end if before is not None else self._edge(day, -1)
        end = after.start if after is not None else self._edge(day, +1)
        return Segment(CLOSED, start, end)

    def status(self, ts: float) -> SessionStatus:
        """The market's state at `ts` with the time it changes and the time it next opens (for the console)."""
        state, until = self.session_state(ts)
        return SessionStatus(self.name, state, ts, until, ts if state == OPEN else self.next_open(ts))

    def next_open(self, ts: float) -> float:
        """When continuous trading next starts after `ts` (inf if not within the search horizon)."""
        segment = self.segment(ts)
        for _ in range(_SEARCH_DAYS * 8):
            if segment.end == _INF:
                break
            segment = self.segment(segment.end)
            if segment.state == OPEN:
                return segment.start
        return _INF

    def plan(self, day: date) -> tuple[Segment, ...]:
        """The windows of local date `day` as epoch-second segments; () on a day without trading."""
        plan = self._plans.get(day)
        if plan is None:
            kind = self.days.kind(day)
            spans = () if kind == "closed" else self._half if kind == "half" else self._full
            plan = self._plans[day] = tuple(Segment(state, self._epoch(day, start), self._epoch(day, end))
                                            for state, start, end in spans)
        return plan

    def _epoch(self, day: date, minutes: int) -> float:
        local = datetime.combine(day, time()) + timedelta(minutes=minutes)  # 24:00 is the next day's midnight
        return local.replace(tzinfo=self.tz).timestamp()

    def _edge(self, day: date, step: int) -> float:
        """The last window's end on the nearest trading day before `day` (step -1), or the first start after."""
        for _ in range(_SEARCH_DAYS):
            day += step * _ONE_DAY
            plan = self.plan(day)
            if plan:
                return plan[-1].end if step < 0 else plan[0].start
        return -_INF if step < 0 else _INF

    def _run_end(self, window: Segment, day: date) -> float:
        """The end of `window` extended through windows of the same state that follow without a gap
        (trading all day: Monday's segment runs to Saturday 00:00, not to Tuesday)."""
        end = window.end
        plan = self.plan(day)
        index = plan.index(window) + 1
        for _ in range(_SEARCH_DAYS):
            if index == len(plan):
                day, index = day + _ONE_DAY, 0
                plan = self.plan(day)
                if not plan:
                    break
            following = plan[index]
            if following.start != end or following.state != window.state:
                break
            end, index = following.end, index + 1
        return end


class Calendars:
    """Every market's calendar by name (`crypto`, `us`, `hk`, `cn`), as an instrument's `market` names it."""

    def __init__(self, settings: MarketsSettings) -> None:
        self._markets = {f.name: MarketCalendar(f.name, getattr(settings, f.name)) for f in fields(settings)}

    def __getitem__(self, market: str) -> MarketCalendar:
        return self._markets[market]

    def __iter__(self):
        return iter(self._markets.values())

    def session_state(self, market: str, ts: float) -> tuple[SessionState, float]:
        return self._markets[market].session_state(ts)


def _spans(windows: list[SessionWindow] | None) -> list[tuple[str, int, int]]:
    return [(w.state, *parse_hours(w.hours)) for w in windows or ()]
