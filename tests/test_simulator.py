"""The simulated market: reproducible, internally consistent, realistic enough, and its scenarios really happen."""

import asyncio
import math
import statistics

import pytest

from feeds.book import ApplyResult, OrderBook
from feeds.events import BookEvent, LabelEvent, OrderEvent, TradeEvent
from feeds.scenarios import SCENARIOS, Scenario
from feeds.settings import InstrumentSettings, ScenarioSettings, SimSettings
from feeds.simulator import SimSource, Simulator, parse_start

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
BTC = InstrumentSettings("sim-a", "BTC/USDT", "spot", "crypto", tick_size=0.1, lot_size=0.0001, price=65000,
                         volatility=0.6)
PERP = InstrumentSettings("sim-a", "BTC/USDT:USDT", "perp", "crypto", tick_size=0.1, lot_size=0.001,
                          price=65010, volatility=0.6)
SPY = InstrumentSettings("sim-us", "SPY", "equity", "us", tick_size=0.01, lot_size=1, price=560, volatility=0.18)
HK = InstrumentSettings("sim-hk", "0700.HK", "equity", "hk", tick_size=0.2, lot_size=100, price=380,
                        volatility=0.35)
ALL = [BTC, PERP, SPY, HK]


def run(instruments, steps, **sim):
    """Every event of `steps` steps, batch by batch."""
    simulator = Simulator(instruments, SimSettings(**sim), START)
    return [simulator.step() for _ in range(steps)], simulator


def flat(batches):
    return [event for batch in batches for event in batch]


def of(events, instrument, cls=None):
    return [e for e in events if (e.venue, e.symbol) == (instrument.venue, instrument.symbol)
            and (cls is None or isinstance(e, cls))]


def spread_bps_series(events, instrument):
    """(ts, spread in bps) after every book event of one instrument, rebuilt as a consumer would."""
    book = OrderBook(instrument.venue, instrument.symbol)
    series = []
    for event in of(events, instrument, BookEvent):
        assert book.apply(event) is ApplyResult.APPLIED
        series.append((event.ts, book.spread_bps()))
    return series


def test_same_seed_and_start_give_the_same_stream_and_another_seed_does_not():
    first, _ = run(ALL, 300, seed=3)
    second, _ = run(ALL, 300, seed=3)
    other, _ = run(ALL, 300, seed=4)
    assert flat(first) == flat(second)
    assert of(flat(first), BTC, TradeEvent) != of(flat(other), BTC, TradeEvent)


def test_an_instruments_stream_does_not_depend_on_the_others_or_their_order():
    alone = of(flat(run([HK], 200)[0]), HK)
    crowded = of(flat(run([SPY, BTC, HK, PERP], 200)[0]), HK)
    assert alone == crowded


def test_spot_and_perp_of_one_underlying_move_together():
    simulator = run([BTC, PERP], 3000)[1]
    spot, perp = (simulator.markets[i.key].fair_ticks * i.tick_size for i in (BTC, PERP))
    assert abs(math.log(perp / spot) - math.log(65010 / 65000)) < 1e-9  # same vol, same shocks


def test_steps_are_sorted_by_time_and_advance_the_clock():
    batches, simulator = run(ALL, 200)
    assert simulator.now == pytest.approx(START + 200 * 0.1)
    times = [e.ts for e in flat(batches)]
    assert times == sorted(times)
    assert all(START <= t <= START + 20.0 + 1e-6 for t in times)


def test_rebuilt_books_equal_the_simulators_book_never_cross_and_chain_their_sequence():
    batches, simulator = run(ALL, 3000)
    events = flat(batches)
    for instrument in ALL:
        updates = of(events, instrument, BookEvent)
        assert updates[0] == of(events, instrument)[0]  # the very first output is the snapshot
        assert updates[0].snapshot and updates[0].seq == 1 and updates[0].prev_seq is None
        assert all(not u.snapshot and u.prev_seq == p.seq and u.seq == p.seq + 1
                   for p, u in zip(updates, updates[1:]))
        book = OrderBook(instrument.venue, instrument.symbol)
        for update in updates:
            assert book.apply(update) is ApplyResult.APPLIED
            assert not book.is_crossed()
        bids, asks = simulator.markets[instrument.key].levels()
        assert dict(book.bids) == bids and dict(book.asks) == asks
        assert min(len(bids), len(asks)) >= 15


def test_normal_spreads_are_realistic_for_each_kind_of_market():
    events = flat(run(ALL, 3000)[0])
    median = {i.symbol: statistics.median(s for _, s in spread_bps_series(events, i)) for i in ALL}
    assert 0.05 < median["BTC/USDT"] < 1.0  # tiny tick: a few ticks wide, well under a bp
    assert 0.15 < median["SPY"] < 0.6  # one to three cents
    assert 5.0 < median["0700.HK"] < 11.0  # one or two HK$0.2 ticks


def test_trades_carry_accounts_and_order_events_follow_the_setting():
    events = flat(run([BTC, HK], 600)[0])
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert trades and all(t.buyer and t.seller and t.buyer != t.seller and t.id for t in trades)
    assert {t.side for t in trades} == {"buy", "sell"}
    orders = [e for e in events if isinstance(e, OrderEvent)]
    assert {o.action for o in orders} == {"add", "cancel", "fill"}
    assert all(o.account and o.qty > 0 for o in orders)
    assert not any(isinstance(e, OrderEvent) for e in flat(run([BTC, HK], 600, order_events=False)[0]))


def test_event_rates_look_like_an_exchange_feed():
    seconds = 60
    events = flat(run([BTC, SPY], int(seconds / 0.1))[0])
    for instrument in (BTC, SPY):
        per_s = {cls: len(of(events, instrument, cls)) / seconds for cls in (BookEvent, TradeEvent, OrderEvent)}
        assert 9 <= per_s[BookEvent] <= 10.1
        assert 1 <= per_s[TradeEvent] <= 40
        assert per_s[OrderEvent] > per_s[TradeEvent]


@pytest.mark.parametrize("instrument", [BTC, SPY])
def test_prices_stay_positive_and_realised_volatility_matches_the_setting(instrument):
    """One simulated hour, the mid sampled every 10 s: annualised realised vol within a factor of 2."""
    events = flat(run([instrument], 36_000, seed=5, order_events=False)[0])
    assert all(e.price > 0 for e in of(events, instrument, TradeEvent))
    mids, next_sample = [], START
    book = OrderBook(instrument.venue, instrument.symbol)
    for event in of(events, instrument, BookEvent):
        book.apply(event)
        if event.ts >= next_sample:
            mids.append(book.mid())
            next_sample += 10.0
    returns = [math.log(b / a) for a, b in zip(mids, mids[1:])]
    realised = statistics.pstdev(returns) * math.sqrt(365 * 24 * 3600 / 10.0)
    assert instrument.volatility / 2 < realised < instrument.volatility * 2


def scenario(kind, instrument, at, duration, magnitude=1.0):
    return ScenarioSettings(kind, instrument.key, at, duration, magnitude)


def test_each_scenario_leaves_exactly_one_label_with_its_absolute_window():
    scenarios = [scenario("spread_wide", BTC, 5, 10, 2), scenario("stale_feed", HK, 8.05, 6)]
    events = flat(run([BTC, HK], 250, scenarios=scenarios)[0])
    labels = [e for e in events if isinstance(e, LabelEvent)]
    assert [(l.venue, l.symbol, l.kind, l.start, l.end) for l in labels] == [
        ("sim-a", "BTC/USDT", "spread_wide", START + 5, START + 15),
        ("sim-hk", "0700.HK", "stale_feed", START + 8.05, START + 14.05)]
    assert all(l.ts == l.start for l in labels)
    assert {"spread_wide", "stale_feed"} <= set(SCENARIOS)


@pytest.mark.parametrize("instrument", [BTC, SPY, HK])
def test_spread_wide_blows_the_spread_out_for_its_window_then_recovers(instrument):
    events = flat(run([instrument], 900, scenarios=[scenario("spread_wide", instrument, 30, 30)])[0])
    series = spread_bps_series(events, instrument)
    before = statistics.median(s for t, s in series if t < START + 30)
    during = statistics.median(s for t, s in series if START + 30.5 < t < START + 60)
    after = statistics.median(s for t, s in series if t > START + 65)
    assert during > 3 * before and during > 5.0
    assert after < 2 * before


def test_stale_feed_silences_the_instrument_then_resyncs_it_with_a_snapshot():
    events = flat(run([BTC, HK], 400, scenarios=[scenario("stale_feed", HK, 10, 15)])[0])
    start, end = START + 10, START + 25
    hk = [e for e in of(events, HK) if not isinstance(e, LabelEvent)]
    assert not [e for e in hk if start < e.ts < end]
    assert [e for e in of(events, BTC) if start < e.ts < end]  # the others keep going
    resumed = next(e for e in hk if e.ts >= end)
    assert isinstance(resumed, BookEvent) and resumed.snapshot and resumed.prev_seq is None
    assert resumed.ts - end < 0.2
    previous = [e for e in hk if isinstance(e, BookEvent) and e.ts <= start][-1]
    assert resumed.seq == previous.seq + 1
    book = OrderBook(HK.venue, HK.symbol)
    assert [book.apply(e) for e in hk if isinstance(e, BookEvent)].count(ApplyResult.GAP) == 0


def test_a_new_scenario_kind_is_one_small_class(monkeypatch):
    class Gap(Scenario):
        kind = "gap_for_test"

        def on_start(self, market):
            market.log_fair += math.log(1 + self.settings.magnitude / 100)

    monkeypatch.setitem(SCENARIOS, Gap.kind, Gap)
    events = flat(run([SPY], 100, scenarios=[scenario("gap_for_test", SPY, 5, 1, magnitude=1.0)])[0])
    book, mids = OrderBook(SPY.venue, SPY.symbol), {}
    for event in of(events, SPY, BookEvent):
        book.apply(event)
        mids[round(event.ts - START, 1)] = book.mid()
    assert [e.kind for e in events if isinstance(e, LabelEvent)] == ["gap_for_test"]
    assert mids[6.0] / mids[4.9] == pytest.approx(1.01, abs=0.002)  # the book followed within a second


def test_bad_scenarios_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown scenario kind 'meteor'"):
        Simulator([BTC], SimSettings(scenarios=[scenario("meteor", BTC, 1, 1)]), START)
    with pytest.raises(ValueError, match="unknown instrument 'sim-us:SPY'"):
        Simulator([BTC], SimSettings(scenarios=[scenario("stale_feed", SPY, 1, 1)]), START)


async def test_sim_source_at_full_speed_stops_at_until_ts():
    source = SimSource([BTC, SPY], SimSettings(speed=0), START, until_ts=START + 5.0)
    batches = []
    await asyncio.wait_for(source.run(batches.append), timeout=10)
    times = [e.ts for e in flat(batches)]
    assert source.name == "sim" and times == sorted(times)
    assert START + 4.8 < times[-1] <= START + 5.0


def test_parse_start_reads_iso_utc_and_defaults_to_now():
    assert parse_start(SimSettings(start="2026-01-01T00:00:00Z")) == START
    assert parse_start(SimSettings(start="2026-01-01T08:00:00+08:00")) == START
    now = parse_start(SimSettings())
    assert now == int(now) and abs(now - __import__("time").time()) < 5
    with pytest.raises(ValueError, match="sim.start"):
        parse_start(SimSettings(start="yesterday"))
