"""What went wrong on a live venue, counted, so the console can show it instead of losing it silently."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FeedCounters:
    """Per-venue tallies kept by the live source; the runtime's venue health points at them."""

    malformed: int = 0  # exchange messages that could not be parsed or handled, dropped
    reconnects: int = 0  # connection losses followed by a retry
    gaps: int = 0  # sequence or checksum breaks that forced a book resync
    rate_limited: int = 0  # requests the exchange refused for rate
    errors: int = 0  # other failures (rejected symbols, exchange errors)
    last_problem: str = ""  # the most recent of the above, one line

    def note(self, field: str, problem: str) -> None:
        setattr(self, field, getattr(self, field) + 1)
        self.last_problem = " ".join(problem.split())[:200]
