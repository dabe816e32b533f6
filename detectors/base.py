"""The detector contract, the per-instrument context detectors are built with, and the kind registry.

Detectors follow one instrument through hooks (`on_book`, `on_trade`, ...). The runtime calls only the hooks
a class overrides (see detectors.dispatch), so a detector that ignores the many L3 `order` events costs
nothing for them. Work several detectors need from the same events (tracking large orders, say) lives in
a *feature*: a Watcher created once per instrument through `InstrumentContext.feature` and shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar

from detectors.alerts import Signal
from feeds.book import OrderBook
from feeds.calendars import MarketCalendar, SessionState
from feeds.events import BarEvent, BookEvent, MarkEvent, OrderEvent, StatusEvent, TradeEvent
from feeds.settings import InstrumentSettings

if TYPE_CHECKING:
    from detectors.market import MarketView
    from detectors.rules import Rule

SignalSink = Callable[[Signal], None]
HOOKS = ("on_book", "on_trade", "on_order", "on_bar", "on_mark", "on_status", "on_tick", "on_bad_data")
W = TypeVar("W", bound="Watcher")
_ALWAYS_OPEN: tuple[SessionState, float] = ("open", float("inf"))


@dataclass(frozen=True)
class DetectorParams:
    """Settings every detector has; each detector extends this with its own thresholds."""

    enabled: bool = True


class Watcher:
    """Follows one instrument's events. Override only the hooks you need: the others are never called."""

    def on_book(self, book: OrderBook, event: BookEvent) -> None: ...
    def on_trade(self, book: OrderBook, event: TradeEvent) -> None: ...
    def on_order(self, book: OrderBook, event: OrderEvent) -> None: ...
    def on_bar(self, event: BarEvent) -> None: ...
    def on_mark(self, event: MarkEvent) -> None: ...
    def on_status(self, event: StatusEvent) -> None: ...
    def on_tick(self, now: float) -> None: ...

    def on_bad_data(self, ts: float, problem: str) -> None:
        """An event of this instrument was malformed (non-finite or negative price or size) and dropped."""

    def reset(self) -> None:
        """Forget statistics (after a feed gap, later a session break): warm up again."""


def overrides(watcher: Watcher, hook: str) -> bool:
    return getattr(type(watcher), hook) is not getattr(Watcher, hook)


@dataclass
class InstrumentContext:
    """What a detector of one instrument is built with: its settings, its book, where signals go, the
    market view for detectors that compare instruments (basis, cross-venue), and its market's calendar."""

    instrument: InstrumentSettings
    book: OrderBook
    sink: SignalSink
    venue_freshness_s: float = 5.0
    market: MarketView | None = None
    features: dict[type, Watcher] = field(default_factory=dict)
    alerting: set[str] = field(default_factory=set)  # kinds with an alert open on this instrument now
    last_event: Callable[[], float] | None = None  # the runtime's market time of this instrument's last event
    event_count: Callable[[], int] | None = None  # the runtime's count of this instrument's events
    calendar: MarketCalendar | None = None  # the instrument's market sessions; None: always open (crypto)
    session_opened: Callable[[], float] | None = None  # the runtime's start of the market's current open window
    ticks_seen: Callable[[], bool] | None = None  # the runtime's word: a book, trade or order has arrived

    def session_state(self, ts: float) -> tuple[SessionState, float]:
        """(state, when it next changes) of the instrument's market at `ts`: ("open", inf) without a calendar.
        O(1) while `ts` stays in the calendar's current segment, so hooks may ask it on every event."""
        calendar = self.calendar
        return _ALWAYS_OPEN if calendar is None else calendar.session_state(ts)

    def last_event_ts(self) -> float:
        """When anything last arrived for the instrument (its book's last update when nobody says)."""
        return self.last_event() if self.last_event is not None else self.book.last_ts

    def fresh_since(self) -> float:
        """Where a feed's silence starts: its last event, or the market's (re)opening if later (a lunch break
        or a night is not silence; detectors.sessions)."""
        last = self.last_event_ts()
        opened = self.session_opened() if self.session_opened is not None else 0.0
        return last if last >= opened else opened

    def feature(self, cls: type[W]) -> W:
        """The instrument's one instance of a shared feature, created on first use."""
        instance = self.features.get(cls)
        if instance is None:
            instance = self.features[cls] = cls(self)
        return instance


class Detector(Watcher):
    """Watches one instrument and sends signals through `self.signal(...)` (usually via a detectors.rules.Rule).

    `warmup_progress` tells the console how far a detector is through its warm-up ("warming up 15/30").
    """

    kind: ClassVar[str]  # the alert kind it raises (FORMAT.md section 3)
    family: ClassVar[str]  # the radar column it belongs to
    name: ClassVar[str | None] = None  # its key in DETECTORS and config.yaml when a second class raises the same
    # kind (a minute-bar variant of a tick detector); None: the kind itself
    bars_only: ClassVar[bool] = False  # judges only `bar` events: built when the instrument's first bar arrives,
    # so instruments fed books and trades never carry it (nor show it on the radar)
    any_feed: ClassVar[bool] = False  # judges whatever a feed sends (its timing, its status), bars included;
    # the others judge books, trades or orders and are set aside on an instrument fed only bars (detectors.dispatch)
    params_type: ClassVar[type[DetectorParams]] = DetectorParams
    rule: Rule | None = None  # the alert rule, for detectors driven by one

    @classmethod
    def applies_to(cls, instrument: InstrumentSettings) -> bool:
        """False for instruments this kind can say nothing about (a basis needs a perpetual or a future)."""
        return True

    def __init__(self, context: InstrumentContext, params: Any) -> None:
        self.context = context
        self.instrument = context.instrument
        self.venue = context.instrument.venue
        self.symbol = context.instrument.symbol
        self.params = params
        self._sink = context.sink

    def signal(self, ts: float, severity: str | None, value: float = 0.0, threshold: float = 0.0,
               zscore: float | None = None, message: str = "", **evidence: Any) -> None:
        if severity is None:
            self.context.alerting.discard(self.kind)
        else:
            self.context.alerting.add(self.kind)
        self._sink(Signal(ts, self.venue, self.symbol, self.kind, severity, value, threshold, zscore,
                          message, evidence))

    def warmup_progress(self) -> tuple[int, int] | None:
        """(samples seen, samples needed) while warming up, else None."""
        return None

    def book_quiet(self, now: float, limit: float) -> bool:
        """No book update for longer than `limit`: timer-driven statistics must not learn a silence
        (a stalled feed's zero volume) as normal, nor compare a frozen price with live ones."""
        return now - self.context.book.last_ts > limit

    @property
    def skipped_warmup(self) -> int:
        """Evaluations skipped because the statistics were still warming up."""
        return self.rule.skipped if self.rule is not None else 0


DETECTORS: dict[str, type[Detector]] = {}  # config name (the kind, or the class's `name`) -> class


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: make a detector available in config.yaml by its kind name (or its own `name`)."""
    name = cls.name or cls.kind
    if name in DETECTORS:
        raise ValueError(f"detector {name!r} registered twice")
    DETECTORS[name] = cls
    return cls
