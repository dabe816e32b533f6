"""Exchange errors sorted into what the user must know and what the adapter does about them.

Each ccxt exception maps to a kind with a retry policy, so no error turns into a retry storm:
post-only and balance rejections are final, a rate limit pauses every request under backoff, an
invalid nonce resynchronises the clock once, a network failure retries a few times under backoff.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass

ERRORS_KEPT = 50


@dataclass(frozen=True)
class Problem:
    kind: str  # post_only / insufficient_balance / rate_limit / nonce / network / invalid_order / auth / not_found / exchange
    text: str  # one line for the user (redacted)
    retry: str  # "no", "backoff" (pause then retry) or "resync" (clock resync then one retry)


def classify(exc: Exception, redact) -> Problem:
    """The kind, a one-line text and the retry policy of a ccxt exception."""
    import ccxt
    text = redact(" ".join(str(exc).split()))[:200]
    rules = (  # most specific first: ccxt's classes inherit from each other
        (ccxt.OrderImmediatelyFillable, "post_only", "no", "post-only rejected: it would take liquidity"),
        (ccxt.InsufficientFunds, "insufficient_balance", "no", "insufficient balance"),
        (ccxt.InvalidNonce, "nonce", "resync", "clock out of step with the exchange"),
        (ccxt.RateLimitExceeded, "rate_limit", "backoff", "rate limited"),
        (ccxt.DDoSProtection, "rate_limit", "backoff", "rate limited"),
        (ccxt.OrderNotFound, "not_found", "no", "unknown to the exchange"),
        (ccxt.AuthenticationError, "auth", "no", "authentication refused"),
        (ccxt.PermissionDenied, "auth", "no", "permission denied"),
        (ccxt.InvalidOrder, "invalid_order", "no", "invalid order"),
        (ccxt.NetworkError, "network", "backoff", "network"),
    )
    for cls, kind, retry, label in rules:
        if isinstance(exc, cls):
            return Problem(kind, f"{label}: {text}", retry)
    return Problem("exchange", f"exchange error: {text}", "no")


class ErrorLog:
    """What went wrong, counted per kind, with the latest lines for the console's maker panel."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.recent: deque[tuple[float, str]] = deque(maxlen=ERRORS_KEPT)  # (wall time, text), newest last

    def note(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        self.recent.append((time.time(), text))

    def summary(self) -> str:
        """`post_only 2 · rate_limit 1`, most frequent first ('' when nothing went wrong)."""
        return " · ".join(f"{kind} {n}" for kind, n in self.counts.most_common())
