"""The `watchfloor` command: the console, headless mode, config check, record, replay and the benchmark.

User errors (bad config, unreadable recording, bad option) print one line to stderr and exit with
status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from console.config import Config, ConfigError, default_config_path, load_config
from console.runtime import Runtime
from console.wiring import parse_speed, replay_runtime, simulated_runtime
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("path", nargs="?", type=Path, help="file to check (default: --config or the bundled one)")

    record = sub.add_parser("record", help="record the simulated market to a .jsonl or .jsonl.gz file")
    record.add_argument("out", type=Path)
    _add_run_options(record, suppress=True)

    replay = sub.add_parser("replay", help="play recordings through the pipeline (console or --headless)")
    replay.add_argument("paths", nargs="+", type=Path)
    _add_run_options(replay, suppress=True)

    bench = sub.add_parser("bench", help="measure book-apply and full-pipeline rates over the simulator")
    bench.add_argument("--instruments", type=int, default=13, help="simulated instruments (default 13)")
    bench.add_argument("--seconds", type=_positive, default=300.0, help="market seconds to simulate (default 300)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (ConfigError, ReplayError, UsageError) as exc:
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
    config = load_config(args.config or default_config_path())
    if args.command == "bench":
        from console.bench import run_bench
        run_bench(config, args.instruments, args.seconds)
        return 0
    if args.command == "record":
        return asyncio.run(_record(config, args))
    if args.command == "replay":
        missing = [str(p) for p in args.paths if not p.is_file()]
        if missing:
            raise UsageError(f"no such recording: {', '.join(missing)}")
        runtime = replay_runtime(config, args.paths, speed=1.0 if args.speed is None else args.speed)
    else:
        runtime = simulated_runtime(config, speed=args.speed, seed=args.seed)
    if args.headless:
        from console.headless import run_headless
        asyncio.run(run_headless(runtime, args.duration))
        return 0
    return _run_console(config, runtime, args.duration)


async def _record(config: Config, args: argparse.Namespace) -> int:
    from console.headless import run_headless
    from feeds.recorder import Recorder
    if args.duration is None:
        raise UsageError("record needs --duration SECONDS")
    runtime = simulated_runtime(config, speed=args.speed if args.speed is not None else 0.0, seed=args.seed)
    with Recorder(args.out, source="sim") as recorder:
        runtime.consumers.append(recorder.write)
        await run_headless(runtime, args.duration)
    print(f"watchfloor: recorded {recorder.events} events to {args.out}", file=sys.stderr)
    return 0


def _run_console(config: Config, runtime: Runtime, duration: float | None) -> int:
    from console.app import WatchfloorApp
    WatchfloorApp(config, runtime, duration=duration).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
