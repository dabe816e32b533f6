"""Market sessions on the runtime's hot path: when detectors run, and when their statistics start over.

The rules (the README's "Market sessions" tells operators the same):

- Pause: detector hooks, for events and for timers alike, run only while the instrument's market is `open`.
  In `pre`, `post`, `auction`, `break` and `closed` events still update the book, the tape and the console,
  but no detector sees them: extended hours are too thin to judge against regular-hours statistics, a call
  auction's book is crossed by design, and a closed market's silence is not a stale feed.
- Freshness: a feed's silence counts from the later of its last event and the start of the current open
  window, so the first timer after a lunch break or a night does not see hours of silence.
- Carry or reset: statistics CARRY across a `break` (the afternoon continues the morning's trading day) and
  RESET (Watcher.reset) when a new trading day starts, i.e. on the first segment after a `closed` one
  (nights, weekends, holidays): an overnight gap, a new previous close and a new day's volume make
  yesterday's warm-up misleading. The first segment a gate sees starts its first day: nothing to forget.

A gate remembers the end of the segment it is in; the runtime moves it only when an event's (or timer's) time
reaches that end, so the per-event cost is one comparison and one attribute read. Gates move forward only:
an out-of-order event is judged by the current segment.
"""

from __future__ import annotations

from typing import Protocol

from feeds.calendars import CLOSED, OPEN, MarketCalendar, SessionState, SessionStatus

_INF = float("inf")
_MAX_STEPS = 20_000  # segments walked between two events (about 5 years of a market with a lunch break)


class Resettable(Protocol):
    def reset(self) -> None: ...


class SessionGate:
    """One market's session as the runtime's hot path sees it: whether detectors run (`live`), until when
    (`end`), since when the market is open (`opened`), and the detector sets to reset at a new trading day."""

    __slots__ = ("market", "calendar", "members", "state", "end", "live", "opened", "new_days")

    def __init__(self, market: str, calendar: MarketCalendar | None) -> None:
        self.market = market
        self.calendar = None if calendar is None or calendar.always_open else calendar  # None: always open
        self.members: list[Resettable] = []
        self.new_days = 0  # trading days started (resets done), for the console and tests
        if self.calendar is None:
            self.state: SessionState = OPEN
            self.end, self.live, self.opened = _INF, True, -_INF
        else:  # before the first event: an empty segment, so the first event moves the gate
            self.state = CLOSED
            self.end, self.live, self.opened = -_INF, False, -_INF

    def move(self, ts: float) -> None:
        """Step to the segment holding `ts` (called once `ts` reaches `end`); reset the members if a `closed`
        segment lies between the segment left and the one entered, or is the one left."""
        calendar = self.calendar
        if calendar is None or ts < self.end:
            return
        segment = calendar.segment(ts)
        started = self.end > -_INF  # not the first segment this gate sees
        new_day = started and segment.state != CLOSED and (
            self.state == CLOSED or self._closed_between(calendar, self.end, segment.start))
        self.state, self.end = segment.state, segment.end
        self.live = segment.state == OPEN
        if self.live:
            self.opened = segment.start
        if new_day:
            self.new_days += 1
            for member in self.members:
                member.reset()

    @staticmethod
    def _closed_between(calendar: MarketCalendar, start: float, end: float) -> bool:
        """Whether a `closed` segment starts within [start, end): a night passed between two events."""
        t = start
        for _ in range(_MAX_STEPS):
            if t >= end:
                return False
            segment = calendar.segment(t)
            if segment.state == CLOSED:
                return True
            t = segment.end
        return True  # further than the walk reaches: certainly another day

    def state_at(self, ts: float) -> SessionState:
        """The market's state at `ts` from its calendar (the console asks at market time, gate or not moved)."""
        return OPEN if self.calendar is None else self.calendar.session_state(ts)[0]

    def status(self, ts: float) -> SessionStatus:
        """The market's state at `ts`, when it changes and when it next opens (the console's status bar)."""
        if self.calendar is None:
            return SessionStatus(self.market, OPEN, ts, _INF, ts)
        return self.calendar.status(ts)
