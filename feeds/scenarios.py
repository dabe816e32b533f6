"""Injected anomalies for the simulated market: each kind is one small class, registered by its alert kind name.

A scenario changes how one instrument is simulated while it is active and leaves ground truth behind: the
simulator emits a `LabelEvent` with the true absolute start and end when it starts, so detectors can be
scored against what really happened. Kind names are FORMAT.md section 3 alert kinds, so a label and the
alert it should raise share a name.

Hooks (all receive the instrument's `MarketSim`), called at the start of a simulation step:
- `on_start` / `on_end`: change the market's parameters (quoting offset, silence). They run before the
  step's snapshot is taken, so they must not touch the book.
- `on_step`: every active step (the first one included), after any snapshot and before the step's own
  order flow; act on the book here (`pull_inside`, `add_order`, `cancel_order`, `take`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from feeds.events import LabelEvent
from feeds.settings import ScenarioSettings

if TYPE_CHECKING:
    from feeds.simulator import MarketSim

WIDEN = 4.0  # spread_wide: the spread becomes this many times its normal width, per unit of magnitude ...
WIDE_FLOOR_BPS = 8.0  # ... and at least this many bps per unit of magnitude, so a tight book (BTC at ~0.5 bps)
# still crosses the usual 5 bps alert threshold


class Scenario:
    """One injected anomaly on one instrument over [start, end] (absolute epoch seconds)."""

    kind: ClassVar[str]

    def __init__(self, settings: ScenarioSettings, start_ts: float) -> None:
        self.settings = settings
        self.start = start_ts + settings.at
        self.end = self.start + settings.duration

    def label(self, venue: str, symbol: str) -> LabelEvent:
        return LabelEvent(self.start, venue, symbol, self.kind, self.start, self.end, self.detail())

    def detail(self) -> str | None:
        """A short human note for the label (what was injected, how strongly)."""
        return None

    def on_start(self, market: MarketSim) -> None: ...
    def on_step(self, market: MarketSim) -> None: ...
    def on_end(self, market: MarketSim) -> None: ...


SCENARIOS: dict[str, type[Scenario]] = {}


def register(cls: type[Scenario]) -> type[Scenario]:
    """Class decorator: make a scenario available by its kind name in config.yaml's `sim.scenarios`."""
    if cls.kind in SCENARIOS:
        raise ValueError(f"scenario kind {cls.kind!r} registered twice")
    SCENARIOS[cls.kind] = cls
    return cls


def build_scenario(settings: ScenarioSettings, start_ts: float) -> Scenario:
    """The scenario a `ScenarioSettings` names; a clear error for an unknown kind."""
    cls = SCENARIOS.get(settings.kind)
    if cls is None:
        raise ValueError(f"unknown scenario kind {settings.kind!r} (expected one of: {', '.join(sorted(SCENARIOS))})")
    return cls(settings, start_ts)


@register
class SpreadWide(Scenario):
    """Spread blowout: makers pull liquidity near the touch and requote far from fair until the end."""

    kind = "spread_wide"

    def detail(self) -> str:
        return f"spread x{WIDEN * self.settings.magnitude:g} its normal width (at least {self._floor_bps():g} bps)"

    def _floor_bps(self) -> float:
        return WIDE_FLOOR_BPS * self.settings.magnitude

    def on_start(self, market: MarketSim) -> None:
        floor_ticks = self._floor_bps() * market.fair_ticks / 1e4
        width = max(WIDEN * self.settings.magnitude * market.base_spread_ticks, floor_ticks)
        market.offset = width / 2.0

    def on_step(self, market: MarketSim) -> None:
        market.pull_inside(market.offset)  # fair drifts: keep the gap clear, not just at the start

    def on_end(self, market: MarketSim) -> None:
        market.offset = market.base_offset


@register
class StaleFeed(Scenario):
    """Stalled feed: the instrument emits nothing (its market keeps trading), then resumes with a snapshot."""

    kind = "stale_feed"

    def on_start(self, market: MarketSim) -> None:
        market.silent = True

    def on_end(self, market: MarketSim) -> None:
        market.silent = False
        market.need_snapshot = True  # consumers missed deltas: resync them as a real feed would
