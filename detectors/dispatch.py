"""One instrument's detectors, with the hooks they override grouped by event type for the runtime's hot path.

The simulator's L3 `order` events are most of the traffic; only the features and detectors that override
`on_order` are called for them, and an instrument whose detectors ignore them pays one empty loop.
"""

from __future__ import annotations

from detectors.base import DETECTORS, HOOKS, Detector, InstrumentContext, Watcher, overrides
from detectors.settings import DetectorSettings
from feeds.book import OrderBook
from feeds.events import BarEvent, BookEvent, OrderEvent, TradeEvent

TICK_HOOKS = ("book", "trade", "order")  # the hook lists of the events bar feeds never send


class DetectorSet:
    """The enabled detectors of one instrument, their shared features, and per hook the bound methods to call.

    Bar-only detectors wait in `pending` until the instrument's first bar: until then the bar hook list holds
    only the call that builds them, so an instrument fed books and trades never carries them. The other way
    round, when that first bar comes before any book, trade or order (a feed of minute bars), the detectors
    that judge those are set aside in `resting`: they could never warm up, and the radar would show them
    warming up for ever. The first book, trade or order event brings them back.
    """

    __slots__ = ("detectors", "features", "context", "pending", "resting", *(hook[3:] for hook in HOOKS))

    def __init__(self, detectors: list[Detector], features: list[Watcher], context: InstrumentContext | None = None,
                 pending: list[tuple[type[Detector], object]] | None = None) -> None:
        self.detectors = detectors
        self.features = features
        self.context = context
        self.pending = pending or []
        self.resting: list[Detector] = []
        self._bind()

    def _bind(self) -> None:
        members = [*self.features, *self.detectors]  # features first: detectors read what they computed
        for hook in HOOKS:
            setattr(self, hook[3:], [getattr(m, hook) for m in members if overrides(m, hook)])
        if self.pending:
            self.bar = [self._first_bar]
        if self.resting:
            for hook in TICK_HOOKS:
                setattr(self, hook, [self._ticks_arrived])

    def _first_bar(self, event: BarEvent) -> None:
        """Build the bar-only detectors (and the features they ask for), then give them this bar."""
        pending, self.pending = self.pending, []
        ticks_seen = self.context.ticks_seen
        if ticks_seen is not None and not ticks_seen():
            self.resting = [d for d in self.detectors if not d.any_feed]
            self.detectors[:] = [d for d in self.detectors if d.any_feed]  # in place: the runtime's state shares it
        self.detectors.extend(cls(self.context, params) for cls, params in pending)
        self.features[:] = list(self.context.features.values())
        self._bind()
        for hook in self.bar:
            hook(event)

    def _ticks_arrived(self, book: OrderBook, event: BookEvent | TradeEvent | OrderEvent) -> None:
        """A book, trade or order after all: the detectors set aside come back, and see this event."""
        resting, self.resting = self.resting, []
        order = {name: index for index, name in enumerate(DETECTORS)}
        self.detectors[:] = sorted([*resting, *self.detectors], key=lambda d: order.get(d.name or d.kind, 0))
        self._bind()
        for hook in getattr(self, event.t):
            hook(book, event)

    def reset(self) -> None:
        for member in (*self.features, *self.detectors):
            member.reset()


def build_detectors(context: InstrumentContext, settings: DetectorSettings) -> DetectorSet:
    """Every registered detector that is enabled for this instrument, with its per-instrument params."""
    detectors, pending = [], []
    for name, cls in DETECTORS.items():
        params = settings.params_for(name, context.instrument.key)
        if params.enabled and cls.applies_to(context.instrument):
            if cls.bars_only:
                pending.append((cls, params))
            else:
                detectors.append(cls(context, params))
    return DetectorSet(detectors, list(context.features.values()), context, pending)
