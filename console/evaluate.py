"""`watchfloor evaluate`: how well the detectors catch what was injected, and how rarely they cry wolf.

It runs labelled streams through the same runtime as the console, with no UI: the simulator with a suite
that injects every scenario kind (or the config's own scenarios), or recordings that carry `label` events.
Per kind it reports:

- recall: labels with an alert of the same kind on the same instrument between the label's start and its
  end plus a grace period;
- latency: market seconds from the label's start to that alert (median and 95th percentile); for
  stale_feed, from the start plus the instrument's freshness limit, since silence shorter than the limit
  is by definition not stale;
- false alerts per instrument-hour: alerts of the kind outside every label window (plus grace) on the same
  underlying. An injected anomaly legitimately trips other detectors of the instrument it hits (a price
  gap is also a volume spike) and of its sibling listings (a spot that jumps dislocates its perpetual's
  basis), so those do not count as false.

The simulated run steps the simulator and dispatches each step directly (no pacing, no event loop), so a
suite of every kind takes a few seconds; that is what the CI test runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, TextIO

from console.config import Config
from console.runtime import Runtime
from detectors.alerts import Alert
from detectors.market import underlying
from feeds.price_limits import a_share_board
from feeds.events import LabelEvent
from feeds.replay import ReplaySource
from feeds.scenarios import SCENARIOS
from feeds.settings import InstrumentSettings, ScenarioSettings, VenueSettings
from feeds.simulator import Simulator, parse_start

SUITE_START_TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z, when the config does not fix a start
WARMUP_S = 120.0  # before the first injection: every detector's statistics are warm by then
DURATION_S = 20.0  # each injection's length
SPACING_S = 60.0  # quiet market between injections on one underlying (alerts clear, cooldowns pass)
GRACE_S = 5.0  # an alert this soon after a label's end still counts as its detection
TARGET_RECALL = 0.95
TARGET_LATENCY_S = 2.0


@dataclass
class KindScore:
    kind: str
    labels: int = 0
    detected: int = 0
    latencies: list[float] = field(default_factory=list)
    alerts: int = 0
    false_alerts: int = 0
    false_per_instrument_hour: float = 0.0

    @property
    def recall(self) -> float | None:
        return self.detected / self.labels if self.labels else None

    @property
    def median_latency(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None

    @property
    def p95_latency(self) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def meets_targets(self) -> bool | None:
        """None for a kind nothing was injected for."""
        if not self.labels:
            return None
        return self.recall >= TARGET_RECALL and self.median_latency is not None \
            and self.median_latency <= TARGET_LATENCY_S


@dataclass
class Evaluation:
    scores: dict[str, KindScore]
    instruments: int
    market_seconds: float
    missed: list[LabelEvent]

    @property
    def instrument_hours(self) -> float:
        return self.instruments * self.market_seconds / 3600.0


# -- what to inject ----------------------------------------------------------------------------------

def candidates(instruments: list[InstrumentSettings], role: str) -> list[InstrumentSettings]:
    """The instruments a scenario of this role (feeds.scenarios) can be injected on."""
    by_underlying: dict[str, list[InstrumentSettings]] = {}
    for inst in instruments:
        by_underlying.setdefault(underlying(inst.symbol), []).append(inst)

    def siblings(inst: InstrumentSettings) -> list[InstrumentSettings]:
        return [o for o in by_underlying[underlying(inst.symbol)] if o.key != inst.key]

    if role == "standalone":
        return [i for i in instruments if not siblings(i)]
    if role == "perp":
        return [i for i in instruments if i.kind in ("perp", "future") and any(o.kind == "spot" for o in siblings(i))]
    if role == "listed_twice":
        return [i for i in instruments if any(o.symbol == i.symbol for o in siblings(i))]
    if role == "a_share":
        return [i for i in instruments if a_share_board(i.symbol) is not None]
    return list(instruments)


def suite(instruments: list[InstrumentSettings], rounds: int = 1, kinds: list[str] | None = None,
          warmup_s: float = WARMUP_S, duration_s: float = DURATION_S,
          spacing_s: float = SPACING_S) -> list[ScenarioSettings]:
    """Every scenario kind once per round, each on an instrument its role allows (rotating through them),
    packed in time so that no two injections on one underlying come within `spacing_s` of each other (or
    `warmup_s` after one that makes detectors reset)."""
    # a_share kinds (price_limit) go last: they can only use the few A-shares, and placed in name order they
    # would reshuffle where every later kind lands
    kinds = sorted(SCENARIOS, key=lambda k: (SCENARIOS[k].role == "a_share", k)) if kinds is None else kinds
    free_at: dict[str, float] = {}  # underlying -> when it may take the next injection
    schedule = []
    for round_no in range(rounds):
        for kind in kinds:
            pool = candidates(instruments, SCENARIOS[kind].role)
            if not pool:
                continue
            # the least busy candidate, rotating by round so every instrument gets its turn
            ordered = pool[round_no % len(pool):] + pool[:round_no % len(pool)]
            chosen = min(ordered, key=lambda i: free_at.get(underlying(i.symbol), warmup_s))
            start = free_at.get(underlying(chosen.symbol), warmup_s)
            schedule.append(ScenarioSettings(kind, chosen.key, start, duration_s))
            rest = warmup_s if SCENARIOS[kind].resets else spacing_s  # after a resync, detectors warm up again
            free_at[underlying(chosen.symbol)] = start + duration_s + rest
    return schedule


# -- running -----------------------------------------------------------------------------------------

def _collector(runtime: Runtime) -> list[Alert]:
    opened: list[Alert] = []
    runtime.engine.listeners.append(lambda alert, change: opened.append(alert) if change == "opened" else None)
    return opened


def simulate(config: Config, scenarios: list[ScenarioSettings], seconds: float,
             seed: int | None = None) -> tuple[list[Alert], list[LabelEvent], int, float]:
    """Run the config's simulated instruments for `seconds` of market time with these scenarios."""
    sim_venues = {v.name for v in config.venues if v.source == "sim"}
    instruments = [i for i in config.instruments if i.venue in sim_venues]
    settings = replace(config.sim, scenarios=scenarios, seed=config.sim.seed if seed is None else seed)
    start = parse_start(settings) if settings.start is not None else SUITE_START_TS
    simulator = Simulator(instruments, settings, start)
    runtime = Runtime(config.venues, instruments, config.detectors)
    opened = _collector(runtime)
    while simulator.now < start + seconds:
        runtime.dispatch(simulator.step())
    return opened, runtime.labels, len(instruments), seconds


def replay(config: Config, paths: list[Path], log: TextIO = sys.stderr) -> tuple[list[Alert], list[LabelEvent], int, float]:
    """Play recordings (with their `label` events) through the pipeline as fast as it goes."""
    source = ReplaySource(paths, speed=0.0, on_error=lambda line: log.write(f"watchfloor: {line}\n"))
    runtime = Runtime(config.venues, [], config.detectors, [source],
                      catalogue=[*source.instruments, *config.instruments], speed=0.0)
    opened = _collector(runtime)
    first: list[float] = []
    runtime.consumers.append(lambda batch: first.append(batch[0].ts) if not first else None)
    asyncio.run(runtime.run())
    seconds = runtime.market_time - first[0] if first else 0.0
    return opened, runtime.labels, len(runtime.instruments), seconds


# -- scoring -----------------------------------------------------------------------------------------

def freshness_delay(config: Config) -> Callable[[LabelEvent], float]:
    """For a label, how long its anomaly must last before its kind can exist at all: a stale_feed label's
    instrument freshness limit (as the stale_feed detector resolves it), 0 for every other kind."""
    venues = {v.name: v.freshness_s for v in config.venues}
    instruments = {(i.venue, i.symbol): i for i in config.instruments}

    def delay(label: LabelEvent) -> float:
        if label.kind != "stale_feed" or label.symbol is None:
            return 0.0
        inst = instruments.get((label.venue, label.symbol))
        params = config.detectors.params_for("stale_feed", f"{label.venue}:{label.symbol}")
        return (params.freshness_s or (inst.freshness_s if inst else None)
                or venues.get(label.venue, VenueSettings(label.venue).freshness_s))
    return delay


def score(alerts: list[Alert], labels: list[LabelEvent], instruments: int, seconds: float,
          grace_s: float = GRACE_S, delay: Callable[[LabelEvent], float] = lambda label: 0.0) -> Evaluation:
    """`delay(label)`: seconds after the label's start from which its latency is counted."""
    scores: dict[str, KindScore] = {}

    def of(kind: str) -> KindScore:
        return scores.setdefault(kind, KindScore(kind))

    missed = []
    for label in labels:
        entry = of(label.kind)
        entry.labels += 1
        hits = [a.ts for a in alerts if a.kind == label.kind and a.venue == label.venue
                and a.symbol == label.symbol and label.start <= a.ts <= label.end + grace_s]
        if hits:
            entry.detected += 1
            entry.latencies.append(max(min(hits) - label.start - delay(label), 0.0))
        else:
            missed.append(label)
    windows: dict[str, list[tuple[float, float]]] = {}
    for label in labels:
        if label.symbol is not None:
            windows.setdefault(underlying(label.symbol), []).append((label.start, label.end + grace_s))
    hours = instruments * seconds / 3600.0
    for alert in alerts:
        entry = of(alert.kind)
        entry.alerts += 1
        spans = windows.get(underlying(alert.symbol), ()) if alert.symbol is not None else ()
        if not any(start <= alert.ts <= end for start, end in spans):
            entry.false_alerts += 1
    for entry in scores.values():
        entry.false_per_instrument_hour = entry.false_alerts / hours if hours > 0 else 0.0
    return Evaluation(dict(sorted(scores.items())), instruments, seconds, missed)


# -- reporting ---------------------------------------------------------------------------------------

def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def report(evaluation: Evaluation, out: TextIO) -> None:
    out.write(f"watchfloor evaluate: {evaluation.instruments} instruments, {evaluation.market_seconds:,.0f} s of "
              f"market time ({evaluation.instrument_hours:.2f} instrument-hours)\n")
    out.write(f"{'kind':<25} {'labels':>6} {'found':>6} {'recall':>7} {'lat p50':>8} {'lat p95':>8} "
              f"{'alerts':>7} {'false':>6} {'false/ih':>9}  target\n")
    for s in evaluation.scores.values():
        verdict = {None: "", True: "ok", False: "MISSED"}[s.meets_targets]
        out.write(f"{s.kind:<25} {s.labels:>6} {s.detected:>6} {_fmt(s.recall, '.0%'):>7} "
                  f"{_fmt(s.median_latency, '.2f'):>8} {_fmt(s.p95_latency, '.2f'):>8} {s.alerts:>7} "
                  f"{s.false_alerts:>6} {s.false_per_instrument_hour:>9.2f}  {verdict}\n")
    labels = sum(s.labels for s in evaluation.scores.values())
    found = sum(s.detected for s in evaluation.scores.values())
    false = sum(s.false_alerts for s in evaluation.scores.values())
    hours = evaluation.instrument_hours
    out.write(f"{'all':<25} {labels:>6} {found:>6} {_fmt(found / labels if labels else None, '.0%'):>7} "
              f"{'':>8} {'':>8} {sum(s.alerts for s in evaluation.scores.values()):>7} {false:>6} "
              f"{false / hours if hours else 0.0:>9.2f}\n")
    for label in evaluation.missed:
        out.write(f"missed: {label.kind} on {label.venue}:{label.symbol} at {label.start:.1f} "
                  f"({label.detail or 'no detail'})\n")
    out.write(f"targets: recall >= {TARGET_RECALL:.0%} and median latency <= {TARGET_LATENCY_S:g} s for every "
              f"injected kind (stale_feed latency counted from the freshness limit)\n")


def as_json(evaluation: Evaluation) -> str:
    kinds = {}
    for s in evaluation.scores.values():
        entry = asdict(s)
        entry.pop("latencies")
        entry.update(recall=s.recall, median_latency_s=s.median_latency, p95_latency_s=s.p95_latency,
                     meets_targets=s.meets_targets)
        kinds[s.kind] = entry
    return json.dumps({"instruments": evaluation.instruments, "market_seconds": evaluation.market_seconds,
                       "kinds": kinds}, indent=2)


def run_evaluate(config: Config, paths: list[Path], rounds: int, seed: int | None, kinds: list[str] | None,
                 use_config_scenarios: bool, duration: float | None, grace_s: float, as_json_out: bool,
                 check: bool, out: TextIO = sys.stdout) -> int:
    """The `watchfloor evaluate` command; returns its exit status (1 with --check when a target is missed)."""
    if paths:
        alerts, labels, instruments, seconds = replay(config, paths)
    else:
        sim_venues = {v.name for v in config.venues if v.source == "sim"}
        instruments_list = [i for i in config.instruments if i.venue in sim_venues]
        scenarios = config.sim.scenarios if use_config_scenarios else suite(instruments_list, rounds, kinds)
        end = max((s.at + s.duration for s in scenarios), default=WARMUP_S) + SPACING_S
        alerts, labels, instruments, seconds = simulate(config, scenarios, duration or end, seed)
    evaluation = score(alerts, labels, instruments, seconds, grace_s, freshness_delay(config))
    if as_json_out:
        out.write(as_json(evaluation) + "\n")
    else:
        report(evaluation, out)
    failed = [s.kind for s in evaluation.scores.values() if s.meets_targets is False]
    return 1 if check and failed else 0


# -- the command line --------------------------------------------------------------------------------

def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in SCENARIOS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"unknown scenario kind {', '.join(unknown) or repr(text)} (expected some "
                                         f"of: {', '.join(sorted(SCENARIOS))})")
    return kinds


def _recording(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such recording: {text}")
    return path


def _at_least(convert: type, least: float, what: str):
    """An argparse type: `convert` the text, which must come to at least `least`."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not value >= least:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


def add_parser(sub) -> None:
    """`watchfloor evaluate`, registered by console.cli."""
    parser = sub.add_parser("evaluate", help="measure detection quality (recall, false alerts, latency) on "
                                             "labelled streams")
    parser.add_argument("paths", nargs="*", type=_recording, metavar="PATH",
                        help="recordings with label events (default: the simulator with an injection suite)")
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="configuration file (default: the bundled config.yaml)")
    parser.add_argument("--rounds", type=_at_least(int, 1, "a positive whole number"), default=1,
                        help="injections of every kind (default 1)")
    parser.add_argument("--kinds", type=_kinds, help="only these scenario kinds, comma separated")
    parser.add_argument("--config-scenarios", action="store_true",
                        help="inject the config's sim.scenarios instead of the suite")
    parser.add_argument("--seed", type=int, default=argparse.SUPPRESS, help="simulator seed (overrides the config)")
    parser.add_argument("--duration", type=_at_least(float, 0.0, "a number of seconds"), default=argparse.SUPPRESS,
                        help="market seconds to simulate (default: until the last injection is over)")
    parser.add_argument("--grace", type=_at_least(float, 0.0, "a number of seconds"), default=GRACE_S,
                        help=f"seconds after a label's end an alert still counts (default {GRACE_S:g})")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when an injected kind misses its recall or latency target")


def run(config: Config, args: argparse.Namespace) -> int:
    return run_evaluate(config, args.paths, args.rounds, getattr(args, "seed", None), args.kinds,
                        args.config_scenarios, getattr(args, "duration", None), args.grace, args.json, args.check)
