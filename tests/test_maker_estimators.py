"""The quoter's estimators recover known parameters from synthetic markets: EWMA volatility and (A, k)."""

from __future__ import annotations

import numpy as np
import pytest

from maker.intensity import IntensityEstimator
from maker.volatility import EwmaVolatility


def random_walk(rng: np.random.Generator, vol: EwmaVolatility, start: float, mid: float, seconds: float,
                sigma: float, step_s: float = 0.1) -> tuple[float, float]:
    """Feed a Gaussian random walk of `sigma` price per sqrt(second), one mid every `step_s`."""
    steps = int(seconds / step_s)
    mids = mid + np.cumsum(rng.normal(0.0, sigma * np.sqrt(step_s), steps))
    for i, m in enumerate(mids, 1):
        vol.update(float(m), start + i * step_s)
    return start + steps * step_s, float(mids[-1])


def test_ewma_volatility_recovers_sigma_in_price_and_in_returns():
    rng = np.random.default_rng(5)
    vol = EwmaVolatility(half_life_s=1e6, sample_s=1.0)
    random_walk(rng, vol, 0.0, 1000.0, 2000.0, sigma=0.5)
    assert vol.sigma_price == pytest.approx(0.5, rel=0.05)
    assert vol.sigma_return == pytest.approx(0.5 / 1000.0, rel=0.06)
    assert vol.elapsed_s == pytest.approx(2000.0, abs=1.0)


def test_ewma_half_life_decides_how_fast_a_new_regime_shows():
    estimates = {}
    for half_life in (30.0, 1e6):
        rng = np.random.default_rng(9)
        vol = EwmaVolatility(half_life_s=half_life, sample_s=1.0)
        ts, mid = random_walk(rng, vol, 0.0, 100.0, 600.0, sigma=0.5)
        random_walk(rng, vol, ts, mid, 300.0, sigma=2.0)  # ten half-lives of the short one
        estimates[half_life] = vol.sigma_price
    assert estimates[30.0] == pytest.approx(2.0, rel=0.15)
    assert estimates[1e6] == pytest.approx(np.sqrt((600 * 0.25 + 300 * 4.0) / 900), rel=0.1)  # the blend


def test_volatility_ignores_updates_closer_than_the_sample_interval():
    vol = EwmaVolatility(half_life_s=60.0, sample_s=1.0)
    vol.update(100.0, 0.0)
    vol.update(105.0, 0.5)  # bounce inside a second: not a sample
    vol.update(100.0, 1.0)
    assert vol.sigma_price == 0.0 and vol.elapsed_s == 1.0


def poisson_trades(rng: np.random.Generator, A: float, k: float, seconds: float) -> list[tuple[float, float]]:
    """Trades arriving at rate A whose distances from mid are exponential with rate k: the rate of trades
    reaching depth delta or beyond is then exactly A exp(-k delta)."""
    n = rng.poisson(A * seconds)
    times = np.sort(rng.uniform(0.0, seconds, n))
    return list(zip(times.tolist(), rng.exponential(1.0 / k, n).tolist()))


@pytest.mark.parametrize("A, k, tick", [(5.0, 4.0, 0.01), (0.8, 300.0, 0.0001)])
def test_intensity_fit_recovers_known_a_and_k(A, k, tick):
    rng = np.random.default_rng(3)
    seconds = 12_000 / A
    fit = IntensityEstimator(half_life_s=1e7, points=30, tick_size=tick, min_trades=50, prior_rate=1.0)
    fit.start(0.0)
    for ts, distance in poisson_trades(rng, A, k, seconds):
        fit.add(distance, ts, "buy")
    A_hat, k_hat = fit.estimate(seconds, half_spread=tick)
    assert fit.fitted
    assert A_hat == pytest.approx(A, rel=0.05) and k_hat == pytest.approx(k, rel=0.05)


def test_intensity_uses_the_prior_until_enough_trades():
    fit = IntensityEstimator(half_life_s=300.0, points=30, tick_size=0.01, min_trades=50, prior_rate=2.5)
    fit.start(0.0)
    for i in range(20):
        fit.add(0.01 * (i % 5), float(i), "sell")
    assert fit.estimate(20.0, half_spread=0.04) == (2.5, pytest.approx(25.0))  # k = 1 / half-spread
    assert not fit.fitted


def test_intensity_forgets_old_trades_with_its_half_life():
    rng = np.random.default_rng(4)
    fit = IntensityEstimator(half_life_s=60.0, points=30, tick_size=0.01, min_trades=50, prior_rate=1.0)
    fit.start(0.0)
    for ts, distance in poisson_trades(rng, 5.0, 4.0, 2000.0):
        fit.add(distance, ts, "buy")
    for ts, distance in poisson_trades(rng, 5.0, 20.0, 600.0):  # the book tightens: trades print nearer mid
        fit.add(distance, 2000.0 + ts, "buy")
    _, k_hat = fit.estimate(2600.0, half_spread=0.01)
    assert k_hat == pytest.approx(20.0, rel=0.1)


def test_the_prints_of_one_sweep_count_as_one_arrival_at_its_deepest_price():
    rng = np.random.default_rng(6)
    trades = poisson_trades(rng, 5.0, 4.0, 2000.0)
    single = IntensityEstimator(half_life_s=1e7, points=30, tick_size=0.01, min_trades=50, prior_rate=1.0)
    swept = IntensityEstimator(half_life_s=1e7, points=30, tick_size=0.01, min_trades=50, prior_rate=1.0)
    for i, (ts, distance) in enumerate(trades):
        side = "buy" if i % 2 else "sell"
        single.add(distance, ts, side)
        for share in (0.2, 1.0, 0.6):  # one taker walking the book prints several trades at one time
            swept.add(distance * share, ts, side)
    assert swept.estimate(2000.0, 0.01) == pytest.approx(single.estimate(2000.0, 0.01))
    assert single.estimate(2000.0, 0.01)[0] == pytest.approx(5.0, rel=0.1)
