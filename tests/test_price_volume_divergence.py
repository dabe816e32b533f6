"""price_volume_divergence's second leg (FORMAT.md: "volume surges while price moves against it") on a seeded
hand-made market: heavy buying while the price falls fires; the same buying while the price rises does not."""

from console.runtime import Runtime
from detectors.settings import DetectorSettings
from feeds.settings import InstrumentSettings, VenueSettings
from synthetic_market import SyntheticMarket

T0 = 1_767_225_600.0
SPOT = InstrumentSettings("ex", "ABC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.001, price=100.0)
WARM_S = 90.0  # the volatility (10 s returns) and the usual window volume are learnt by then


def divergences(drift_ticks: int) -> list:
    """Warm a calm market, then for 2 s buyers take 90% of ten times the usual volume while the mid moves
    `drift_ticks` every half second; the price_volume_divergence alerts."""
    market = SyntheticMarket(SPOT, T0, max_step_ticks=1)
    rt = Runtime([VenueSettings("ex")], [SPOT], DetectorSettings())
    rt.dispatch([market.snapshot(), *market.run(WARM_S)])
    rt.dispatch(market.run(2.0, buy_share=0.9, trade_qty=10.0, drift_ticks=drift_ticks))
    rt.dispatch(market.run(3.0))
    return [a for a in rt.engine.history if a.kind == "price_volume_divergence"]


def test_a_volume_surge_of_buyers_while_the_price_falls_is_a_divergence():
    alerts = divergences(drift_ticks=-4)  # about -16 bps in 2 s, on ~1 bps of noise a second
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.severity == "warning"
    assert alert.evidence["move_bps"] <= -10 and alert.evidence["volume_ratio"] >= 3
    assert alert.evidence["imbalance"] >= 0.3  # buyers, against the fall
    assert "against" in alert.message and "aggressor imbalance" in alert.message


def test_the_same_surge_moving_the_price_its_own_way_is_not():
    assert divergences(drift_ticks=4) == []
