"""An instrument fed only minute bars carries the detectors a bar feed can feed: the radar shows no book or
trade detector warming up for ever on it, and a book arriving after all brings those detectors back."""

from console.runtime import Runtime
from console.widgets.model import families, instrument_cells
from detectors.settings import DetectorSettings
from feeds.events import BarEvent, BookEvent, TradeEvent
from feeds.settings import InstrumentSettings, VenueSettings

T0 = 1_772_460_000.0  # 2026-03-02 14:00 UTC; the runtime has no calendar here, so the market is always open
BARS = InstrumentSettings("us", "SPY", "equity", "us", tick_size=0.01, lot_size=1.0)
TICKS = InstrumentSettings("ex", "ABC/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.001)
KEY, TICK_KEY = (BARS.venue, BARS.symbol), (TICKS.venue, TICKS.symbol)


def bars(count: int, start: float = T0) -> list[BarEvent]:
    return [BarEvent(start + 60.0 * i, "us", "SPY", "1m", 500.0, 500.2, 499.8, 500.1, 10_000.0, bid=500.09, ask=500.11)
            for i in range(count)]


def book(ts: float, venue: str, symbol: str) -> BookEvent:
    return BookEvent(ts, venue, symbol, True, [(499.99, 100.0)], [(500.01, 100.0)], 1)


def runtime() -> Runtime:
    return Runtime([VenueSettings("us", freshness_s=120.0), VenueSettings("ex")], [BARS, TICKS], DetectorSettings())


def notes(rt: Runtime, key) -> list[str]:
    return [note for cell in instrument_cells(rt, key).values() for note in cell.notes]


def test_a_bar_fed_instrument_shows_no_detector_warming_up_for_ever():
    rt = runtime()
    rt.dispatch([book(T0, "ex", "ABC/USDT")])
    rt.dispatch(bars(150))  # two and a half hours: the bar detectors' own warm-up is over
    cells = instrument_cells(rt, KEY)
    assert not [note for note in notes(rt, KEY) if "warming" in note]
    assert {cell.state for cell in cells.values()} == {"ok"}
    kinds = {detector.kind for detector in rt.instruments[KEY].detectors}
    assert {"stale_feed", "feed_gap", "volume_spike", "spread_wide", "price_gap"} <= kinds  # bars' own and the feed's
    assert not kinds & {"momentum_ignition", "depth_floor", "wash_trading", "quote_stuffing"}
    # the book-fed instrument beside it keeps every column, warming up as it should
    assert "abuse" in instrument_cells(rt, TICK_KEY) and "abuse" in families(rt)
    assert any("warming" in note for note in notes(rt, TICK_KEY))


def test_a_book_after_the_bars_brings_the_book_and_trade_detectors_back():
    rt = runtime()
    rt.dispatch(bars(3))
    later = T0 + 200.0
    rt.dispatch([book(later, "us", "SPY"), TradeEvent(later, "us", "SPY", 500.01, 5.0, "buy")])
    kinds = [detector.kind for detector in rt.instruments[KEY].detectors]
    assert "momentum_ignition" in kinds and "depth_floor" in kinds and kinds.count("volume_spike") == 2
    assert "abuse" in instrument_cells(rt, KEY)
    assert any(note.startswith("volume_spike: warming") for note in notes(rt, KEY))


def test_an_instrument_whose_book_came_first_keeps_its_book_detectors_when_bars_come_too():
    rt = runtime()
    rt.dispatch([book(T0, "us", "SPY"), *bars(3, T0 + 1.0)])
    kinds = {detector.kind for detector in rt.instruments[KEY].detectors}
    assert {"momentum_ignition", "depth_floor", "book_depletion"} <= kinds
