"""The maker engine in a runtime on the simulator: control, risk enforcement, defensive mode and its restart."""

from dataclasses import replace

import pytest

from console.alert_services import attach_alert_services
from console.config import Config, load_config
from console.maker_runtime import attach_maker, attach_maker_state
from console.runtime import Runtime
from console.wiring import simulated_runtime
from detectors.alerts import Signal
from detectors.settings import DetectorSettings
from feeds.settings import InstrumentSettings, ScenarioSettings, SimSettings, VenueSettings
from feeds.simulator import Simulator
from maker.engine import DONE, PASSIVE, REDUCE_SLOT, STOPPED
from maker.orders import CANCELLED, Wanted
from maker.risk import ACTIVE, HALTED, REDUCING
from maker.settings import (DefenceSettings, MakerSettings, PaperSettings, QuoteOverride, QuoteParams,
                            QuotingSettings, RiskLimits)

START_TS = 1_767_225_600.0
BTC = InstrumentSettings("sim-alpha", "BTC/USDT", "spot", "crypto", tick_size=0.1, lot_size=0.001, price=65000,
                         volatility=0.6)
ETH = InstrumentSettings("sim-alpha", "ETH/USDT", "spot", "crypto", tick_size=0.01, lot_size=0.01, price=3400,
                         volatility=0.7)
HK = InstrumentSettings("sim-hk", "0700.HK", "equity", "hk", tick_size=0.2, lot_size=100, price=380, volatility=0.3)
K_BTC, K_ETH, K_HK = (BTC.venue, BTC.symbol), (ETH.venue, ETH.symbol), (HK.venue, HK.symbol)
NO_AUTO_DEFENCE = DefenceSettings(kinds=[])  # only the operator's: the detectors' alerts must not interfere
QUOTES = QuotingSettings(QuoteParams(size=0.05, levels=2, warmup_s=3.0), [
    QuoteOverride(match="*:ETH/USDT", size=1.0), QuoteOverride(match="sim-hk:*", size=100.0)])


class Market:
    """A runtime on the simulator with the maker attached, stepped by hand in market seconds."""

    def __init__(self, instruments=(BTC,), scenarios=(), **maker) -> None:
        maker.setdefault("quoting", QUOTES)
        maker.setdefault("defence", NO_AUTO_DEFENCE)
        settings = MakerSettings(instruments=[i.key for i in instruments], paper=PaperSettings(0.05), **maker)
        venues = [VenueSettings(name) for name in dict.fromkeys(i.venue for i in instruments)]
        config = Config(venues, list(instruments), maker=settings)
        self.runtime = Runtime(config.venues, config.instruments, DetectorSettings())
        self.engine = attach_maker(self.runtime, config)
        self.sim = Simulator(config.instruments, SimSettings(seed=5, order_events=False, scenarios=list(scenarios)),
                             START_TS)

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / 0.1)):
            self.runtime.dispatch(self.sim.step())

    def book(self, key):
        return self.runtime.instruments[key].book

    def slots(self, key) -> dict:
        return {o.slot: o for o in self.engine.orders.working(key)}

    def position(self, key) -> float:
        return self.engine.inventory.qty(key)


def test_quoting_starts_only_when_asked_and_stops_and_cancels_on_command():
    market = Market((BTC, ETH))
    engine = market.engine
    market.run(5)
    assert engine.status(K_BTC) == (STOPPED, "quoting not started") and engine.orders.placed == 0
    engine.start(K_BTC)
    engine.toggle(K_ETH)
    market.run(5)
    assert set(market.slots(K_BTC)) == {"bid 0", "bid 1", "ask 0", "ask 1"}
    assert set(market.slots(K_ETH)) == {"bid 0", "bid 1", "ask 0", "ask 1"}
    assert engine.status(K_BTC) == (ACTIVE, "")
    engine.stop(K_BTC)
    market.run(1)
    assert market.slots(K_BTC) == {} and engine.status(K_BTC)[0] == STOPPED
    assert len(market.slots(K_ETH)) == 4  # the other instrument still quotes
    engine.cancel_all()
    market.run(1)
    assert market.slots(K_ETH) == {} and engine.orders.orders == {}
    assert engine.status(K_ETH)[0] == STOPPED
    assert engine.orders.history[-1].state == CANCELLED and engine.orders.history[-1].reason == "cancel all"


def test_quotes_follow_the_market_without_churning_orders_that_are_still_right():
    market = Market(orders=replace(MakerSettings().orders, refresh_s=30.0, refresh_move_bps=5.0))
    market.engine.start(K_BTC)
    market.run(60)
    placed_per_update = market.engine.orders.placed / market.engine.quote_updates
    assert placed_per_update < 0.2  # most book updates leave the resting quotes (and their queue places) alone
    for order in market.slots(K_BTC).values():
        plan = market.engine.quoted[K_BTC].plan
        wanted = {f"{'bid' if lv.side == 'buy' else 'ask'} {i}": lv.price
                  for side in ("buy", "sell") for i, lv in enumerate(l for l in plan.levels if l.side == side)}
        assert abs(order.price - wanted[order.slot]) / order.price * 1e4 <= 5.0 + 1e-9  # within the tolerance


def test_defensive_mode_pulls_quotes_then_cuts_the_position_passively_then_aggressively():
    defence = DefenceSettings(kinds=[], reduce_share=0.3, aggressive_after_s=1.0)
    market = Market(defence=defence)
    engine = market.engine
    market.run(5)
    best_ask = market.book(K_BTC).best_ask()[0]
    engine.orders.place(K_BTC, Wanted("setup", "buy", round(best_ask * 1.002, 1), 2.0, post_only=False),
                        market.runtime.market_time)  # take 2 BTC off the book: a position to defend
    market.run(1)
    assert market.position(K_BTC) == pytest.approx(2.0)
    engine.start(K_BTC)
    market.run(5)
    start = market.runtime.market_time
    before = len(engine.fills)
    position = market.position(K_BTC)
    engine.enter_defensive()
    assert engine.defensive
    defence_state = engine.quoted[K_BTC].defence
    assert defence_state.phase == PASSIVE and defence_state.side == "sell"
    assert defence_state.target == pytest.approx(position - round(position * 0.3 - 5e-4, 3), abs=1e-9)
    market.run(0.3)
    slots = market.slots(K_BTC)
    assert set(slots) == {REDUCE_SLOT}  # every quote pulled; only the cut works
    cut = slots[REDUCE_SLOT]
    assert cut.side == "sell" and cut.post_only and cut.price > market.book(K_BTC).best_bid()[0]
    market.run(5)
    fills = list(engine.fills)[before:]
    assert fills and all(f.side == "sell" for f in fills)
    assert all(f.liquidity == "maker" for f in fills if f.ts < start + 1.0)  # passive first ...
    assert any(f.liquidity == "taker" and f.ts >= start + 1.0 for f in fills)  # ... then across the spread
    assert defence_state.phase == DONE
    assert market.position(K_BTC) == pytest.approx(defence_state.target, abs=1e-9)
    market.run(3)
    assert market.slots(K_BTC) == {} and engine.defensive  # it stays defensive, quotes pulled, until told
    assert "defensive (done)" in engine.status(K_BTC)[1]
    engine.leave_defensive()
    market.run(1)
    assert {"bid 0", "ask 0"} <= set(market.slots(K_BTC)) and not engine.defensive


def test_defensive_widen_keeps_quoting_with_a_wider_spread():
    market = Market(defence=DefenceSettings(kinds=[], action="widen", widen_multiplier=4.0, reduce_share=0.0))
    engine = market.engine
    engine.start(K_BTC)
    market.run(10)
    normal = engine.quoted[K_BTC].plan.half_spread
    engine.enter_defensive(K_BTC)
    market.run(0.5)
    widened = engine.quoted[K_BTC].plan
    assert widened.half_spread == pytest.approx(normal * 4.0, rel=0.25)  # volatility moved a little in between
    assert {"bid 0", "ask 0"} <= set(market.slots(K_BTC))
    bid, ask = market.slots(K_BTC)["bid 0"].price, market.slots(K_BTC)["ask 0"].price
    assert ask - bid >= 2 * widened.half_spread - 2 * BTC.tick_size


def alert(market, venue, symbol, kind="spread_wide", severity="critical"):
    market.runtime.engine.submit(Signal(market.runtime.market_time, venue, symbol, kind, severity, 1.0, 1.0))


@pytest.mark.parametrize("scope, defended", [
    ("instrument", {K_BTC}), ("venue", {K_BTC, K_ETH}), ("all", {K_BTC, K_ETH, K_HK})])
def test_alerts_of_configured_kind_and_severity_trigger_defence_by_scope(scope, defended):
    market = Market((BTC, ETH, HK), defence=DefenceSettings(kinds=["spread_wide", "stale_feed"], scope=scope))
    market.engine.start_all()
    market.run(2)
    alert(market, "sim-alpha", "BTC/USDT", severity="warning")  # below min_severity (critical)
    alert(market, "sim-alpha", "BTC/USDT", kind="volume_spike")  # not a configured kind
    assert not market.engine.defensive
    alert(market, "sim-alpha", "BTC/USDT")
    assert {k for k, q in market.engine.quoted.items() if q.defence is not None} == defended
    assert "spread_wide critical on sim-alpha:BTC/USDT" in market.engine.status(K_BTC)[1]


def test_a_venue_wide_alert_defends_that_venue_and_clearing_it_does_not_leave_defence():
    market = Market((BTC, ETH, HK), defence=DefenceSettings(kinds=["feed_gap"], min_severity="warning"))
    alert(market, "sim-alpha", None, kind="feed_gap", severity="warning")
    assert {k for k, q in market.engine.quoted.items() if q.defence is not None} == {K_BTC, K_ETH}
    market.runtime.engine.submit(Signal(1.0, "sim-alpha", None, "feed_gap", None))  # the alert clears
    assert market.engine.quoted[K_BTC].defence is not None  # only the operator leaves defensive mode


def test_a_spread_alert_raised_by_the_detector_defends_the_instrument():
    scenario = ScenarioSettings("spread_wide", "sim-alpha:ETH/USDT", at=40, duration=20, magnitude=8)
    market = Market((BTC, ETH), scenarios=[scenario], defence=DefenceSettings(kinds=["spread_wide"]))
    market.engine.start_all()
    market.run(38)
    assert not market.engine.defensive
    market.run(10)
    assert market.engine.quoted[K_ETH].defence is not None and market.engine.quoted[K_BTC].defence is None
    assert set(market.slots(K_ETH)) <= {REDUCE_SLOT} and "bid 0" in market.slots(K_BTC)  # ETH's quotes pulled


def test_a_position_limit_cancels_the_orders_that_would_add_and_keeps_those_that_cut():
    market = Market((BTC,), limits=RiskLimits(max_position=1_000.0))
    engine = market.engine
    engine.start_all()
    while engine.status(K_BTC)[0] != REDUCING:  # 0.05 BTC is over 1,000 USDT: the first fill trips it
        market.run(0.1)
        assert market.runtime.market_time < START_TS + 120
    assert engine.status(K_BTC)[1].startswith("position ")
    position = market.position(K_BTC)
    cancelled = [o for o in engine.orders.history if o.reason.startswith("reducing:")]
    cancelled += [o for o in engine.orders.working(K_BTC) if o.reason.startswith("reducing:")]
    assert cancelled and all((o.side == "buy") == (position > 0) for o in cancelled)
    market.run(0.2)
    working = engine.orders.working(K_BTC)
    assert all((o.side == "sell") == (position > 0) for o in working)
    assert sum(o.remaining for o in working) <= abs(position) + 1e-9
    market.run(30)
    assert abs(market.position(K_BTC)) <= abs(position) and market.position(K_BTC) * position >= 0  # never flips
    assert engine.status(K_BTC)[0] == REDUCING  # even once flat: only the operator resumes
    alerts = [a for a in market.runtime.engine.history if a.kind == "risk_limit"]
    assert [(a.venue, a.symbol, a.severity) for a in alerts] == [("sim-alpha", "BTC/USDT", "warning")]


def test_an_order_rate_breach_halts_everything_until_the_operator_resumes():
    market = Market((BTC, ETH), limits=RiskLimits(max_orders_per_min=6))
    engine = market.engine
    engine.start_all()
    market.run(10)
    assert engine.status(K_ETH)[0] == HALTED and engine.status(K_BTC)[0] == HALTED
    placed = engine.orders.placed
    market.run(70)  # the rate window has long passed: still halted, nothing new sent
    assert engine.orders.orders == {} and engine.orders.placed == placed
    assert market.runtime.engine.open[("maker", None, "risk_limit")].severity == "critical"
    engine.resume()
    assert engine.status(K_BTC)[0] == ACTIVE and ("maker", None, "risk_limit") not in market.runtime.engine.open
    market.run(1)
    assert engine.orders.placed > placed


MAKER_CONFIG = """\
venues: [{name: sim-alpha, source: sim}]
instruments:
  - {venue: sim-alpha, symbol: BTC/USDT, kind: spot, market: crypto, tick_size: 0.1, lot_size: 0.001, price: 65000}
  - {venue: sim-alpha, symbol: ETH/USDT, kind: spot, market: crypto, tick_size: 0.01, lot_size: 0.01, price: 3400}
sim: {seed: 4, start: "2026-01-01T00:00:00Z", speed: 0}
store: {path: state.db}
maker:
  instruments: ["sim-alpha:BTC/USDT", "sim-alpha:ETH/USDT"]
  autostart: true
  quoting: {defaults: {size: 0.01, warmup_s: 3}}
  defence: {kinds: []}
"""


def restart_runtime(tmp_path, name, limits=""):
    """A runtime as the command line builds it, with the alert store in `tmp_path`."""
    path = tmp_path / name
    path.write_text(MAKER_CONFIG + limits)
    config = load_config(path)
    runtime = simulated_runtime(config)
    attach_alert_services(runtime, config)
    attach_maker_state(runtime)
    return runtime


def on_first_batch(runtime, action):
    done = []

    def consumer(batch):
        if not done:
            done.append(action())
    runtime.consumers.append(consumer)


async def test_defensive_mode_and_risk_trips_survive_a_restart(tmp_path):
    first = restart_runtime(tmp_path, "first.yaml", "  limits: {max_order_notional: 100}\n")
    on_first_batch(first, lambda: first.maker.enter_defensive(K_ETH, "operator"))
    await first.run(duration=10)
    assert first.maker.status(K_BTC)[0] == HALTED  # its first quote (650 USDT) was over the limit
    assert first.maker.quoted[K_ETH].defence is not None

    second = restart_runtime(tmp_path, "second.yaml")  # no limit now: only the saved trip can halt BTC
    assert not second.maker.defensive  # nothing is restored before the store opens
    on_first_batch(second, lambda: second.maker.orders.placed)
    await second.run(duration=10)
    assert second.maker.quoted[K_ETH].defence.reason == "operator"
    state, reason = second.maker.status(K_BTC)
    assert state == HALTED and "order notional" in reason
    assert second.maker.orders.placed == 0  # BTC halted, ETH defensive with its quotes pulled

    third = restart_runtime(tmp_path, "third.yaml")
    on_first_batch(third, lambda: (third.maker.leave_defensive(), third.maker.resume()))
    await third.run(duration=10)
    assert third.maker.orders.placed > 0
    fourth = restart_runtime(tmp_path, "fourth.yaml")
    await fourth.run(duration=1)
    assert not fourth.maker.defensive and fourth.maker.status(K_BTC)[0] == ACTIVE
