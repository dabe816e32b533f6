"""Quoting: the three models against hand-computed values, and the quote builder a venue would see."""

from __future__ import annotations

import math
import textwrap

import pytest

from console.config import ConfigError, load_config
from feeds.book import OrderBook
from feeds.events import BookEvent, TradeEvent
from feeds.settings import InstrumentSettings
from maker.models import avellaneda_stoikov_quote, glft_coefficients, glft_quote, simple_quote, time_left
from maker.quoting import Quoter, round_down, round_up
from maker.settings import QuoteOverride, QuoteParams, QuotingSettings

INSTRUMENT = InstrumentSettings("v1", "AAA", "equity", "us", tick_size=0.05, lot_size=0.1)


# -- the models, by hand -------------------------------------------------------------------------------------
def test_avellaneda_stoikov_matches_the_paper_by_hand():
    # gamma 0.1, sigma 2, T-t 0.5, k 1.5, q 3: gamma sigma^2 (T-t) = 0.1 x 4 x 0.5 = 0.2
    # reservation offset = -3 x 0.2 = -0.6; spread = 0.2 + 20 ln(16/15) = 0.2 + 1.2907704 = 1.4907704
    quote = avellaneda_stoikov_quote(sigma=2.0, q=3.0, gamma=0.1, k=1.5, time_left_s=0.5)
    assert quote.skew == pytest.approx(-0.6)
    assert 2 * quote.half_spread == pytest.approx(1.4907704, abs=1e-7)
    flat = avellaneda_stoikov_quote(sigma=2.0, q=0.0, gamma=0.1, k=1.5, time_left_s=0.0)
    assert flat.skew == 0.0 and 2 * flat.half_spread == pytest.approx(1.2907704, abs=1e-7)  # the paper's 1.29


def test_glft_matches_the_papers_closed_form_by_hand():
    # GLFT (2013) section 4 with gamma 0.1, sigma 2, A 140, k 1.5, q 2:
    # c1 = 10 ln(16/15) = 0.6453852; c2 = sqrt(0.1 / (2 x 140 x 1.5) x (16/15)^16) = sqrt(2.380952e-4 x 2.808420)
    #    = 0.0258586; bid depth = c1 + (2q+1)/2 sigma c2 = 0.6453852 + 2.5 x 0.0517172 = 0.7746783
    #    ask depth = c1 - (2q-1)/2 sigma c2 = 0.6453852 - 1.5 x 0.0517172 = 0.5678094
    c1, c2 = glft_coefficients(gamma=0.1, A=140.0, k=1.5, xi=0.1, delta=1.0)
    assert c1 == pytest.approx(0.6453852, abs=1e-7) and c2 == pytest.approx(0.0258586, abs=1e-7)
    quote = glft_quote(sigma=2.0, q=2.0, gamma=0.1, A=140.0, k=1.5)
    bid_depth = quote.half_spread - quote.skew
    ask_depth = quote.half_spread + quote.skew
    assert bid_depth == pytest.approx(0.7746783, abs=1e-7)
    assert ask_depth == pytest.approx(0.5678094, abs=1e-7)


def test_glft_without_terminal_risk_is_the_xi_zero_limit():
    # xi -> 0: c1 -> 1/k and (1 + xi/k)^(k/xi + 1) -> e, so c2 = sqrt(gamma e / (2 A k))
    c1, c2 = glft_coefficients(gamma=0.1, A=140.0, k=1.5, xi=0.0, delta=1.0)
    assert c1 == pytest.approx(1 / 1.5) and c2 == pytest.approx(math.sqrt(0.1 * math.e / 420.0))
    near = glft_coefficients(gamma=0.1, A=140.0, k=1.5, xi=1e-7, delta=1.0)
    assert near == pytest.approx((c1, c2), rel=1e-5)


def test_simple_model_by_hand():
    # fair 100, base 10 bps = 0.10, vol_mult 2 x sigma 0.1 x sqrt(4 s) = 0.40: spread 0.50, half 0.25
    # skew = -0.2 x 2 clips x 0.25 = -0.10
    quote = simple_quote(fair=100.0, sigma=0.1, q=2.0, base_spread_bps=10.0, vol_mult=2.0, horizon_s=4.0,
                         inventory_skew=0.2)
    assert quote.half_spread == pytest.approx(0.25) and quote.skew == pytest.approx(-0.10)


def test_finite_horizon_counts_down_each_cycle_and_rolling_never_does():
    assert time_left(1000.0, "finite", 300.0) == pytest.approx(200.0)  # 1000 s is 100 s into the 4th cycle
    assert time_left(1199.0, "finite", 300.0) == pytest.approx(1.0)
    assert time_left(1199.0, "rolling", 300.0) == 300.0


# -- the quote builder ------------------------------------------------------------------------------------------
def book(bids, asks, ts=0.0) -> OrderBook:
    b = OrderBook("v1", "AAA")
    b.apply(BookEvent(ts, "v1", "AAA", True, bids, asks))
    return b


def warm_quoter(params: QuoteParams, bids=((99.95, 5.0),), asks=((100.05, 5.0),)) -> Quoter:
    """A quoter ready to quote on the given book (mid 100), after the mid fell 0.1 in a second: sigma 0.1."""
    quoter = Quoter(INSTRUMENT, QuotingSettings(params))
    quoter.on_book(book([(100.05, 5.0)], [(100.15, 5.0)]), 0.0)
    quoter.on_book(book(list(bids), list(asks)), 1.0)
    assert quoter.volatility.sigma_price == pytest.approx(0.1)
    return quoter


SIMPLE = dict(model="simple", base_spread_bps=13.0, vol_mult=0.0, warmup_s=0.0, vol_sample_s=1.0, min_spread_bps=0.0)


def test_rounding_puts_bids_down_and_asks_up_on_the_grid():
    assert round_down(100.07, 0.05) == 100.05 and round_up(100.07, 0.05) == 100.10
    assert round_down(100.05, 0.05) == 100.05 and round_up(100.05, 0.05) == 100.05  # already on the grid
    assert round_down(0.3, 0.1) == 0.3 and round_down(0.25, 0.1) == 0.2


def test_levels_are_spaced_rounded_outward_and_sized_in_lots():
    # mid 100, spread 13 bps = 0.13: bid 99.935 -> 99.90, ask 100.065 -> 100.10; level 2 is 10 bps (0.10) further
    quoter = warm_quoter(QuoteParams(**SIMPLE, levels=2, level_spacing_bps=10.0, size=0.25))
    plan = quoter.plan(1.0, inventory=0.0)
    assert [(lv.side, lv.price, lv.qty) for lv in plan.levels] == [
        ("buy", 99.90, 0.2), ("buy", 99.80, 0.2), ("sell", 100.10, 0.2), ("sell", 100.20, 0.2)]
    assert plan.half_spread == pytest.approx(0.065) and plan.reservation == pytest.approx(100.0)


def test_minimum_spread_and_multiplier_widen_the_quotes():
    tight = dict(SIMPLE, base_spread_bps=1.0)
    plan = warm_quoter(QuoteParams(**dict(tight, min_spread_bps=30.0))).plan(1.0, 0.0)
    assert plan.half_spread == pytest.approx(0.15)  # 30 bps of 100, halved
    assert [lv.price for lv in plan.levels] == [99.85, 100.15]
    wide = warm_quoter(QuoteParams(**SIMPLE)).plan(1.0, 0.0, spread_multiplier=3.0)
    assert wide.half_spread == pytest.approx(0.195) and [lv.price for lv in wide.levels] == [99.80, 100.20]


def test_price_band_drops_buys_above_the_ceiling_and_sells_below_the_floor():
    params = QuoteParams(**SIMPLE, levels=2, level_spacing_bps=10.0, price_ceiling=99.85, price_floor=100.15)
    plan = warm_quoter(params).plan(1.0, 0.0)
    assert [(lv.side, lv.price) for lv in plan.levels] == [("buy", 99.80), ("sell", 100.20)]
    boxed = QuoteParams(**SIMPLE, levels=2, level_spacing_bps=10.0, price_ceiling=99.5, price_floor=100.5)
    assert warm_quoter(boxed).plan(1.0, 0.0).levels == []


def test_quotes_never_cross_the_touch_however_hard_inventory_skews_them():
    # long 10 clips with a full half-spread of skew per clip: the ask wants to be far below the best bid
    plan = warm_quoter(QuoteParams(**dict(SIMPLE, inventory_skew=1.0), size=0.1)).plan(1.0, inventory=1.0)
    bid, ask = plan.levels[0].price, plan.levels[1].price
    assert plan.skew == pytest.approx(-0.65)
    assert ask == 100.0  # best bid 99.95 + one tick: still passive
    assert bid == 99.25  # 100 - 0.65 - 0.065 = 99.285, rounded down


def test_imbalance_shifts_the_fair_price_toward_the_heavy_side():
    params = QuoteParams(**SIMPLE, imbalance_weight=0.5, imbalance_levels=1)
    quoter = warm_quoter(params, bids=((99.95, 30.0),), asks=((100.05, 10.0),))
    plan = quoter.plan(1.0, 0.0)
    # imbalance (30 - 10) / 40 = 0.5; fair = 100 + 0.5 x 0.5 x half spread 0.05 = 100.0125
    assert plan.fair == pytest.approx(100.0125) and plan.reservation == pytest.approx(100.0125)


def test_glft_inventory_bound_removes_the_bid_at_plus_q_and_the_ask_at_minus_q():
    params = QuoteParams(model="glft", max_inventory=1.0, size=0.4, levels=3, warmup_s=0.0)
    quoter = warm_quoter(params)
    sides = lambda plan: [(lv.side, lv.qty) for lv in plan.levels]  # noqa: E731
    assert sides(quoter.plan(1.0, 1.0)) == [("sell", 0.4)] * 3  # long Q: no bid at all
    assert sides(quoter.plan(1.0, -1.0)) == [("buy", 0.4)] * 3  # short Q: no ask at all
    # long 0.5: bids may add at most 0.5 more: one full level of 0.4, then 0.1; the asks are not limited
    assert sides(quoter.plan(1.0, 0.5)) == [("buy", 0.4), ("buy", 0.1)] + [("sell", 0.4)] * 3
    assert all(lv.side == "sell" for lv in quoter.plan(1.0, 1.3).levels)  # beyond Q too


def test_glft_quotes_skew_against_inventory_and_stay_symmetric_when_flat():
    quoter = warm_quoter(QuoteParams(model="glft", max_inventory=10.0, size=1.0, warmup_s=0.0))
    flat, long, short = quoter.plan(1.0, 0.0), quoter.plan(1.0, 3.0), quoter.plan(1.0, -3.0)
    assert flat.skew == 0.0 and long.skew < 0 < short.skew and long.skew == pytest.approx(-short.skew)
    assert long.levels[0].price <= flat.levels[0].price and short.levels[-1].price >= flat.levels[-1].price


def test_no_plan_while_warming_up_or_when_the_book_is_one_sided_or_crossed():
    quoter = Quoter(INSTRUMENT, QuotingSettings(QuoteParams(warmup_s=10.0)))
    good = book([(99.95, 5.0)], [(100.05, 5.0)])
    quoter.on_book(good, 0.0)
    quoter.on_book(good, 5.0)
    assert quoter.plan(5.0, 0.0) is None  # 5 s of history < warmup_s 10
    quoter.on_book(good, 10.0)
    assert quoter.plan(10.0, 0.0) is not None
    quoter.on_book(book([(99.95, 5.0)], []), 11.0)
    assert quoter.plan(11.0, 0.0) is None
    quoter.on_book(book([(100.10, 5.0)], [(100.05, 5.0)]), 12.0)
    assert quoter.plan(12.0, 0.0) is None


def test_avellaneda_stoikov_quoter_uses_gamma_per_unit_of_return():
    # sigma estimated from a mid that moves 0.1 every second: sigma = 0.1 per sqrt(s)
    params = QuoteParams(gamma=50.0, horizon_s=60.0, size=0.1, warmup_s=0.0, vol_half_life_s=1e6)
    quoter = Quoter(INSTRUMENT, QuotingSettings(params))
    for i in range(11):
        mid = 100.0 + (0.1 if i % 2 else 0.0)
        quoter.on_book(book([(round(mid - 0.05, 2), 5.0)], [(round(mid + 0.05, 2), 5.0)]), float(i))
    plan = quoter.plan(10.0, inventory=0.2)  # 2 clips; mid 100.0 at the last update
    assert plan.sigma == pytest.approx(0.1)
    gamma = 50.0 / 100.0  # per price unit
    assert plan.skew == pytest.approx(-2 * gamma * 0.1 ** 2 * 60.0)
    assert 2 * plan.half_spread == pytest.approx(gamma * 0.01 * 60 + 2 / gamma * math.log1p(gamma / plan.k))
    assert not quoter.intensity.fitted and plan.k == pytest.approx(1 / 0.05)  # prior: 1 / half the spread


def test_trades_feed_the_intensity_fit():
    quoter = warm_quoter(QuoteParams(warmup_s=0.0, intensity_min_trades=5))
    b = book([(99.95, 5.0)], [(100.05, 5.0)])
    for i, depth in enumerate([0.05, 0.05, 0.05, 0.10, 0.05, 0.15, 0.05, 0.10, 0.25, 0.05] * 3):
        quoter.on_trade(TradeEvent(1.0 + i * 0.1, "v1", "AAA", 100.0 + depth, 0.1, "buy"), b)
    plan = quoter.plan(5.0, 0.0)
    assert quoter.intensity.fitted and plan.k > 0 and plan.A > 0


# -- configuration -------------------------------------------------------------------------------------------------
def write(tmp_path, text: str):
    path = tmp_path / "q.yaml"
    path.write_text(textwrap.dedent(text))
    return path


BASE = """\
    venues: [{name: v1}]
    instruments:
      - {venue: v1, symbol: AAA, kind: equity, market: us, tick_size: 0.01, lot_size: 100}
      - {venue: v1, symbol: BBB, kind: equity, market: us, tick_size: 0.01, lot_size: 1}
    maker:
      instruments: [v1:AAA, v1:BBB]
      quoting:
"""


def test_overrides_change_only_the_instruments_they_match(tmp_path):
    config = load_config(write(tmp_path, BASE + """\
            defaults: {model: simple, levels: 2}
            overrides:
              - {match: "v1:A*", model: glft, max_inventory: 1000, size: 200}
              - {match: "*:AAA", levels: 3}
    """))
    quoting = config.maker.quoting
    aaa, bbb = quoting.params_for("v1:AAA"), quoting.params_for("v1:BBB")
    assert (aaa.model, aaa.levels, aaa.size, aaa.max_inventory) == ("glft", 3, 200, 1000)
    assert (bbb.model, bbb.levels, bbb.size) == ("simple", 2, None)
    assert quoting.check(config.instrument("v1:BBB")).size == 1  # null size is one lot
    assert isinstance(quoting.overrides[0], QuoteOverride)


@pytest.mark.parametrize("quoting, message", [
    ("    defaults: {gamma: 0}\n", "q.yaml:8: maker.quoting.defaults: gamma must be positive, got 0.0"),
    ("    overrides: [{match: '*', levels: 0}]\n", "q.yaml:8: maker.quoting.overrides[0]: levels must be at least 1, got 0"),
    ("    overrides: [{levels: 2}]\n", "q.yaml:8: maker.quoting.overrides[0].match: required key is missing"),
    ("    overrides: [{match: '*', size: 50}]\n",
     "q.yaml:7: maker.quoting: for v1:AAA: size 50 is below the lot_size 100"),
    ("    overrides: [{match: 'v1:BBB', model: glft}]\n",
     "q.yaml:7: maker.quoting: for v1:BBB: model glft needs max_inventory (its inventory bound Q)"),
])
def test_bad_quoting_settings_name_the_place(tmp_path, quoting, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, BASE + "    " + quoting))
    assert str(info.value) == f"{tmp_path / 'q.yaml'}:{message.split(':', 1)[1]}"
