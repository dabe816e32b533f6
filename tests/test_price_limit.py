"""The price_limit detector: A-share bands per board from the previous close, warning near a limit, critical at
it, the day boundary in Shanghai time, and a limit-locked book that book_depletion does not mistake for
liquidity leaving (the simulator's limit-up scenario)."""

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from console.config import default_config_path, load_config
from console.evaluate import simulate
from detectors.base import InstrumentContext
from detectors.dispatch import build_detectors
from detectors.settings import DetectorSettings
from feeds.book import OrderBook
from feeds.calendars import MarketCalendar
from feeds.events import BookEvent, TradeEvent
from feeds.settings import InstrumentSettings, MarketsSettings, ScenarioSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI).timestamp()  # a Monday, continuous trading
DAY2 = datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI).timestamp()


class Watched:
    """One instrument's detectors fed by hand, collecting what they signal. `overrides` change a kind's defaults
    (kind -> field -> value); `settings` replaces the detector settings as a whole (a config's)."""

    def __init__(self, symbol: str, prev_close: float | None = None, overrides: dict | None = None,
                 market: str = "cn", tick_size: float = 0.01, settings: DetectorSettings | None = None) -> None:
        self.venue = f"sim-{market}"
        instrument = InstrumentSettings(self.venue, symbol, "equity", market, tick_size=tick_size, lot_size=100,
                                        prev_close=prev_close)
        self.book = OrderBook(self.venue, symbol)
        self.signals = []
        self.context = InstrumentContext(instrument, self.book, self.signals.append,
                                         calendar=MarketCalendar(market, getattr(MarketsSettings(), market)))
        if settings is None:
            settings = DetectorSettings({kind: replace(DetectorSettings().params_for(kind, instrument.key), **changes)
                                         for kind, changes in (overrides or {}).items()})
        self.hooks = build_detectors(self.context, settings)
        self.seq = 0

    def trade(self, ts: float, price: float) -> None:
        event = TradeEvent(ts, self.venue, self.context.instrument.symbol, price, 100.0, "buy")
        for hook in self.hooks.trade:
            hook(self.book, event)
        self.tick(ts)

    def quote(self, ts: float, bids: list, asks: list) -> None:
        self.seq += 1
        event = BookEvent(ts, self.venue, self.context.instrument.symbol, True, bids, asks, self.seq, None)
        self.book.apply(event)
        for hook in self.hooks.book:
            hook(self.book, event)

    def tick(self, ts: float) -> None:
        for hook in self.hooks.tick:
            hook(ts)

    def of(self, kind: str) -> list:
        return [s for s in self.signals if s.kind == kind]

    @property
    def price_limit(self):
        return next(d for d in self.hooks.detectors if d.kind == "price_limit")

    @property
    def limits(self):
        return self.price_limit.limits


@pytest.mark.parametrize("symbol, st, prev_close, low, high", [
    ("600519.SS", False, 10.05, 9.05, 11.06),  # main board +-10%, half-up: 11.055 -> 11.06, 9.045 -> 9.05
    ("000001.SZ", True, 10.05, 9.55, 10.55),  # ST main board +-5%: 10.5525 -> 10.55, 9.5475 -> 9.55
    ("300750.SZ", False, 200.03, 160.02, 240.04),  # ChiNext +-20%: 240.036 -> 240.04, 160.024 -> 160.02
    ("688981.SS", False, 45.67, 36.54, 54.80),  # STAR +-20%: 54.804 -> 54.80, 36.536 -> 36.54
])
def test_the_band_follows_the_board_and_rounds_half_up_to_the_tick(symbol, st, prev_close, low, high):
    watched = Watched(symbol, prev_close, {"price_limit": {"st": st}})
    watched.trade(DAY1, prev_close)
    band = watched.limits.band
    assert (band.low, band.high) == (pytest.approx(low), pytest.approx(high))


def test_us_stocks_get_no_price_limit_detector():  # A-shares have daily limits, HK stocks the VCM (test_vcm)
    settings = InstrumentSettings("sim-us", "SPY", "equity", "us", tick_size=0.01)
    context = InstrumentContext(settings, OrderBook("sim-us", "SPY"), lambda s: None)
    assert "price_limit" not in {d.kind for d in build_detectors(context, DetectorSettings()).detectors}


def test_near_the_limit_warns_at_it_is_critical_and_leaving_it_clears():
    watched = Watched("600519.SS", prev_close=1500.0)
    watched.trade(DAY1, 1500.0)
    watched.trade(DAY1 + 1, 1620.0)  # 30 CNY = 2% of the close from the 1650 limit: quiet
    assert watched.of("price_limit") == []
    watched.trade(DAY1 + 2, 1640.0)  # within 1%
    assert [s.severity for s in watched.of("price_limit")] == ["warning"]
    assert watched.of("price_limit")[-1].evidence["limit"] == 1650.0
    watched.trade(DAY1 + 3, 1650.0)
    assert watched.of("price_limit")[-1].severity == "critical"
    assert "at the up limit 1650" in watched.of("price_limit")[-1].message
    watched.trade(DAY1 + 4, 1600.0)  # more than 2% away: clears (hysteresis)
    assert watched.of("price_limit")[-1].severity is None


def test_the_down_limit_too():
    watched = Watched("300750.SZ", prev_close=200.0)
    watched.trade(DAY1, 161.0)  # ChiNext: down limit 160, 1 CNY = 0.5% of the close away
    assert watched.of("price_limit")[-1].severity == "warning"
    assert watched.of("price_limit")[-1].evidence["side"] == "down"


def test_the_next_day_bands_around_the_last_price_of_the_day_before():
    watched = Watched("600519.SS")  # no prev_close setting: the first price seen stands in
    watched.trade(DAY1, 1000.0)
    assert watched.limits.band.high == pytest.approx(1100.0)
    watched.trade(DAY1 + 3600, 1080.0)  # 11:00 Shanghai, the day's last print
    watched.trade(DAY2, 1090.0)
    assert watched.limits.prev_close == 1080.0
    assert watched.limits.band.high == pytest.approx(1188.0)


@pytest.mark.parametrize("band_known", [True, False])
def test_a_locked_book_is_critical_and_not_depletion(band_known):
    """Locked at limit-up: a buyers' queue at 1650 and the odd seller at 1650 taken at once. Without the band
    (price_limit switched off) book_depletion reads that thin ask side as liquidity leaving."""
    watched = Watched("600519.SS", 1500.0, None if band_known else {"price_limit": {"enabled": False}})
    quality = pinned_book_alerts(watched, DAY1, 1500.0, 0.01, 50.0, 1650.0)
    if not band_known:
        assert quality
        return
    limit = watched.of("price_limit")
    assert limit and limit[-1].severity == "critical" and limit[-1].evidence["locked"]
    assert "no sellers" in limit[-1].message
    assert quality == []


def pinned_book_alerts(watched: Watched, ts: float, price: float, tick: float, size: float, pinned: float,
                       before: float | None = None) -> list:
    """A normal two-sided book around `price` (`size` at the best levels) long enough for book_depletion's
    warm-up (a sample every 2 s), then (after a trade at `before`, if given) buyers queued at `pinned` whose odd
    seller is taken at once: the book_depletion / depth_floor alerts raised."""
    near, far = (size, 0.8 * size)
    for _ in range(80):
        watched.quote(ts, [(price - tick, near), (price - 2 * tick, far)],
                      [(price + tick, near), (price + 2 * tick, far)])
        watched.trade(ts, price)
        ts += 1.0
    assert watched.of("book_depletion") == []
    if before is not None:
        watched.trade(ts, before)
    for _ in range(20):
        watched.quote(ts, [(pinned, 5000.0)], [(pinned, 0.01)])
        watched.trade(ts, pinned)
        ts += 1.0
    return [s for s in watched.signals if s.kind in ("book_depletion", "depth_floor") and s.severity]


def _limit_up_run(config):
    """The simulated A-shares with a limit-up injected on Moutai after two minutes of warm-up."""
    cn = [i for i in config.instruments if i.venue == "sim-cn"]
    config = replace(config, instruments=cn, sim=replace(config.sim, start="2026-03-02T02:00:00Z"))
    scenario = ScenarioSettings("price_limit", "sim-cn:600519.SS", 120.0, 20.0)
    alerts, labels, _, _ = simulate(config, [scenario], 150.0)
    return [a for a in alerts if a.symbol == "600519.SS"], labels


def test_the_simulated_limit_up_raises_price_limit_and_no_book_depletion():
    config = load_config(default_config_path())
    alerts, labels = _limit_up_run(config)
    (label,) = labels
    limit = [a for a in alerts if a.kind == "price_limit"]
    assert limit and label.start <= limit[0].ts <= label.start + 2.0
    assert limit[0].severity == "critical" and "locked at the up limit 1650" in limit[0].message
    assert not [a for a in alerts if a.kind in ("book_depletion", "depth_floor")]
