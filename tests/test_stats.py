"""Streaming statistics agree with numpy on random data, warm up, reset, and refuse non-finite samples."""

import math

import numpy as np
import pytest

from detectors.quantiles import MAD_TO_SIGMA, RollingQuantile
from detectors.stats import Cusum, EveryGrid, Ewma, KeyedCounter, RollingWindow, TimeWindow

RNG = np.random.default_rng(20260101)


def test_rolling_window_matches_numpy_over_the_last_n_even_at_a_large_level():
    data = 65_000.0 + RNG.normal(0.0, 0.05, 5_000)  # a price-like level with a tiny variance
    window = RollingWindow(300, warmup=30)
    for i, x in enumerate(data):
        window.add(x)
        if i % 97 == 0 or i == len(data) - 1:
            tail = data[max(0, i - 299):i + 1]
            assert window.mean == pytest.approx(tail.mean(), rel=1e-12)
            if len(tail) > 1:
                assert window.std == pytest.approx(tail.std(ddof=1), rel=1e-6)
    assert window.zscore(data[-1]) == pytest.approx((data[-1] - data[-300:].mean()) / data[-300:].std(ddof=1),
                                                    rel=1e-6)


def test_time_window_matches_numpy_over_the_last_span_of_market_time():
    ts = np.cumsum(RNG.exponential(0.3, 3_000))
    values = RNG.lognormal(0.0, 1.0, 3_000)
    window = TimeWindow(10.0)
    for i, (t, v) in enumerate(zip(ts, values)):
        window.add(t, v)
        inside = values[(ts > t - 10.0) & (ts <= t)]
        if i % 101 == 0:
            assert window.count == len(inside)
            assert window.total == pytest.approx(inside.sum(), rel=1e-9)
            if len(inside) > 1:
                assert window.std == pytest.approx(inside.std(ddof=1), rel=1e-6)
    window.expire(ts[-1] + 11.0)
    assert window.count == 0 and window.total == pytest.approx(0.0, abs=1e-9)


def test_ewma_equals_its_explicit_weighted_mean_and_variance():
    data = RNG.normal(5.0, 2.0, 400)
    ewma = Ewma(half_life=20.0)
    for x in data:
        ewma.add(x)
    decay = 0.5 ** (1 / 20.0)
    n = len(data)
    # the n-th sample weighs max(1 - decay, 1/n): equal weights while warming up, exponential after
    alphas = np.array([max(1.0 - decay, 1.0 / (i + 1)) for i in range(n)])
    keep = np.append(np.cumprod((1.0 - alphas)[::-1])[::-1][1:], 1.0)  # product of (1 - alpha) of later samples
    weights = alphas * keep
    assert weights.sum() == pytest.approx(1.0)
    mean = (weights * data).sum()
    assert ewma.mean == pytest.approx(mean, rel=1e-9)
    assert ewma.variance == pytest.approx((weights * (data - mean) ** 2).sum(), rel=1e-9)


def test_ewma_starts_from_the_average_not_the_first_sample():
    ewma = Ewma(half_life=1000.0, warmup=10)
    for x in [100.0] + [1.0] * 99:
        ewma.add(x)
    assert ewma.ready and ewma.mean == pytest.approx(1.99)  # the plain average, not 100 decaying slowly


@pytest.mark.parametrize("size", [7, 50, 201])
def test_rolling_quantile_median_and_mad_match_numpy(size):
    data = np.concatenate([RNG.normal(0, 1, 600), RNG.integers(0, 4, 400).astype(float)])  # ties included
    window = RollingQuantile(size)
    for i, x in enumerate(data):
        window.add(x)
        if i % 37 == 0 or i == len(data) - 1:
            tail = data[max(0, i - size + 1):i + 1]
            for q in (0.0, 0.05, 0.5, 0.95, 0.99, 1.0):
                assert window.quantile(q) == pytest.approx(np.quantile(tail, q), abs=1e-12)
            assert window.mad() == pytest.approx(np.median(np.abs(tail - np.median(tail))), abs=1e-12)


def test_robust_z_uses_median_and_scaled_mad_with_a_floor():
    robust = RollingQuantile(100, warmup=10)
    assert robust.robust_z(1.0, floor=0.5) is None  # warming up
    data = RNG.normal(10.0, 3.0, 100)
    for x in data:
        robust.add(x)
    median, mad = np.median(data), np.median(np.abs(data - np.median(data)))
    assert robust.robust_z(25.0, floor=0.5) == pytest.approx((25.0 - median) / (MAD_TO_SIGMA * mad))
    flat = RollingQuantile(10)
    for _ in range(10):
        flat.add(2.0)
    assert flat.robust_z(3.0, floor=0.5) == pytest.approx(2.0)  # MAD 0: the floor keeps the score finite


def test_cusum_matches_the_lindley_recursion_on_both_sides():
    z = RNG.normal(0.0, 1.0, 500) + np.where(np.arange(500) > 300, 1.5, 0.0)  # a shift after sample 300
    cusum = Cusum(k=0.5, h=5.0, warmup=20)
    upper = []
    for x in z:
        cusum.add(x)
        upper.append(cusum.upper)
    walk = np.concatenate([[0.0], np.cumsum(z - 0.5)])
    expected = (walk - np.minimum.accumulate(walk))[1:]  # S_n = C_n - min_{j<=n} C_j
    assert np.allclose(upper, expected)
    assert cusum.alarm and cusum.score > 0  # the upward shift is found
    lower = Cusum(k=0.5, h=5.0)
    for x in -z:
        lower.add(x)
    assert lower.score < -5.0


def test_every_statistic_warms_up_resets_and_refuses_non_finite_samples():
    stats = [RollingWindow(10, warmup=5), RollingQuantile(10, warmup=5), Ewma(5.0, warmup=5), Cusum(warmup=5)]
    for stat in stats:
        for x in (1.0, 2.0, 3.0, 4.0):
            stat.add(x)
        assert not stat.ready
        for bad in (math.nan, math.inf, -math.inf):
            assert stat.add(bad) is False
        assert stat.rejected == 3
        stat.add(5.0)
        assert stat.ready
        stat.reset()
        assert not stat.ready
    window = RollingWindow(10)
    for x in (1.0, math.nan, 3.0):
        window.add(x)
    assert window.mean == 2.0  # the bad sample never reached the sums
    time_window = TimeWindow(5.0)
    assert time_window.add(1.0, math.nan) is False and time_window.add(math.nan, 1.0) is False


def test_keyed_counter_counts_per_key_over_a_span_and_grid_falls_on_fixed_times():
    counter = KeyedCounter(10.0)
    assert counter.add(0.0, "a") == 1 and counter.add(5.0, "a") == 2 and counter.add(6.0, "b") == 1
    counter.expire(10.5)
    assert counter.counts == {"a": 1, "b": 1}
    grid = EveryGrid(1.0)
    assert [t for t in (0.2, 0.7, 1.0, 1.1, 2.95, 3.0) if grid.due(t)] == [0.2, 1.0, 2.95, 3.0]
