"""Market-maker settings as config.yaml gives them; the maker issue extends this with quoting models and risk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class MakerSettings:
    mode: Literal["paper", "live"] = "paper"  # live also needs --live and a typed confirmation
    instruments: list[str] = field(default_factory=list)  # venue:symbol keys to quote
