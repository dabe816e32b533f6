"""The Monte Carlo of Avellaneda & Stoikov (2008), section 4: inventory strategy versus symmetric strategy.

The mid starts at s0 and moves up or down by sigma sqrt(dt) with equal probability each step. Each step
both strategies quote a bid and an ask with the same spread, gamma sigma^2 (T - t) + (2/gamma) ln(1 + gamma/k):
the inventory strategy centres it on the reservation price s - q gamma sigma^2 (T - t), the symmetric one on
the mid. After the mid moves, a quote at distance delta from the new mid is hit with probability
A exp(-k delta) dt (one unit). Profit is cash plus inventory marked at the final mid.

Both strategies and every gamma share one set of random numbers (common random numbers), so differences
between rows and columns come from the strategies, not from luck. Vectorised over paths with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MarketModel:
    """The paper's parameters: price, horizon (T), volatility, time step, initial inventory, arrival A and k."""

    s0: float = 100.0
    T: float = 1.0
    sigma: float = 2.0
    dt: float = 0.005
    q0: float = 0.0
    A: float = 140.0
    k: float = 1.5


@dataclass(frozen=True)
class StrategyStats:
    spread: float  # mean quoted spread over the horizon
    profit_mean: float
    profit_std: float
    q_mean: float  # final inventory
    q_std: float


@dataclass(frozen=True)
class ExperimentRow:
    gamma: float
    inventory: StrategyStats
    symmetric: StrategyStats


def run_experiment(gammas: tuple[float, ...], paths: int, seed: int,
                   model: MarketModel = MarketModel()) -> list[ExperimentRow]:
    """One row per gamma; the same seed gives the same table."""
    steps = int(round(model.T / model.dt))
    rng = np.random.default_rng(seed)
    moves = np.where(rng.random((steps, paths)) < 0.5, 1.0, -1.0) * model.sigma * np.sqrt(model.dt)
    bid_draws = rng.random((steps, paths))
    ask_draws = rng.random((steps, paths))
    return [_run_gamma(gamma, model, moves, bid_draws, ask_draws) for gamma in gammas]


def _run_gamma(gamma: float, m: MarketModel, moves: np.ndarray, bid_draws: np.ndarray,
               ask_draws: np.ndarray) -> ExperimentRow:
    steps, paths = moves.shape
    mids = m.s0 + np.vstack([np.zeros(paths), np.cumsum(moves, axis=0)])  # mids[i] is the mid at step i
    time_left = m.T - np.arange(steps) * m.dt
    spreads = gamma * m.sigma ** 2 * time_left + (2.0 / gamma) * np.log1p(gamma / m.k)
    stats = []
    for inventory_aware in (True, False):
        q = np.full(paths, m.q0)
        cash = np.zeros(paths)
        for i in range(steps):
            s = mids[i]
            centre = s - q * gamma * m.sigma ** 2 * time_left[i] if inventory_aware else s
            bid = centre - spreads[i] / 2.0
            ask = centre + spreads[i] / 2.0
            after = mids[i + 1]
            bought = bid_draws[i] < m.A * np.exp(-m.k * (after - bid)) * m.dt
            sold = ask_draws[i] < m.A * np.exp(-m.k * (ask - after)) * m.dt
            q += bought.astype(float) - sold
            cash += np.where(sold, ask, 0.0) - np.where(bought, bid, 0.0)
        profit = cash + q * mids[-1]
        stats.append(StrategyStats(float(spreads.mean()), float(profit.mean()), float(profit.std()),
                                   float(q.mean()), float(q.std())))
    return ExperimentRow(gamma, stats[0], stats[1])
