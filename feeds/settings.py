"""Typed settings for venues, instruments and the simulator, filled from config.yaml by console.config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

InstrumentKind = Literal["spot", "perp", "equity"]
Market = Literal["crypto", "us", "hk", "cn"]
SourceKind = Literal["sim", "ccxt"]


@dataclass(frozen=True)
class VenueSettings:
    """A venue: simulated, or a ccxt exchange id for live data (the live feeds issue)."""

    name: str
    source: SourceKind = "sim"
    exchange: str | None = None  # ccxt id when source is ccxt
    freshness_s: float = 5.0  # an instrument with no update for longer is stale


@dataclass(frozen=True)
class InstrumentSettings:
    venue: str
    symbol: str
    kind: InstrumentKind
    market: Market
    tick_size: float
    lot_size: float = 0.0001
    price: float = 100.0  # the simulator's starting price
    volatility: float = 0.6  # the simulator's annualised volatility
    freshness_s: float | None = None  # overrides the venue's

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"


@dataclass(frozen=True)
class ScenarioSettings:
    """One injected anomaly: `kind` on `venue:symbol` from `at` seconds after the start, for `duration`."""

    kind: str
    instrument: str  # venue:symbol
    at: float
    duration: float
    magnitude: float = 1.0  # kind-specific strength (e.g. spread multiple)


@dataclass(frozen=True)
class SimSettings:
    seed: int = 7
    start: str | None = None  # ISO-8601 UTC market start; None means now
    speed: float = 1.0  # market seconds per wall second; 0 means as fast as possible
    step_s: float = 0.1  # book diffs are batched per step, like an exchange's 100 ms depth stream
    order_events: bool = True  # emit L3 `order` events as an exchange's own data would
    scenarios: list[ScenarioSettings] = field(default_factory=list)
