"""momentum_ignition on a seeded hand-made market: a sweep far larger than usual that moves the price far
more than the market's own noise, then its author trading the other way, is an ignition; an ordinary-size
order through stale levels (a pick-off after a jump) or a big order lost in a volatile market is not."""

import pytest

from console.runtime import Runtime
from detectors.settings import DetectorSettings
from feeds.settings import InstrumentSettings, VenueSettings
from synthetic_market import SyntheticMarket

T0 = 1_767_225_600.0
SPOT = InstrumentSettings("ex", "ABC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.001, price=100.0)
IGNITER = "acct-900"
WARM_S = 90.0  # the usual order size and the volatility are learnt by then


def ignitions(max_step_ticks: int, sweep_qty: float, levels: int = 8, account: str | None = IGNITER,
              back_share: float = 0.6) -> list:
    """Warm a market, sweep `levels` levels for `sweep_qty` (the usual order is about 1), trade `back_share`
    of it back a second later, and return the momentum_ignition alerts."""
    market = SyntheticMarket(SPOT, T0, max_step_ticks=max_step_ticks)
    rt = Runtime([VenueSettings("ex")], [SPOT], DetectorSettings())
    rt.dispatch([market.snapshot(), *market.run(WARM_S)])
    rt.dispatch(market.sweep("buy", levels, sweep_qty, account))
    rt.dispatch(market.run(1.0))
    rt.dispatch(market.prints([market.bid], back_share * sweep_qty, "sell", account))
    rt.dispatch(market.run(2.0))
    return [a for a in rt.engine.history if a.kind == "momentum_ignition"]


def test_a_large_sweep_that_moves_a_calm_market_then_reverses_is_an_ignition():
    alerts = ignitions(max_step_ticks=1, sweep_qty=40.0)  # 40x the usual order, 7 bps on ~1 bps of noise
    assert len(alerts) == 1
    assert alerts[0].evidence["account"] == IGNITER and alerts[0].evidence["levels"] == 8
    assert "buy sweep of 8 levels" in alerts[0].message


def test_an_ordinary_size_order_through_several_levels_then_reversed_is_not():
    # what the plain simulator does after a jump: the first taker picks off the stale levels, and by chance
    # trades the other way seconds later
    assert ignitions(max_step_ticks=1, sweep_qty=8.0) == []


def test_a_large_sweep_whose_move_is_within_the_markets_noise_is_not():
    # the same order and move, on a market whose half-second moves are several ticks
    assert ignitions(max_step_ticks=4, sweep_qty=40.0) == []


@pytest.mark.parametrize("levels, fires", [(8, False), (14, True)])
def test_without_account_data_only_a_sweep_across_the_tape_floor_counts(levels, fires):
    # 7 bps is under tape_min_move_bps (10), 13 bps is over: then anyone trading 2.5x it the other way
    alerts = ignitions(max_step_ticks=1, sweep_qty=40.0, levels=levels, account=None, back_share=2.5)
    assert len(alerts) == fires
