"""`watchfloor maker-sim`: the Avellaneda-Stoikov Monte Carlo as a table on stdout."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads only when the command runs
    from maker.as_experiment import ExperimentRow, MarketModel

PAPER_GAMMAS = (0.01, 0.1, 0.5, 1.0)
DEFAULT_SEED = 2008


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand; `--seed` may also come before it, as for the other commands."""
    parser = sub.add_parser("maker-sim", help="reproduce the Avellaneda-Stoikov market-making Monte Carlo")
    parser.add_argument("--paths", type=_positive_int, default=1000, help="simulated paths (default 1000)")
    parser.add_argument("--seed", type=int, default=argparse.SUPPRESS, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--gamma", type=_positive_float, action="append", dest="gammas", metavar="G",
                        help="risk aversion to run; repeat for several (default 0.01, 0.1, 0.5 and 1)")


def run(args: argparse.Namespace) -> int:
    from maker.as_experiment import MarketModel, run_experiment
    seed = DEFAULT_SEED if args.seed is None else args.seed
    model = MarketModel()
    rows = run_experiment(tuple(args.gammas or PAPER_GAMMAS), args.paths, seed, model)
    print(format_table(rows, args.paths, seed, model))
    return 0


def format_table(rows: list[ExperimentRow], paths: int, seed: int, model: MarketModel) -> str:
    """The paper's table layout: per gamma, the inventory and the symmetric strategy."""
    lines = [
        f"Avellaneda-Stoikov Monte Carlo: s0={model.s0:g} T={model.T:g} sigma={model.sigma:g} dt={model.dt:g} "
        f"q0={model.q0:g} A={model.A:g} k={model.k:g}; {paths} paths, seed {seed}",
        f"{'gamma':>6}  {'strategy':<9}  {'spread':>7}  {'profit':>8}  {'std(profit)':>11}  "
        f"{'final q':>8}  {'std(q)':>7}",
    ]
    for row in rows:
        for name, stats in (("inventory", row.inventory), ("symmetric", row.symmetric)):
            gamma = f"{row.gamma:g}" if name == "inventory" else ""
            lines.append(f"{gamma:>6}  {name:<9}  {stats.spread:>7.2f}  {stats.profit_mean:>8.2f}  "
                         f"{stats.profit_std:>11.2f}  {stats.q_mean:>8.2f}  {stats.q_std:>7.2f}")
    return "\n".join(lines)
