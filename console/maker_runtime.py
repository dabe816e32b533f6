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
from maker.paper import PaperExchange


def attach_maker(runtime: Runtime, config: Config) -> MakerEngine | None:
    """Build the engine for `maker.instruments` (None when there are none) and hook it into `runtime`."""
    settings = config.maker
    if not settings.instruments:
        return None
    if settings.mode != "paper":
        raise ConfigError(config.path, None, "maker.mode", "live trading is not available in this build; use paper")
    states = [runtime.instrument(config.instrument(key)) for key in settings.instruments]

    def book_for(key: tuple[str, str]):
        state = runtime.instruments.get(key)
        return None if state is None else state.book

    paper = PaperExchange(settings.paper, settings.fees, book_for)
    engine = MakerEngine(settings, [s.settings for s in states], paper, runtime.engine.submit)
    for state in states:
        state.watchers += [paper, engine]  # the exchange first: fills land before the engine requotes
    runtime.consumers.append(engine.on_batch)
    runtime.engine.listeners.append(engine.on_alert)
    if settings.autostart:
        engine.start_all()
    runtime.maker = engine
    return engine


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
