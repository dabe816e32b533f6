"""Which local dates a market trades, and which of them are half days.

The exchanges' own holiday lists come from the `holidays` package (its financial calendars: XNYS, XHKG,
XSHG...), so they run past any year typed into a config; a market's config adds closures the package
cannot know (a typhoon, a day of mourning) and can force a date open if the package is wrong.
"""

from __future__ import annotations

from datetime import date
from typing import Container

from feeds.settings import WEEKDAYS, MarketSettings


class TradingDays:
    """`kind(day)` is "closed", "half" or "full"; answers are remembered, so a date is worked out once."""

    def __init__(self, settings: MarketSettings) -> None:
        self._weekend = {WEEKDAYS.index(day) for day in settings.weekend}
        self._closed = {date.fromisoformat(d) for d in settings.holidays}
        self._half = {date.fromisoformat(d) for d in settings.half_days}
        self._open = {date.fromisoformat(d) for d in settings.open_days}
        self._calendar_closed: Container[date] = ()
        self._calendar_half: Container[date] = ()
        if settings.holiday_calendar is not None:
            self._calendar_closed, self._calendar_half = _package_calendar(settings.holiday_calendar)
        # every date trades in full (crypto): no weekend, no holiday of any kind
        self.always = not (self._weekend or self._closed or self._half or settings.holiday_calendar)
        self._kinds: dict[date, str] = {}

    def kind(self, day: date) -> str:
        kind = self._kinds.get(day)
        if kind is None:
            kind = self._kinds[day] = self._work_out(day)
        return kind

    def _work_out(self, day: date) -> str:
        if day in self._open:
            return "full"
        if day.weekday() in self._weekend or day in self._closed or day in self._calendar_closed:
            return "closed"
        return "half" if day in self._half or day in self._calendar_half else "full"


def _package_calendar(code: str) -> tuple[Container[date], Container[date]]:
    """The package's (closed dates, half days) for market `code`; each works out a year when first asked."""
    import holidays  # takes a moment: only markets that name a calendar pay for it
    from holidays.constants import HALF_DAY, PUBLIC

    closed = holidays.financial_holidays(code, categories=(PUBLIC,))
    if HALF_DAY not in closed.supported_categories:
        return closed, ()
    return closed, holidays.financial_holidays(code, categories=(HALF_DAY,))
