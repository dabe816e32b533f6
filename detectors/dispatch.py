"""One instrument's detectors, with the hooks they override grouped by event type for the runtime's hot path.

The simulator's L3 `order` events are most of the traffic; only the features and detectors that override
`on_order` are called for them, and an instrument whose detectors ignore them pays one empty loop.
"""

from __future__ import annotations

from detectors.base import DETECTORS, HOOKS, Detector, InstrumentContext, Watcher, overrides
from detectors.settings import DetectorSettings


class DetectorSet:
    """The enabled detectors of one instrument, their shared features, and per hook the bound methods to call."""

    __slots__ = ("detectors", "features", *(hook[3:] for hook in HOOKS))

    def __init__(self, detectors: list[Detector], features: list[Watcher]) -> None:
        self.detectors = detectors
        self.features = features
        members = [*features, *detectors]  # features first: detectors read what they computed
        for hook in HOOKS:
            setattr(self, hook[3:], [getattr(m, hook) for m in members if overrides(m, hook)])

    def reset(self) -> None:
        for member in (*self.features, *self.detectors):
            member.reset()


def build_detectors(context: InstrumentContext, settings: DetectorSettings) -> DetectorSet:
    """Every registered kind that is enabled for this instrument, with its per-instrument params."""
    detectors = []
    for kind, cls in DETECTORS.items():
        params = settings.params_for(kind, context.instrument.key)
        if params.enabled and cls.applies_to(context.instrument):
            detectors.append(cls(context, params))
    return DetectorSet(detectors, list(context.features.values()))
