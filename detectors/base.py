"""The detector contract and the registry that maps kind names (FORMAT.md section 3) to classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from detectors.alerts import Signal
from feeds.book import OrderBook
from feeds.events import BarEvent, BookEvent, MarkEvent, OrderEvent, StatusEvent, TradeEvent
from feeds.settings import InstrumentSettings

SignalSink = Callable[[Signal], None]


@dataclass(frozen=True)
class DetectorParams:
    """Settings every detector has; each detector extends this with its own thresholds."""

    enabled: bool = True


class Detector:
    """Watches one instrument. Subclasses override the hooks they need and call `self.signal(...)`.

    `warmup_progress` tells the console how far a detector is through its warm-up ("warming up 15/30").
    """

    kind: ClassVar[str]
    family: ClassVar[str]  # the radar column it belongs to
    params_type: ClassVar[type[DetectorParams]] = DetectorParams

    def __init__(self, instrument: InstrumentSettings, params: Any, sink: SignalSink) -> None:
        self.instrument = instrument
        self.venue = instrument.venue
        self.symbol = instrument.symbol
        self.params = params
        self._sink = sink
        self.skipped_warmup = 0  # evaluations skipped because the statistics were still warming up

    def signal(self, ts: float, severity: str | None, value: float = 0.0, threshold: float = 0.0,
               zscore: float | None = None, message: str = "", **evidence: Any) -> None:
        self._sink(Signal(ts, self.venue, self.symbol, self.kind, severity, value, threshold, zscore,
                          message, evidence))

    def warmup_progress(self) -> tuple[int, int] | None:
        """(samples seen, samples needed) while warming up, else None."""
        return None

    def reset(self) -> None:
        """Forget statistics, e.g. after a feed gap; the detector warms up again."""

    def on_book(self, book: OrderBook, event: BookEvent) -> None: ...
    def on_trade(self, book: OrderBook, event: TradeEvent) -> None: ...
    def on_order(self, event: OrderEvent) -> None: ...
    def on_bar(self, event: BarEvent) -> None: ...
    def on_mark(self, event: MarkEvent) -> None: ...
    def on_status(self, event: StatusEvent) -> None: ...
    def on_tick(self, now: float) -> None: ...


DETECTORS: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: make a detector available by its kind name in config.yaml."""
    if cls.kind in DETECTORS:
        raise ValueError(f"detector kind {cls.kind!r} registered twice")
    DETECTORS[cls.kind] = cls
    return cls
