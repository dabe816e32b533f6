"""API credentials for live quoting: read from environment variables only, and kept out of every text.

The config names the variables (venues[].api_key_env / secret_env / password_env), never the values.
`redact` is applied to every exchange message before the console, a log or the store sees it, because
an exchange error may echo a request back.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Mapping

from feeds.settings import VenueSettings


class CredentialError(Exception):
    """A missing or unset credential variable, as one line naming the variable."""


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def masked_key(self) -> str:
        """The key as the console may show it: its last 4 characters."""
        return "…" + self.api_key[-4:] if len(self.api_key) > 4 else "…"

    def redact(self, text: str) -> str:
        for value in (self.api_key, self.secret, self.password):
            if value:
                text = text.replace(value, "***")
        return text

    def ccxt_options(self) -> dict[str, str]:
        options = {"apiKey": self.api_key, "secret": self.secret}
        if self.password:
            options["password"] = self.password
        return options


def read_credentials(venue: VenueSettings, environ: Mapping[str, str] = os.environ) -> Credentials:
    """The venue's credentials from the environment; CredentialError names what is missing."""
    values = {}
    for key in ("api_key_env", "secret_env", "password_env"):
        name = getattr(venue, key)
        if name is None:
            if key != "password_env" or _needs_password(venue.exchange):
                raise CredentialError(f"venue {venue.name}: {key} is not set in the config (the name of the "
                                      f"environment variable that holds it)")
            continue
        value = environ.get(name, "")
        if not value.strip():
            raise CredentialError(f"venue {venue.name}: environment variable {name} ({key}) is not set")
        values[key] = value.strip()
    return Credentials(values["api_key_env"], values["secret_env"], values.get("password_env"))


def _needs_password(exchange_id: str | None) -> bool:
    """Whether ccxt signs this exchange's requests with an API passphrase too (OKX), so a config without
    password_env is refused here rather than by the exchange once connected."""
    import ccxt
    exchange_class = getattr(ccxt, exchange_id or "", None)
    return bool(exchange_class and exchange_class().requiredCredentials.get("password"))


class _Redacting(logging.Filter):
    """Rewrites each record with every known credential replaced (ccxt logs request headers at DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        self.credentials: list[Credentials] = []

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for credentials in self.credentials:
            text = credentials.redact(text)
        record.msg, record.args = text, None
        return True


_REDACTING = _Redacting()


def keep_out_of_logs(credentials: Credentials) -> None:
    """Redact these credentials from every ccxt logger (call after ccxt is imported, so its loggers exist)."""
    if credentials not in _REDACTING.credentials:
        _REDACTING.credentials.append(credentials)
    for name in [n for n in logging.root.manager.loggerDict if n == "ccxt" or n.startswith("ccxt.")]:
        logger = logging.getLogger(name)
        if _REDACTING not in logger.filters:
            logger.addFilter(_REDACTING)
