"""volume_spike's usual volume does not learn an anomaly, nor its aftermath: the heavy trading as prices
realign right after another alert clears would otherwise raise the baseline's tail and hide the next spike."""

from console.runtime import Runtime
from detectors.settings import DetectorSettings
from feeds.settings import InstrumentSettings, VenueSettings
from synthetic_market import SyntheticMarket

T0 = 1_767_225_600.0
SPOT = InstrumentSettings("ex", "ABC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.001, price=100.0)


def opened(rt: Runtime, kind: str) -> list[float]:
    return [a.ts - T0 for a in rt.engine.history if a.kind == kind]


def test_the_trading_right_after_an_alert_clears_does_not_hide_the_next_volume_spike():
    market = SyntheticMarket(SPOT, T0)
    rt = Runtime([VenueSettings("ex")], [SPOT], DetectorSettings())
    rt.dispatch([market.snapshot(), *market.run(120.0)])  # ~3 a second of ~1 each: 2 s windows of ~7
    market.half_spread_ticks = 40  # 80 bps wide for 10 s: spread_wide
    rt.dispatch(market.run(10.0))
    market.half_spread_ticks = 1
    alerting = rt.instruments[(SPOT.venue, SPOT.symbol)].hooks.context.alerting
    for _ in range(40):  # the book is back: its alerts clear ...
        rt.dispatch(market.run(0.5))
        if not alerting:
            break
    assert opened(rt, "spread_wide") and not alerting
    rt.dispatch(market.run(4.0, trade_qty=12.0))  # ... and prices realign on heavy trading
    rt.dispatch(market.run(60.0))
    rt.dispatch(market.run(4.0, trade_qty=25.0))  # 25x the usual volume: a spike
    assert [ts for ts in opened(rt, "volume_spike") if ts > 190.0]
