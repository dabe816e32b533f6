"""Puts the market maker into a runtime.

The paper exchange and the engine watch each quoted instrument's events right after its detectors (so a
fill or a requote sees the book exactly as that event left it), the engine's risk_limit signals go to the
runtime's alert engine, and every alert comes back to the engine for automatic defence. Once the alert
store is attached too, the engine saves its defensive mode and risk trips there and gets them back at start.
"""

from __future__ import annotations

from console.config import Config, ConfigError
from console.runtime import Runtime
from maker.engine import MakerEngine
from maker.live import CredentialError, LiveExchange, VenueRouter, read_credentials
from maker.paper import PaperExchange


def attach_maker(runtime: Runtime, config: Config, live_trading: bool = False) -> MakerEngine | None:
    """Build the engine for `maker.instruments` (None when there are none) and hook it into `runtime`.

    `maker.mode: live` needs `live_trading` (the command line's --live): then orders go to the exchange
    through maker.live.LiveExchange (one per venue, behind maker.live.router.VenueRouter when there are
    several), a runtime service, which holds quoting until the operator confirms.
    """
    settings = config.maker
    if not settings.instruments:
        return None
    states = [runtime.instrument(config.instrument(key)) for key in settings.instruments]
    if settings.mode == "live":
        exchange = _live_exchange(runtime, config, live_trading)
    else:
        def book_for(key: tuple[str, str]):
            state = runtime.instruments.get(key)
            return None if state is None else state.book

        exchange = PaperExchange(settings.paper, settings.fees, book_for)
    engine = MakerEngine(settings, [s.settings for s in states], exchange, runtime.engine.submit)
    for state in states:
        state.watchers += [exchange, engine] if settings.mode == "paper" else [engine]  # paper fills first
    runtime.consumers.append(engine.on_batch)
    runtime.engine.listeners.append(engine.on_alert)
    if settings.autostart:
        engine.start_all()
    runtime.maker = engine
    return engine


def _live_exchange(runtime: Runtime, config: Config, live_trading: bool) -> LiveExchange | VenueRouter:
    """The exchange for live quoting, started as a service: one LiveExchange per venue quoted (each with its
    keys from its own environment variables), behind a VenueRouter when there are several."""
    if not live_trading:
        raise ConfigError(config.path, None, "maker.mode", "live sends real orders: start with --live "
                          "(or set maker.mode: paper)")
    symbols: dict[str, list[str]] = {}
    for venue, symbol in _keys(config):
        symbols.setdefault(venue, []).append(symbol)
    checked = []
    accounts: dict[str, str] = {}  # API key -> the venue using it
    for name, venue_symbols in sorted(symbols.items()):
        venue = config.venue(name)
        index = config.venues.index(venue)
        if venue.source != "ccxt":
            raise ConfigError(config.path, None, f"venues[{index}].source",
                              f"live quoting needs a live venue (source: ccxt); {venue.name} is simulated")
        try:
            credentials = read_credentials(venue)
        except CredentialError as exc:
            raise ConfigError(config.path, None, f"venues[{index}]", str(exc)) from None
        other = accounts.setdefault(credentials.api_key, name)
        if other != name:  # each venue would cancel the other's orders as orphans, and its kill switch both
            raise ConfigError(config.path, None, f"venues[{index}].api_key_env",
                              f"venues {other} and {name} trade with the same API key; quote each account "
                              "from one venue")
        checked.append((venue, venue_symbols, credentials))
    venues = [LiveExchange(venue, venue_symbols, credentials, config.maker.live, config.maker.fees)
              for venue, venue_symbols, credentials in checked]  # built once all are valid: none left unclosed
    exchange = venues[0] if len(venues) == 1 else VenueRouter(venues)
    runtime.services.append(exchange)
    return exchange


def _keys(config: Config) -> list[tuple[str, str]]:
    return [(venue, symbol) for venue, _, symbol in (key.partition(":") for key in config.maker.instruments)]


class MakerState:
    """A runtime service started after the alert store: gives the engine the store and restores from it."""

    def __init__(self, engine: MakerEngine, store) -> None:
        self.engine = engine
        self.store = store

    async def start(self) -> None:
        self.engine.store = self.store
        await self.engine.restore()

    async def stop(self) -> None:
        """Nothing to flush here: every change was put to the store as it happened."""


def attach_maker_state(runtime: Runtime) -> None:
    """Call after the alert store is attached: defensive mode and risk trips then survive a restart."""
    if runtime.maker is not None and runtime.alert_store is not None:
        runtime.services.append(MakerState(runtime.maker, runtime.alert_store))
