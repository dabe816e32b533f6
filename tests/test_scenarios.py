"""The injected anomalies really happen in the simulated market, each with its label, reproducibly."""

from dataclasses import replace

import pytest

from detectors import DETECTORS
from feeds.book import ApplyResult, OrderBook
from feeds.events import BookEvent, LabelEvent, OrderEvent, TradeEvent
from feeds.scenarios import ABUSER, SCENARIOS
from feeds.settings import InstrumentSettings, ScenarioSettings, SimSettings
from feeds.simulator import Simulator

START = 1_767_225_600.0
SOL = InstrumentSettings("sim-a", "SOL/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.01, price=150,
                         volatility=0.9)
ISSUE_KINDS = {"volatility_spike", "volume_spike", "book_depletion", "depth_floor", "spread_wide", "spoofing",
               "layering", "quote_stuffing", "wash_trading", "pump_and_dump", "momentum_ignition",
               "basis_dislocation", "cross_venue_dislocation", "crossed_book", "feed_gap", "stale_feed", "price_gap",
               "price_volume_divergence", "concentration"}


def run(kind, steps=300, at=10.0, duration=10.0, seed=7):
    settings = SimSettings(seed=seed, scenarios=[ScenarioSettings(kind, SOL.key, at, duration)])
    simulator = Simulator([SOL], settings, START)
    return [event for _ in range(steps) for event in simulator.step()]


def within(events, start, end, cls=None):
    return [e for e in events if START + start <= e.ts < START + end and (cls is None or isinstance(e, cls))]


def books(events):
    """(ts, apply result, book) after every book event, rebuilt as a consumer would."""
    book = OrderBook(SOL.venue, SOL.symbol)
    return [(e.ts, book.apply(e), book.best_bid(), book.best_ask()) for e in events if isinstance(e, BookEvent)]


def test_every_kind_the_issue_lists_is_injected_under_its_alert_name_and_has_a_detector():
    assert ISSUE_KINDS <= set(SCENARIOS) <= set(DETECTORS)


@pytest.mark.parametrize("kind", sorted(ISSUE_KINDS - {"basis_dislocation", "cross_venue_dislocation"}))
def test_each_scenario_leaves_one_label_and_replays_identically(kind):
    events = run(kind, steps=250)
    labels = [e for e in events if isinstance(e, LabelEvent)]
    assert [(l.kind, l.start, l.end) for l in labels] == [(kind, START + 10.0, START + 20.0)]
    assert events == run(kind, steps=250)


def test_wash_prints_have_one_account_on_both_sides_only_inside_the_window():
    events = run("wash_trading")
    washes = [t for t in events if isinstance(t, TradeEvent) and t.buyer == t.seller]
    assert len(washes) >= 15 and all(t.buyer == ABUSER and START + 10 <= t.ts < START + 20.1 for t in washes)


def test_quote_stuffing_floods_order_messages_that_never_reach_the_l2_book():
    events = run("quote_stuffing")
    stuffed = [e for e in within(events, 10.1, 20, OrderEvent) if e.account == ABUSER]
    assert len(stuffed) >= 2 * 40 * 90  # an add and a cancel, 40 a step
    assert not [e for e in within(events, 10.1, 20, TradeEvent) if ABUSER in (e.buyer, e.seller)]
    def level_updates(start, end):
        return sum(len(b.bids) + len(b.asks) for b in within(events, start, end, BookEvent))
    assert level_updates(10.1, 20.0) < 1.5 * level_updates(0.1, 10.0)  # added and cancelled within one delta


def test_crossed_book_crosses_the_published_book_then_a_snapshot_repairs_it():
    states = books(run("crossed_book"))
    during = [(bid, ask) for ts, _, bid, ask in states if START + 10.2 < ts < START + 20]
    assert during and all(bid[0] > ask[0] for bid, ask in during)
    after = [(bid, ask) for ts, _, bid, ask in states if ts > START + 20.1]
    assert all(bid[0] < ask[0] for bid, ask in after)


def test_feed_gap_loses_a_delta_then_resyncs_with_a_snapshot_at_the_end():
    events = run("feed_gap")
    states = books(events)
    gaps = [ts for ts, result, _, _ in states if result is ApplyResult.GAP]
    assert len(gaps) == 1 and START + 10 < gaps[0] <= START + 10.3
    snapshots = [e.ts for e in events if isinstance(e, BookEvent) and e.snapshot]
    assert snapshots[-1] == pytest.approx(START + 20.0)


def test_price_volume_divergence_moves_the_price_with_no_trades():
    events = run("price_volume_divergence")
    assert not within(events, 10.0, 20.0, TradeEvent)
    mids = {round(ts - START, 1): (bid[0] + ask[0]) / 2 for ts, _, bid, ask in books(events)}
    assert abs(mids[14.0] / mids[9.9] - 1) * 1e4 >= 25


def test_pump_and_dump_runs_up_then_gives_it_back():
    mids = {round(ts - START, 1): (bid[0] + ask[0]) / 2 for ts, _, bid, ask in books(run("pump_and_dump", 350))}
    assert mids[15.0] / mids[9.9] - 1 > 0.02 and abs(mids[21.0] / mids[9.9] - 1) < 0.005


def test_basis_dislocation_moves_a_perpetual_away_from_its_spot_and_back():
    perp = replace(SOL, symbol="SOL/USDT:USDT", kind="perp")
    settings = SimSettings(scenarios=[ScenarioSettings("basis_dislocation", perp.key, 10, 10)])
    simulator = Simulator([SOL, perp], settings, START)
    for _ in range(150):
        simulator.step()
    spot, future = (simulator.markets[i.key].fair_ticks for i in (SOL, perp))
    assert abs(future / spot - 1) * 1e4 == pytest.approx(25.0, abs=0.5)
    for _ in range(100):
        simulator.step()
    assert abs(simulator.markets[perp.key].fair_ticks / simulator.markets[SOL.key].fair_ticks - 1) < 1e-9
