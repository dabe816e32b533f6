"""The `watchfloor` command: the console, headless mode, config check, record, replay and the benchmark.

User errors (bad config, unreadable recording, bad option) print one line to stderr and exit with
status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from console import alerts_cli
from console.alert_services import attach_alert_services
from console.maker_runtime import attach_maker_state
from console.config import Config, ConfigError, default_config_path, load_config
from console import evaluate
from console.maker_sim import add_parser as add_maker_sim_parser, run as run_maker_sim
from console.runtime import Runtime
from console.wiring import market_runtime, parse_speed, replay_runtime
from feeds.live import LiveFeedError
from detectors.alerts import LifecycleError
from detectors.store_schema import StoreError
from feeds.replay import ReplayError

USAGE_ERROR = 2


class UsageError(Exception):
    """A user mistake reported as one line with exit status 2."""


def _speed(text: str) -> float:
    try:
        return parse_speed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _add_run_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Options shared by the console, headless mode, record and replay.

    Subcommands repeat them with suppressed defaults, so `watchfloor replay x.jsonl --speed max` and
    `watchfloor --speed max replay x.jsonl` mean the same thing.
    """
    default = {"default": argparse.SUPPRESS} if suppress else {}
    parser.add_argument("--config", type=Path, help="configuration file (default: the bundled config.yaml)", **default)
    parser.add_argument("--headless", action="store_true", help="no UI: print alerts as JSON lines on stdout",
                        **default)
    parser.add_argument("--duration", type=_positive, help="stop after this many seconds of market time", **default)
    parser.add_argument("--speed", type=_speed, help="a multiple of real time, or 'max' for as fast as possible",
                        **default)
    parser.add_argument("--seed", type=int, help="simulator seed (overrides the config)", **default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="watchfloor", description="Market surveillance and market-making console.")
    _add_run_options(parser)
    live = parser.add_mutually_exclusive_group()
    live.add_argument("--live-only", dest="live", action="store_const", const="only", default="also",
                      help="only the config's live (source: ccxt) venues, no simulator")
    live.add_argument("--no-live", dest="live", action="store_const", const="off",
                      help="only the simulator, even if the config has live venues (works offline)")
    parser.add_argument("--live", dest="live_trading", action="store_true",
                        help="with maker.mode: live, send real orders (the console asks for a typed confirmation)")
    parser.add_argument("--i-understand-live", dest="unattended_live", action="store_true",
                        help="with --live --headless: trade real money with no confirmation")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("path", nargs="?", type=Path, help="file to check (default: --config or the bundled one)")

    record = sub.add_parser("record", help="record what the console would run (simulator, live venues) to a "
                                           ".jsonl or .jsonl.gz file")
    record.add_argument("out", type=Path)
    _add_run_options(record, suppress=True)
    record_live = record.add_mutually_exclusive_group()
    record_live.add_argument("--live-only", dest="live", action="store_const", const="only", default=argparse.SUPPRESS,
                             help="only the config's live (source: ccxt) venues, no simulator")
    record_live.add_argument("--no-live", dest="live", action="store_const", const="off", default=argparse.SUPPRESS,
                             help="only the simulator, even if the config has live venues")

    replay = sub.add_parser("replay", help="play recordings through the pipeline (console or --headless)")
    replay.add_argument("paths", nargs="+", type=Path)
    _add_run_options(replay, suppress=True)

    bench = sub.add_parser("bench", help="measure book-apply and full-pipeline rates over the simulator")
    bench.add_argument("--instruments", type=int, help="simulated instruments (default 13; 200 with --ui)")
    bench.add_argument("--seconds", type=_positive,
                       help="market seconds to simulate (default 300); with --ui, wall seconds to measure (default 20)")
    bench.add_argument("--ui", action="store_true",
                       help="instead, measure the console: frame time, key latency and its share of the CPU")
    bench.add_argument("--captures", nargs="+", type=Path, metavar="PATH",
                       help="instead, measure replaying these recordings or exchange captures against real time")
    add_maker_sim_parser(sub)
    evaluate.add_parser(sub)
    alerts_cli.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (ConfigError, LiveFeedError, ReplayError, UsageError, StoreError, LifecycleError) as exc:
        print(f"watchfloor: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        path = args.path or args.config or default_config_path()
        config = load_config(path)
        print(f"{path}: ok ({len(config.venues)} venues, {len(config.instruments)} instruments)")
        return 0
    if args.command == "maker-sim":
        return run_maker_sim(args)
    config = load_config(args.config or default_config_path())
    if args.command in alerts_cli.COMMANDS:
        return alerts_cli.run(config, args)
    if args.command == "evaluate":
        return evaluate.run(config, args)
    if args.command == "bench" and args.captures:
        from console.replay_bench import run_replay_bench
        run_replay_bench(config, args.captures)
        return 0
    if args.command == "bench" and args.ui:
        from console.ui_bench import run_ui_bench
        run_ui_bench(config, args.instruments or 200, args.seconds or 20.0)
        return 0
    if args.command == "bench":
        from console.bench import run_bench
        run_bench(config, args.instruments or 13, args.seconds or 300.0)
        return 0
    if args.command == "record":
        return _record(config, args)
    if args.command == "replay":
        missing = [str(p) for p in args.paths if not p.is_file()]
        if missing:
            raise UsageError(f"no such recording: {', '.join(missing)}")
        runtime = replay_runtime(config, args.paths, speed=1.0 if args.speed is None else args.speed)
    else:
        live_trading = _live_trading(config, args)
        runtime = market_runtime(config, speed=args.speed, seed=args.seed, live=args.live, live_trading=live_trading)
        if live_trading and args.headless:
            runtime.maker.orders.exchange.arm()  # --i-understand-live stands for the console's confirmation
    attach_alert_services(runtime, config, log=_stderr_line if args.headless else None)
    attach_maker_state(runtime)
    if args.headless:
        from console.headless import run_headless
        asyncio.run(run_headless(runtime, args.duration))
        return 0
    return _run_console(config, runtime, args.duration)


def _live_trading(config: Config, args: argparse.Namespace) -> bool:
    """Whether this run sends real orders: maker.mode live, confirmed by --live (and, headless, one flag more)."""
    live_mode = config.maker.mode == "live" and bool(config.maker.instruments)
    if args.live_trading and not live_mode:
        raise UsageError(f"--live: {config.path} has maker.mode paper (or no maker.instruments); "
                         "set maker.mode: live to quote for real")
    if not live_mode:
        return False
    if not args.live_trading:
        raise UsageError(f"{config.path} has maker.mode live: add --live to send real orders "
                         "(or set maker.mode: paper)")
    if args.live == "off":
        raise UsageError("--live and --no-live: live quoting needs the live venue's feed")
    if args.headless and not args.unattended_live:
        raise UsageError("--live --headless: no one is there to type the confirmation; add --i-understand-live "
                         "to trade real money unattended")
    return True


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _record(config: Config, args: argparse.Namespace) -> int:
    """Record the console's market (market_runtime): live venues in real time, a simulator alone at max speed."""
    from console.headless import run_headless
    from feeds.recorder import Recorder
    if args.duration is None:
        raise UsageError("record needs --duration SECONDS")
    live = args.live != "off" and any(v.source == "ccxt" for v in config.venues)
    speed = 0.0 if args.speed is None and not live else args.speed
    runtime = market_runtime(config, speed=speed, seed=args.seed, live=args.live)
    with Recorder(args.out, source="+".join(source.name for source in runtime.sources)) as recorder:
        runtime.consumers.append(recorder.write)
        asyncio.run(run_headless(runtime, args.duration))
    moved = (f" ({recorder.moved} moved forward in time: their feed lagged the others by more than "
             f"{recorder.window_s:g} s)" if recorder.moved else "")
    print(f"watchfloor: recorded {recorder.events} events to {args.out}{moved}", file=sys.stderr)
    return 0


def _run_console(config: Config, runtime: Runtime, duration: float | None) -> int:
    from console.app import WatchfloorApp
    app = WatchfloorApp(config, runtime, duration=duration)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
