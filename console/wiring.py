"""Builds a Runtime from the validated config: which sources run, at what speed, for which instruments."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from console.config import Config
from console.runtime import Runtime
from feeds.replay import ReplaySource
from feeds.simulator import SimSource, parse_start


def parse_speed(text: str) -> float:
    """`max` (as fast as possible) or a positive multiple of real time; raises ValueError otherwise."""
    if text == "max":
        return 0.0
    speed = float(text)
    if not speed > 0:
        raise ValueError(f"speed must be 'max' or a positive number, got {text!r}")
    return speed


def simulated_runtime(config: Config, speed: float | None = None, seed: int | None = None,
                      start_ts: float | None = None) -> Runtime:
    """The default: every `source: sim` venue's instruments from the built-in simulated market."""
    sim_settings = config.sim
    if speed is not None:
        sim_settings = replace(sim_settings, speed=speed)
    if seed is not None:
        sim_settings = replace(sim_settings, seed=seed)
    sim_venues = {v.name for v in config.venues if v.source == "sim"}
    instruments = [i for i in config.instruments if i.venue in sim_venues]
    start = parse_start(sim_settings) if start_ts is None else start_ts
    source = SimSource(instruments, sim_settings, start)
    return Runtime(config.venues, instruments, config.detectors, [source], speed=sim_settings.speed)


def replay_runtime(config: Config, paths: list[Path], speed: float, on_error=None) -> Runtime:
    """Recordings played through the same pipeline; instruments appear as the recording names them."""
    source = ReplaySource(paths, speed=speed, on_error=on_error)
    return Runtime(config.venues, [], config.detectors, [source], catalogue=config.instruments, speed=speed)
