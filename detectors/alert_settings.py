"""Settings of the alert store and the notification channels, filled from config.yaml by console.config.

They live here, not in the console, because the store and the notifier (detectors.store, detectors.notify)
read them and the engine packages never import the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "critical"]
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class StoreSettings:
    path: str = "watchfloor.db"  # SQLite file for alerts and the audit log; relative to the config file's folder
    flush_interval_s: float = 0.1  # the writer commits at least this often while changes are waiting ...
    flush_rows: int = 5000  # ... and at once when this many are waiting
    retry_s: float = 5.0  # after a failed write (disk full, unwritable), try again this often

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("path must not be empty")
        if not 0 < self.flush_interval_s <= 1:
            raise ValueError("flush_interval_s must be in (0, 1] seconds")
        if self.flush_rows < 1:
            raise ValueError("flush_rows must be at least 1")
        if self.retry_s <= 0:
            raise ValueError("retry_s must be positive")


@dataclass(frozen=True)
class ChannelSettings:
    """Where alerts are pushed. Secrets come from environment variables named here, never from the file."""

    kind: Literal["slack", "telegram", "webhook"]
    url_env: str  # environment variable holding the webhook or bot API URL
    min_severity: Severity = "warning"  # quieter alerts are not sent
    rate_per_min: float = 20.0  # at most this many messages a minute; the rest are summarised
    chat_id_env: str | None = None  # telegram: environment variable holding the chat id
    retries: int = 3  # attempts after the first one fails (timeouts, 5xx, 429)
    backoff_s: float = 1.0  # wait before the first retry; doubles for each further one
    timeout_s: float = 5.0  # one attempt gives up after this long

    def __post_init__(self) -> None:
        for name in ("url_env", "chat_id_env"):
            value = getattr(self, name)
            if value is not None and not ENV_NAME.fullmatch(value):
                # the value is not echoed: it may be the very secret that belongs in the environment
                raise ValueError(f"{name} must name an environment variable (like WATCHFLOOR_SLACK_URL), "
                                 "not hold a secret")
        if self.kind == "telegram" and self.chat_id_env is None:
            raise ValueError("telegram channels need chat_id_env")
        if self.rate_per_min <= 0:
            raise ValueError("rate_per_min must be positive")
        if self.retries < 0:
            raise ValueError("retries must not be negative")
        if self.backoff_s < 0 or self.timeout_s <= 0:
            raise ValueError("need backoff_s >= 0 and timeout_s > 0")


@dataclass(frozen=True)
class NotifySettings:
    channels: list[ChannelSettings] = field(default_factory=list)
