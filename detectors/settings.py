"""Detector configuration: defaults per kind plus per-instrument overrides (matched by venue:symbol glob)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from detectors.base import DETECTORS, DetectorParams


@dataclass(frozen=True)
class DetectorOverride:
    match: str  # glob over "venue:symbol", e.g. "sim-cn:*" or "*:BTC/USDT"
    params: dict[str, dict[str, Any]]  # kind -> field -> value (already type-checked)


@dataclass(frozen=True)
class DetectorSettings:
    defaults: dict[str, DetectorParams] = field(default_factory=dict)  # kind -> params; missing kinds use class defaults
    overrides: list[DetectorOverride] = field(default_factory=list)

    def params_for(self, kind: str, instrument_key: str) -> DetectorParams:
        """The kind's defaults with every matching override applied, in config order."""
        params = self.defaults.get(kind) or DETECTORS[kind].params_type()
        for override in self.overrides:
            if kind in override.params and fnmatchcase(instrument_key, override.match):
                params = replace(params, **override.params[kind])
        return params
