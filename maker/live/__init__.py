"""Live quoting: the maker's orders sent to a real exchange through ccxt (maker.mode: live)."""

from maker.live.credentials import CredentialError, Credentials, read_credentials
from maker.live.exchange import LiveExchange

__all__ = ["CredentialError", "Credentials", "LiveExchange", "read_credentials"]
