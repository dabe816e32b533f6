"""The usual shape of a trading day: how much of a quantity (volume, a bar's range) each time of day carries.

Equity volume is U-shaped: the first and last minutes trade several times the midday rate, every day. A
detector that compares a bar with the bars just before it would call every open abnormal; dividing each
bar by its time of day's usual share first ("normalising") leaves only what is unusual for that time.

The share of a bucket (`bucket_s` of local time of day) is its mean over a session divided by that
session's mean over all its bars, averaged over past sessions (the last `days` weigh most). A session is
folded in when the next one starts, so today's bars are judged against earlier days only.
"""

from __future__ import annotations


class IntradayProfile:
    """Usual share by time of day, learned over past sessions; `weight(t)` is None for a time never seen."""

    __slots__ = ("bucket_s", "days", "sessions", "_weights", "_seen", "_day", "_sums", "_counts")

    def __init__(self, bucket_s: float = 300.0, days: int = 20) -> None:
        if not bucket_s > 0 or days < 1:
            raise ValueError("an intraday profile needs bucket_s > 0 and days >= 1")
        self.bucket_s = bucket_s
        self.days = days
        self.sessions = 0  # sessions folded in
        self._weights: dict[int, float] = {}
        self._seen: dict[int, int] = {}  # sessions that had bars in each bucket, capped at `days`
        self._day: object = None
        self._sums: dict[int, float] = {}
        self._counts: dict[int, int] = {}

    def weight(self, time_of_day_s: float) -> float | None:
        """The usual share of the bucket holding `time_of_day_s` (1.0 = an average bar of the day)."""
        return self._weights.get(int(time_of_day_s // self.bucket_s))

    def add(self, day: object, time_of_day_s: float, value: float) -> None:
        """One bar of session `day` (any key that changes with the session, e.g. the local date)."""
        if day != self._day:
            self._fold()
            self._day = day
        bucket = int(time_of_day_s // self.bucket_s)
        self._sums[bucket] = self._sums.get(bucket, 0.0) + value
        self._counts[bucket] = self._counts.get(bucket, 0) + 1

    def _fold(self) -> None:
        """Average the finished session's shares into the weights (a running mean over the last `days`)."""
        total, bars = sum(self._sums.values()), sum(self._counts.values())
        if bars and total > 0:
            day_mean = total / bars
            for bucket, value in self._sums.items():
                share = value / self._counts[bucket] / day_mean
                seen = self._seen[bucket] = min(self._seen.get(bucket, 0) + 1, self.days)
                old = self._weights.get(bucket, share)
                self._weights[bucket] = old + (share - old) / seen
            self.sessions += 1
        self._sums.clear()
        self._counts.clear()

    def reset(self) -> None:
        """Forget everything learned (a different instrument's shape would be wrong)."""
        self.sessions = 0
        self._weights.clear()
        self._seen.clear()
        self._day = None
        self._sums.clear()
        self._counts.clear()
