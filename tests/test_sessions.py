"""Market sessions through the real runtime, simulator and replay: detectors rest while a market is closed or
at lunch, the freshness clock restarts at the open, statistics carry over lunch and reset at a new day."""

import asyncio
import glob
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console.config import load_config
from console.runtime import Runtime
from console.widgets.bars import session_parts
from console.wiring import replay_runtime
from detectors.quality import SpreadWideParams
from detectors.settings import DetectorSettings
from feeds.events import BookEvent
from feeds.settings import InstrumentSettings, MarketsSettings, SimSettings, VenueSettings
from feeds.simulator import Simulator

from conftest import ROOT

NEW_YORK, HONG_KONG = ZoneInfo("America/New_York"), ZoneInfo("Asia/Hong_Kong")
SPY = InstrumentSettings("nyse", "SPY", "equity", "us", tick_size=0.01, lot_size=1, price=560.0)
TENCENT = InstrumentSettings("hkex", "0700.HK", "equity", "hk", tick_size=0.2, lot_size=100, price=380.0)
BTC = InstrumentSettings("coin", "BTC/USDT", "spot", "crypto", tick_size=0.1, lot_size=0.001, price=65000.0)
FEED_ALERTS = {"stale_feed", "feed_gap"}
SPY_BARS = sorted(glob.glob("/work/shared/data/equity-us/spy/*.zip"))


def at(zone: ZoneInfo, text: str) -> float:
    """Epoch seconds of a wall-clock time in `zone` ("2026-03-06 15:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def make_runtime(*instruments, markets=MarketsSettings(), detectors=DetectorSettings()):
    venues = [VenueSettings(i.venue, freshness_s=5.0) for i in instruments]
    return Runtime(venues, instruments, detectors, markets=markets)


class Feed:
    """An L2 feed of one instrument: a snapshot, then a delta a second re-stating a one-tick-wide touch."""

    def __init__(self, runtime, inst):
        self.runtime, self.inst, self.seq = runtime, inst, 0
        self.bid = inst.price - inst.tick_size / 2
        self.ask = inst.price + inst.tick_size / 2

    def _send(self, ts, snapshot, bids, asks):
        self.seq += 1
        prev = None if snapshot else self.seq - 1
        self.runtime.dispatch([BookEvent(ts, self.inst.venue, self.inst.symbol, snapshot, bids, asks, self.seq, prev)])

    def run(self, start, end, crossed=False):
        """A snapshot at `start`, then a delta every second until `end` (crossed: bid above ask)."""
        bid, ask = (self.ask, self.bid) if crossed else (self.bid, self.ask)
        self._send(start, True, [(bid, 5000.0)], [(ask, 5000.0)])
        ts = start + 1.0
        while ts < end:
            self._send(ts, False, [(bid, 5000.0 + ts % 7)], [(ask, 5000.0 + ts % 5)])
            ts += 1.0


def idle(runtime, start, end, every=30.0):
    """Market time passing with no events, as the runtime's wall ticker runs it in a live session."""
    ts = start
    while ts < end:
        runtime.tick(ts)
        ts += every


def kinds(runtime):
    return {alert.kind for alert in runtime.engine.history}


def test_us_close_weekend_and_dst_change_raise_no_feed_alerts():
    """Friday's close to Monday's open across the 2026-03-08 DST change: the open moves to 13:30 UTC."""
    runtime = make_runtime(SPY)
    feed = Feed(runtime, SPY)
    close, monday_open = at(NEW_YORK, "2026-03-06 16:00"), at(NEW_YORK, "2026-03-09 09:30")
    assert monday_open - close == 2 * 86400 + 17.5 * 3600 - 3600  # one hour less: clocks went forward
    feed.run(at(NEW_YORK, "2026-03-06 15:30"), close)
    idle(runtime, close, monday_open)
    feed.run(monday_open, monday_open + 600)
    assert not kinds(runtime) & FEED_ALERTS
    assert runtime.instruments[("nyse", "SPY")].gate.new_days == 1


def test_a_silent_open_is_stale_counted_from_the_open():
    """The control: no data after the open is a stale feed, measured from the open, not from Friday."""
    runtime = make_runtime(SPY)
    feed = Feed(runtime, SPY)
    close, monday_open = at(NEW_YORK, "2026-03-06 16:00"), at(NEW_YORK, "2026-03-09 09:30")
    feed.run(at(NEW_YORK, "2026-03-06 15:30"), close)
    idle(runtime, close, monday_open)
    idle(runtime, monday_open, monday_open + 60.0, every=0.5)
    stale = [a for a in runtime.engine.history if a.kind == "stale_feed"]
    assert stale and monday_open + 5.0 <= stale[0].ts <= monday_open + 6.0
    assert stale[0].value <= 60.0  # seconds of silence since the open (its latest value), not since Friday


def _spread_wide(runtime, key):
    return next(d for d in runtime.instruments[key].detectors if d.kind == "spread_wide")


def test_hk_lunch_break_carries_statistics_and_a_new_day_resets_them():
    slow = DetectorSettings(defaults={"spread_wide": SpreadWideParams(window=1000, warmup=900)})
    runtime = make_runtime(TENCENT, detectors=slow)
    feed = Feed(runtime, TENCENT)
    spread = _spread_wide(runtime, ("hkex", "0700.HK"))
    feed.run(at(HONG_KONG, "2026-03-04 11:55"), at(HONG_KONG, "2026-03-04 12:00"))
    morning = spread.warmup_progress()[0]
    assert morning >= 250
    idle(runtime, at(HONG_KONG, "2026-03-04 12:00"), at(HONG_KONG, "2026-03-04 13:00"))
    feed.run(at(HONG_KONG, "2026-03-04 13:00"), at(HONG_KONG, "2026-03-04 13:02"))
    assert spread.warmup_progress()[0] >= morning + 100  # the afternoon continues the morning's warm-up
    assert not kinds(runtime) & FEED_ALERTS
    idle(runtime, at(HONG_KONG, "2026-03-04 16:00"), at(HONG_KONG, "2026-03-05 09:30"))
    feed.run(at(HONG_KONG, "2026-03-05 09:30"), at(HONG_KONG, "2026-03-05 09:31"))
    assert spread.warmup_progress()[0] <= 60  # a new trading day: warming up again
    assert not kinds(runtime) & FEED_ALERTS


def test_holiday_and_auction_keep_detectors_resting_until_the_open():
    """A crossed book on a holiday (HK, 2026-01-01) and in the opening auction raises nothing; at the open it
    does (the control)."""
    runtime = make_runtime(TENCENT)
    feed = Feed(runtime, TENCENT)
    feed.run(at(HONG_KONG, "2026-01-01 10:00"), at(HONG_KONG, "2026-01-01 10:05"), crossed=True)
    assert runtime.market_sessions(at(HONG_KONG, "2026-01-01 10:05"))[0].state == "closed"
    feed.run(at(HONG_KONG, "2026-01-02 09:00"), at(HONG_KONG, "2026-01-02 09:20"), crossed=True)
    assert runtime.engine.history == []
    feed.run(at(HONG_KONG, "2026-01-02 09:30"), at(HONG_KONG, "2026-01-02 09:31"), crossed=True)
    assert "crossed_book" in kinds(runtime)


def test_crypto_runs_through_the_equity_close():
    """BTC goes silent at the US close: a stale feed, whatever the US market does."""
    runtime = make_runtime(SPY, BTC)
    close = at(NEW_YORK, "2026-03-04 16:00")
    Feed(runtime, BTC).run(close - 60.0, close)
    idle(runtime, close, close + 30.0, every=0.5)
    assert [(a.symbol, a.kind) for a in runtime.engine.history] == [("BTC/USDT", "stale_feed")]


def test_market_sessions_give_the_next_open_and_the_status_bar_says_it():
    runtime = make_runtime(BTC, SPY, TENCENT)
    friday_evening = at(NEW_YORK, "2026-03-06 21:00")  # Saturday 10:00 in Hong Kong
    sessions = {s.market: s for s in runtime.market_sessions(friday_evening)}
    assert sessions["crypto"].state == "open" and sessions["crypto"].until == float("inf")
    assert sessions["us"].state == "closed" and sessions["us"].next_open == at(NEW_YORK, "2026-03-09 09:30")
    assert sessions["hk"].next_open == at(HONG_KONG, "2026-03-09 09:30")
    thursday = at(NEW_YORK, "2026-04-02 17:00")  # Good Friday (2026-04-03) is an NYSE holiday
    assert runtime.market_sessions(thursday)[1].next_open == at(NEW_YORK, "2026-04-06 09:30")
    lunch = at(HONG_KONG, "2026-03-04 12:12")
    text = "".join(p if isinstance(p, str) else p[0] for p in session_parts(runtime.market_sessions(lunch)))
    assert text == "us:closed 10h18m hk:break 48m "  # crypto (24/7) is left out


def test_simulated_equities_are_silent_outside_their_sessions():
    tencent = InstrumentSettings("sim-hk", "0700.HK", "equity", "hk", tick_size=0.2, lot_size=100, price=380.0)
    sim = Simulator([tencent, BTC], SimSettings(seed=3, order_events=False), at(HONG_KONG, "2026-03-04 11:59:50"),
                    MarketsSettings())
    events = []
    while sim.now < at(HONG_KONG, "2026-03-04 13:00:10"):
        events += sim.step()
    noon, one = at(HONG_KONG, "2026-03-04 12:00"), at(HONG_KONG, "2026-03-04 13:00")
    hk = [e for e in events if e.symbol == "0700.HK"]
    assert hk and not [e for e in hk if noon < e.ts < one]
    reopening = [e for e in hk if e.ts >= one]
    assert reopening[0].t == "book" and reopening[0].snapshot  # a fresh snapshot at the open
    assert [e for e in events if e.symbol == "BTC/USDT" and noon < e.ts < one]  # crypto trades on


@pytest.mark.skipif(not SPY_BARS, reason="the equity-us data set is not present")
@pytest.mark.parametrize("markets", ["config", None], ids=["sessions", "control-without-sessions"])
def test_spy_bar_replay_has_no_stale_feed_over_nights(markets):
    """A week of SPY minute bars with pre-market rows: nights and pre-market are no stale feed. Without the
    calendars (the control), the same replay raises stale feeds over the closures."""
    config = load_config(ROOT / "config.yaml")
    runtime = replay_runtime(config, [Path(p) for p in SPY_BARS], speed=0.0)
    if markets is None:
        runtime = Runtime(config.venues, [], config.detectors, runtime.sources, catalogue=runtime.catalogue.values())
    asyncio.run(runtime.run())
    stale = [a for a in runtime.engine.history if a.kind == "stale_feed"]
    assert (stale == []) if markets else stale
