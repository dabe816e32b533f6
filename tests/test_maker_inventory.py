"""Inventory and PnL: average cost, realised and unrealised PnL marked to mid, fees, peak and drawdown."""

import pytest

from maker.inventory import Inventory
from maker.settings import FeeSettings

BTC = ("sim-alpha", "BTC/USDT")
ETH = ("sim-alpha", "ETH/USDT")


def test_average_cost_realised_and_unrealised_pnl():
    inv = Inventory()
    inv.on_fill(BTC, "buy", 100.0, 2.0, 0.0)
    inv.on_fill(BTC, "buy", 110.0, 2.0, 0.0)
    p = inv.position(BTC)
    assert p.qty == 4.0 and p.avg_cost == pytest.approx(105.0)
    inv.mark(BTC, 120.0)
    assert p.unrealised == pytest.approx(60.0)  # 4 x (120 - 105)
    realised = inv.on_fill(BTC, "sell", 115.0, 3.0, 0.0)
    assert realised == pytest.approx(30.0)  # 3 x (115 - 105)
    assert p.qty == pytest.approx(1.0) and p.avg_cost == pytest.approx(105.0)  # cost of what is left is unchanged
    assert p.unrealised == pytest.approx(15.0)  # 1 x (120 - 105), still marked to the last mid


def test_a_fill_through_zero_flips_the_position_at_the_fill_price():
    inv = Inventory()
    inv.on_fill(BTC, "buy", 100.0, 1.0, 0.0)
    realised = inv.on_fill(BTC, "sell", 90.0, 3.0, 0.0)
    p = inv.position(BTC)
    assert realised == pytest.approx(-10.0)
    assert p.qty == pytest.approx(-2.0) and p.avg_cost == 90.0
    inv.mark(BTC, 80.0)
    assert p.unrealised == pytest.approx(20.0)  # short 2 from 90, mid 80
    inv.on_fill(BTC, "buy", 85.0, 2.0, 0.0)
    assert p.qty == 0.0 and p.avg_cost == 0.0 and p.unrealised == 0.0
    assert p.realised == pytest.approx(-10.0 + 10.0)


def test_fees_come_off_pnl_and_a_rebate_adds_to_it():
    fees = FeeSettings(maker_bps=-1.0, taker_bps=5.0)
    assert fees.fee(100.0, 10.0, "taker") == pytest.approx(0.5)
    assert fees.fee(100.0, 10.0, "maker") == pytest.approx(-0.1)
    inv = Inventory()
    inv.on_fill(BTC, "buy", 100.0, 10.0, fees.fee(100.0, 10.0, "taker"))
    inv.on_fill(BTC, "sell", 100.0, 10.0, fees.fee(100.0, 10.0, "maker"))
    assert inv.total.fees == pytest.approx(0.4)
    assert inv.total.total == pytest.approx(-0.4)


def test_totals_peak_and_drawdown_across_instruments():
    inv = Inventory()
    inv.on_fill(BTC, "buy", 100.0, 1.0, 0.0)
    inv.on_fill(ETH, "sell", 50.0, 2.0, 0.0)
    inv.mark(BTC, 110.0)  # +10
    inv.mark(ETH, 45.0)  # +10
    assert inv.total.total == pytest.approx(20.0) and inv.total.peak == pytest.approx(20.0)
    assert inv.total.exposure == pytest.approx(110.0 + 90.0)
    inv.mark(BTC, 95.0)  # BTC now -5
    assert inv.total.total == pytest.approx(5.0)
    assert inv.total.drawdown == pytest.approx(15.0)
    assert inv.position(BTC).peak == pytest.approx(10.0) and inv.position(BTC).drawdown == pytest.approx(15.0)
    assert inv.position(ETH).drawdown == 0.0
    assert inv.total.exposure == pytest.approx(95.0 + 90.0)
