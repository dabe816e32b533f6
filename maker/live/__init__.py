"""Live quoting: the maker's orders sent to a real exchange through ccxt (maker.mode: live)."""

from maker.live.credentials import CredentialError, Credentials, read_credentials
from maker.live.exchange import LiveExchange
from maker.live.router import VenueRouter, live_venues

__all__ = ["CredentialError", "Credentials", "LiveExchange", "VenueRouter", "live_venues", "read_credentials"]
