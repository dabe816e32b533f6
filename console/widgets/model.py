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

# Radar cell states, mildest first; a cell shows the worst of its family's detectors.
CELL_STATES = ("ok", "warming", "info", "warning", "critical")
CELL_RANK = {state: rank for rank, state in enumerate(CELL_STATES)}
# A glyph per state, so the screen reads without colour (NO_COLOR, monochrome terminals).
GLYPH = {"ok": "·", "warming": "~", "info": "i", "warning": "!", "critical": "X"}
SHORT = {"ok": "ok", "warming": "warm", "info": "info", "warning": "warn", "critical": "crit"}


class Cell(NamedTuple):
    """One radar cell: the worst state and its text, e.g. ("warming", "~ 12/30") or ("warning", "! warn")."""

    state: str
    text: str


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


def cell(state: str, progress: tuple[int, int] | None = None) -> Cell:
    if state == "warming" and progress is not None:
        return Cell(state, f"{GLYPH[state]} {progress[0]}/{progress[1]}")
    return Cell(state, f"{GLYPH[state]} {SHORT[state]}")


def family_cells(runtime: Runtime) -> dict[Key, dict[str, Cell]]:
    """Per instrument and detector family, the worst state: open alerts over warm-up over ok.

    A venue-wide alert (no symbol) counts against every instrument of that venue. Alerts whose kind
    is not a registered detector (none yet) have no radar column and are left to the alerts view.
    """
    worst: dict[tuple[str, str | None, str], str] = {}  # (venue, symbol, family) -> severity
    for (venue, symbol, kind), alert in runtime.engine.open.items():
        cls = DETECTORS.get(kind)
        if cls is None:
            continue
        slot = (venue, symbol, cls.family)
        if slot not in worst or CELL_RANK[alert.severity] > CELL_RANK[worst[slot]]:
            worst[slot] = alert.severity
    cells: dict[Key, dict[str, Cell]] = {}
    for key, state in runtime.instruments.items():
        row: dict[str, Cell] = {}
        for detector in state.detectors:
            progress = detector.warmup_progress()
            candidate = cell("ok") if progress is None else cell("warming", progress)
            current = row.get(detector.family)
            if current is None or CELL_RANK[candidate.state] > CELL_RANK[current.state]:
                row[detector.family] = candidate
        for family in row:
            severities = [worst.get((key[0], key[1], family)), worst.get((key[0], None, family))]
            for severity in filter(None, severities):
                if CELL_RANK[severity] > CELL_RANK[row[family].state]:
                    row[family] = cell(severity)
        cells[key] = row
    return cells
