"""One HK stock's volatility control (HKEX VCM) as the exchange runs it, from the trades seen (feeds.vcm has the
rules): the 5-minute reference, the stretches of today's sessions the exchange watches (from the market
calendar; without one, as in `watchfloor evaluate`, nothing is watched), and once a trade leaves the tier's band
around the reference, the cooling-off: its band, which the book-shape detectors judge a locked book by, until
it ends.

A cooling-off ends 5 minutes after its trigger or at the end of its session, whichever is first: one started
in the last minutes of the morning does not hold the afternoon (the rules cap the afternoon's by watching only
until 20 minutes before the close).
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import InstrumentContext
from detectors.limit_band import ExchangeBand
from feeds.calendars import OPEN
from feeds.price_limits import PriceBand, price_band
from feeds.vcm import ReferencePrice, VcmRules, VcmSession, trigger_side


@dataclass(frozen=True, slots=True)
class Armed:
    """What the exchange compares the next trade with: the 5-minute reference and the tier's band around it."""

    session: VcmSession
    reference: float
    band: PriceBand


class VcmBand(ExchangeBand):
    """`band`, `reference` and `ends_at` of the cooling-off running (band None: none), and what a trade would
    have to leave to start one (`armed`)."""

    def __init__(self, context: InstrumentContext, pct: float, rules: VcmRules) -> None:
        super().__init__(context)
        self.pct, self.rules = pct, rules
        self.calendar = context.calendar
        self.prices = ReferencePrice(rules.reference_s)
        self.reference = 0.0  # of the cooling-off running or last run, fixed at its trigger ...
        self.move_pct = 0.0  # ... the trigger's move from it, in percent ...
        self.ends_at = float("-inf")  # ... and its end
        self._sessions: list[VcmSession] = []  # today's
        self._triggers: dict[float, int] = {}  # today's session start -> cooling-offs started in it
        self._armed: Armed | None = None  # the last worked out (a band costs a few decimal operations)

    def on_tick(self, now: float) -> None:
        self._expire(now)  # before the book-shape detectors ask locked_now()

    def _price(self, ts: float, price: float) -> None:
        self._expire(ts)
        armed = self.armed(ts) if self.band is None else None
        if armed is not None and trigger_side(armed.band, price) is not None:
            session = armed.session
            self._triggers[session.start] = self._triggers.get(session.start, 0) + 1
            self.band, self.reference = armed.band, armed.reference
            self.move_pct = (price / armed.reference - 1.0) * 100.0
            self.ends_at = min(ts + self.rules.cooling_s, session.end)
        self.prices.add(ts, price)
        self.last = price

    def _expire(self, ts: float) -> None:
        if self.band is not None and ts >= self.ends_at:
            self.band = None

    def armed(self, ts: float) -> Armed | None:
        """What a trade at `ts` would start a cooling-off beyond; None while the exchange does not watch: outside
        the watched stretches, with the session's triggers spent, or with no trade 5 minutes back. The reference
        carries over the lunch break: at 13:16 it is the last trade by 13:11, the morning's last if the
        afternoon has not traded yet."""
        session = self._session(ts)
        if session is None or not session.watched(ts) or self._triggers.get(session.start, 0) >= self.rules.triggers:
            return None
        reference = self.prices.at(ts)
        if reference is None:
            return None
        armed = self._armed
        if armed is None or armed.session != session or armed.reference != reference:
            armed = self._armed = Armed(session, reference, price_band(reference, self.pct, self.tick, inward=True))
        return armed

    def _session(self, ts: float) -> VcmSession | None:
        """Today's continuous session holding `ts`, None outside them."""
        day = self._new_day(ts)
        if day is not None and self.calendar is not None:
            spans = [(s.start, s.end) for s in self.calendar.plan(day) if s.state == OPEN]
            self._sessions, self._triggers = self.rules.sessions(spans), {}
        return next((s for s in self._sessions if s.start <= ts < s.end), None)
