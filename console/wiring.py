"""Builds a Runtime from the validated config: which sources run, at what speed, for which instruments."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from console.config import Config, ConfigError
from console.maker_runtime import attach_maker
from console.runtime import Runtime
from feeds.live import CcxtSource, LiveFeedError, LiveVenue, UnknownSymbolError, load_venue
from feeds.replay import ReplaySource
from feeds.settings import InstrumentSettings, VenueSettings
from feeds.simulator import SimSource, parse_start


def parse_speed(text: str) -> float:
    """`max` (as fast as possible) or a positive multiple of real time; raises ValueError otherwise."""
    if text == "max":
        return 0.0
    speed = float(text)
    if not speed > 0:
        raise ValueError(f"speed must be 'max' or a positive number, got {text!r}")
    return speed


def _sim_source(config: Config, speed: float | None, seed: int | None,
                start_ts: float | None) -> tuple[SimSource, list[InstrumentSettings], float]:
    """The built-in simulated market for every `source: sim` venue's instruments, and its speed."""
    sim_settings = config.sim
    if speed is not None:
        sim_settings = replace(sim_settings, speed=speed)
    if seed is not None:
        sim_settings = replace(sim_settings, seed=seed)
    sim_venues = {v.name for v in config.venues if v.source == "sim"}
    instruments = [i for i in config.instruments if i.venue in sim_venues]
    start = parse_start(sim_settings) if start_ts is None else start_ts
    return SimSource(instruments, sim_settings, start, markets=config.markets), instruments, sim_settings.speed


def simulated_runtime(config: Config, speed: float | None = None, seed: int | None = None,
                      start_ts: float | None = None) -> Runtime:
    """The default: every `source: sim` venue's instruments from the built-in simulated market."""
    source, instruments, speed = _sim_source(config, speed, seed, start_ts)
    runtime = Runtime(config.venues, instruments, config.detectors, [source], speed=speed, markets=config.markets)
    attach_maker(runtime, config)
    return runtime


def replay_runtime(config: Config, paths: list[Path], speed: float, on_error=None, on_note=None) -> Runtime:
    """Recordings played through the same pipeline; instruments appear as the recording names them.

    A Binance capture's bookTickers are checked against the very books the detectors see; `on_note` hears
    the summary at the end (default: stderr)."""
    source = ReplaySource(paths, speed=speed, on_error=on_error, check_books=True, on_note=on_note)
    catalogue = [*source.instruments, *config.instruments]  # the config's settings win over what captures reveal
    runtime = Runtime(config.venues, [], config.detectors, [source], catalogue=catalogue, speed=speed,
                      markets=config.markets)
    for check in source.book_checks:
        instrument = runtime.catalogue[(check.instrument.venue, check.instrument.symbol)]  # the config's, if any
        runtime.instrument(instrument).watchers.append(check)
    attach_maker(runtime, config)
    return runtime


def market_runtime(config: Config, speed: float | None = None, seed: int | None = None,
                   live: str = "also", live_trading: bool = False) -> Runtime:
    """The console's and headless mode's runtime: the simulator for `sim` venues, live feeds for `ccxt` ones.

    `live` is "also" (both), "only" (the ccxt venues alone) or "off" (the simulator alone). Live data
    happens now, so a run with live venues is real time, and a simulator beside them must be too.
    """
    live_venues = [v for v in config.venues if v.source == "ccxt"] if live != "off" else []
    if not live_venues:
        if live == "only":
            raise LiveFeedError(f"--live-only: {config.path} has no venue with source: ccxt")
        return simulated_runtime(config, speed, seed)
    names = ", ".join(v.name for v in live_venues)
    if speed not in (None, 1.0):
        raise LiveFeedError(f"--speed: live venues ({names}) run in real time; add --no-live to run the "
                            "simulator alone at another speed")
    prepared = asyncio.run(_check_live_venues(config, live_venues))
    live_sources = [CcxtSource(v.settings, v.instruments, v.markets) for v in prepared]
    sources, instruments = list(live_sources), [i for v in prepared for i in v.instruments]
    if live == "also" and any(v.source == "sim" for v in config.venues):
        for key, wrong in (("sim.speed", speed is None and config.sim.speed != 1.0), ("sim.start", config.sim.start)):
            if wrong:
                raise ConfigError(config.path, None, key, f"live venues ({names}) run in real time from now, and so "
                                  "must the simulator beside them: remove it, or run with --live-only or --no-live")
        sim, sim_instruments, _ = _sim_source(config, 1.0, seed, None)
        sources.append(sim)
        instruments += sim_instruments
    runtime = Runtime(config.venues, instruments, config.detectors, sources, live_lag=True, speed=1.0,
                      markets=config.markets)
    for source in live_sources:
        runtime.health[source.venue.name].feed = source.counters
    attach_maker(runtime, config, live_trading)
    return runtime


async def _check_live_venues(config: Config, venues: list[VenueSettings]) -> list[LiveVenue]:
    """Each live venue checked against its exchange; an unknown symbol is reported at its place in the config."""
    prepared = []
    for venue in venues:
        try:
            prepared.append(await load_venue(venue, [i for i in config.instruments if i.venue == venue.name]))
        except UnknownSymbolError as exc:
            index = config.instruments.index(exc.instrument)
            raise ConfigError(config.path, None, f"instruments[{index}].symbol", exc.problem) from None
    return prepared
