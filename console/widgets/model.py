"""What the views show, computed from the runtime: instrument order and the radar's family states.

Pure functions over `Runtime`, so the widgets stay about drawing and the rules are testable alone.
"""

from __future__ import annotations

from typing import NamedTuple, get_args

from console.runtime import Runtime
from detectors import DETECTORS
from feeds.settings import Market

Key = tuple[str, str]  # (venue, symbol)
MARKETS: tuple[str, ...] = get_args(Market)  # radar group order: crypto, us, hk, cn

# Radar cell states, mildest first; a cell shows the worst of its family's detectors. `closed`: the market is
# not in continuous trading, so the detectors rest (detectors.sessions): not to be read as a stale feed.
CELL_STATES = ("closed", "ok", "warming", "info", "warning", "critical")
CELL_RANK = {state: rank for rank, state in enumerate(CELL_STATES)}
# A glyph per state, so the screen reads without colour (NO_COLOR, monochrome terminals).
GLYPH = {"closed": "-", "ok": "·", "warming": "~", "info": "i", "warning": "!", "critical": "X"}


class Cell(NamedTuple):
    """One radar cell: the worst state of a family's detectors on one instrument, and why.

    `notes` has a line per detector of the family ("spread_wide: warming 12/30", "stale_feed: warning,
    no update for 25.5 s > 10.0 s"), worst first, for the radar's detail line.
    """

    state: str
    notes: tuple[str, ...]


def key_label(venue: str, symbol: str | None) -> str:
    return venue if symbol is None else f"{venue}:{symbol}"


def ordered_keys(runtime: Runtime) -> list[Key]:
    """Instruments grouped by market (crypto, us, hk, cn), in config order within a market."""
    rank = {market: index for index, market in enumerate(MARKETS)}
    return sorted(runtime.instruments, key=lambda key: rank[runtime.instruments[key].settings.market])


def families(runtime: Runtime) -> list[str]:
    """Detector families present, in detector registration order: the radar's columns."""
    present = {detector.family for state in runtime.instruments.values() for detector in state.detectors}
    ordered = dict.fromkeys(cls.family for cls in DETECTORS.values())
    return [family for family in ordered if family in present]


def family_cells(runtime: Runtime) -> dict[Key, dict[str, Cell]]:
    """Every instrument's cells (see `instrument_cells`)."""
    return {key: instrument_cells(runtime, key) for key in runtime.instruments}


def instrument_cells(runtime: Runtime, key: Key) -> dict[str, Cell]:
    """Per detector family of one instrument, the worst state: open alerts over warm-up over ok, and `closed`
    for detectors resting while the market does not trade.

    A venue-wide alert (no symbol) counts against every instrument of that venue.
    """
    alerts = runtime.engine.open
    state = runtime.instruments[key]
    session = state.gate.state_at(runtime.market_time)
    verdicts: dict[str, list[tuple[str, str]]] = {}  # family -> [(state, note)]
    for detector in state.detectors:
        verdicts.setdefault(detector.family, []).append(_verdict(detector, alerts, key, session))
    return {family: _cell(found) for family, found in verdicts.items()}


def _verdict(detector, alerts, key: Key, session: str) -> tuple[str, str]:
    """One detector's state on one instrument, and a note saying it in words."""
    found = [alert for alert in (alerts.get((key[0], key[1], detector.kind)), alerts.get((key[0], None, detector.kind)))
             if alert is not None]
    if found:
        alert = max(found, key=lambda a: CELL_RANK[a.severity])
        return alert.severity, f"{detector.kind}: {alert.severity}, {alert.message}"
    if session != "open":
        return "closed", f"{detector.kind}: paused, market {session}"
    progress = detector.warmup_progress()
    if progress is not None:
        return "warming", f"{detector.kind}: warming up {progress[0]}/{progress[1]}"
    return "ok", f"{detector.kind}: ok"


def _cell(verdicts: list[tuple[str, str]]) -> Cell:
    ordered = sorted(verdicts, key=lambda verdict: -CELL_RANK[verdict[0]])
    return Cell(ordered[0][0], tuple(note for _, note in ordered))
