"""`watchfloor maker-sim`: the Avellaneda-Stoikov Monte Carlo reproduces the paper's shape and numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import run_cli
from maker.as_experiment import MarketModel, run_experiment

GAMMAS = (0.01, 0.1, 0.5, 1.0)


def test_inventory_strategy_holds_far_less_inventory_and_risk_for_every_gamma():
    rows = run_experiment(GAMMAS, paths=200, seed=1)
    assert [row.gamma for row in rows] == list(GAMMAS)
    for row in rows:
        inv, sym = row.inventory, row.symmetric
        assert inv.q_std < 0.65 * sym.q_std, row
        assert inv.profit_std < sym.profit_std, row
        assert inv.spread == sym.spread  # same spread, only the centre differs


def test_the_quoted_spread_is_the_papers_formula_averaged_over_the_horizon():
    m = MarketModel()
    (row,) = run_experiment((0.5,), paths=10, seed=1, model=m)
    t_left = m.T - np.arange(200) * m.dt
    expected = np.mean(0.5 * m.sigma ** 2 * t_left + (2 / 0.5) * math.log(1 + 0.5 / m.k))
    assert row.inventory.spread == pytest.approx(expected)


def test_gamma_point_one_lands_near_the_published_table():
    # Avellaneda & Stoikov (2008), table for gamma = 0.1: inventory strategy profit 62.94, std 5.89,
    # final q std 2.80; symmetric strategy profit 67.21, std 13.43, final q std 8.66 (1000 paths).
    (row,) = run_experiment((0.1,), paths=1000, seed=2008)
    assert row.inventory.profit_mean == pytest.approx(62.94, abs=2.5)
    assert row.inventory.profit_std == pytest.approx(5.89, rel=0.15)
    assert row.inventory.q_std == pytest.approx(2.80, rel=0.15)
    assert row.symmetric.profit_mean == pytest.approx(67.21, abs=2.5)
    assert row.symmetric.profit_std == pytest.approx(13.43, rel=0.15)
    assert row.symmetric.q_std == pytest.approx(8.66, rel=0.15)


def test_the_same_seed_gives_the_same_table_and_another_seed_does_not():
    assert run_experiment((0.1,), paths=50, seed=4) == run_experiment((0.1,), paths=50, seed=4)
    assert run_experiment((0.1,), paths=50, seed=4) != run_experiment((0.1,), paths=50, seed=5)


def test_the_command_prints_the_table():
    result = run_cli("maker-sim", "--paths", "60", "--seed", "3", "--gamma", "0.1", "--gamma", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Avellaneda-Stoikov Monte Carlo: s0=100 T=1 sigma=2 dt=0.005 q0=0 A=140 k=1.5")
    assert "60 paths, seed 3" in lines[0]
    assert lines[1].split() == ["gamma", "strategy", "spread", "profit", "std(profit)", "final", "q", "std(q)"]
    assert [line.split()[:2] for line in lines[2::2]] == [["0.1", "inventory"], ["1", "inventory"]]
    assert [line.split()[0] for line in lines[3::2]] == ["symmetric", "symmetric"]
    assert len(lines) == 6


def test_a_bad_path_count_is_one_clear_error():
    result = run_cli("maker-sim", "--paths", "0")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == "watchfloor maker-sim: error: argument --paths: expected at least 1, got '0'"
