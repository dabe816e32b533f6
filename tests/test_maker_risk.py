"""Risk states: each limit moves the state, refuses what it must, raises risk_limit, and only the operator resumes."""

from detectors.engine import AlertEngine
from maker.inventory import Inventory
from maker.orders import Order
from maker.risk import ACTIVE, BOOK_VENUE, HALTED, REDUCING, RiskManager
from maker.settings import RiskLimits

BTC = ("sim-alpha", "BTC/USDT")
ETH = ("sim-alpha", "ETH/USDT")


class Book:
    """A risk manager over a real inventory, raising its alerts in a real alert engine."""

    def __init__(self, capital=100_000.0, **limits) -> None:
        self.inventory = Inventory()
        self.alerts = AlertEngine()
        self.tripped = []
        self.risk = RiskManager(RiskLimits(**limits), capital, self.inventory, self.alerts.submit, self.tripped.append)

    def fill(self, key, side, price, qty, ts=1.0):
        self.inventory.on_fill(key, side, price, qty, 0.0)
        self.risk.check(key, ts)

    def mark(self, key, mid, ts=2.0):
        self.inventory.mark(key, mid)
        self.risk.check(key, ts)

    def order(self, key, side, price, qty, ts=3.0):
        return self.risk.check_order(Order("o", key[0], key[1], side, price, qty, ts))

    def open_alert(self, venue, symbol):
        return self.alerts.open.get((venue, symbol, "risk_limit"))


def test_max_position_puts_the_instrument_in_reducing_only():
    book = Book(max_position=10_000.0)
    book.fill(BTC, "buy", 100.0, 90.0)  # 9,000: inside the limit
    assert book.risk.state(BTC) == (ACTIVE, "")
    book.mark(BTC, 120.0)  # 10,800: over it
    state, reason = book.risk.state(BTC)
    assert state == REDUCING and "position 10,800.00 > max 10,000.00" in reason
    assert book.tripped == [BTC]
    alert = book.open_alert(*BTC)
    assert alert.severity == "warning" and alert.value == 10_800.0 and alert.threshold == 10_000.0
    assert book.order(BTC, "buy", 120.0, 1.0) is not None  # adds: refused
    assert book.order(BTC, "sell", 120.0, 100.0) is not None  # would flip the position: refused
    assert book.order(BTC, "sell", 120.0, 30.0) is None  # cuts it: allowed
    assert book.risk.state(ETH) == (ACTIVE, "")  # other instruments are not affected
    assert book.order(ETH, "buy", 50.0, 1.0) is None


def test_max_loss_halts_everything_until_the_operator_resumes():
    book = Book(max_loss=500.0)
    book.fill(BTC, "buy", 100.0, 100.0)
    book.mark(BTC, 94.0)  # -600
    assert book.risk.state(BTC)[0] == HALTED and book.risk.state(ETH)[0] == HALTED
    alert = book.open_alert(BOOK_VENUE, None)
    assert alert.severity == "critical" and "loss 600.00 > max 500.00" in alert.message
    assert book.order(BTC, "sell", 94.0, 1.0).startswith("halted")  # cancel only: even reducing is refused
    book.mark(BTC, 99.0)  # back inside the limit: still halted, never resumes by itself
    assert book.risk.state(BTC)[0] == HALTED
    assert book.risk.resume(3.0) == [None]
    assert book.risk.state(BTC) == (ACTIVE, "")
    assert book.open_alert(BOOK_VENUE, None) is None and alert.state == "resolved"
    book.mark(BTC, 90.0)  # breached again after resuming: trips again at once
    assert book.risk.state(ETH)[0] == HALTED


def test_max_drawdown_from_the_peak_moves_the_whole_book_to_reducing():
    book = Book(max_drawdown=300.0)
    book.fill(BTC, "buy", 100.0, 100.0)
    book.mark(BTC, 110.0)  # +1,000: the peak
    book.mark(BTC, 107.5)  # +750, 250 below the peak
    assert book.risk.state(BTC)[0] == ACTIVE
    book.mark(BTC, 106.0)  # +600: still a profit, but 400 off the peak
    state, reason = book.risk.state(ETH)
    assert state == REDUCING and "drawdown 400.00 > max 300.00" in reason


def test_max_exposure_counts_every_instrument_against_capital():
    book = Book(capital=10_000.0, max_exposure=1.5)
    book.fill(BTC, "buy", 100.0, 80.0)  # 8,000
    assert book.risk.state(BTC)[0] == ACTIVE
    book.fill(ETH, "sell", 50.0, 160.0)  # + 8,000 short: 1.6x capital
    assert book.risk.state(BTC)[0] == REDUCING and "exposure 1.60x capital > max 1.50x" in book.risk.state(BTC)[1]
    assert book.order(ETH, "buy", 50.0, 10.0) is None  # buying back the short cuts exposure
    assert book.order(ETH, "sell", 50.0, 10.0) is not None


def test_max_order_rate_halts_on_the_order_over_the_limit_and_stays_halted():
    book = Book(max_orders_per_min=5)
    for i in range(5):
        assert book.order(BTC, "buy", 100.0, 1.0, ts=10.0 + i) is None
    reason = book.order(BTC, "buy", 100.0, 1.0, ts=20.0)
    assert "6 orders in 60 s > max 5" in reason
    assert book.risk.state(ETH)[0] == HALTED
    assert book.order(BTC, "buy", 100.0, 1.0, ts=200.0).startswith("halted")  # the window passed: still halted
    book.risk.resume(200.0)
    assert book.order(BTC, "buy", 100.0, 1.0, ts=200.0) is None


def test_max_order_notional_refuses_the_order_and_halts_its_instrument():
    book = Book(max_order_notional=5_000.0)
    assert book.order(BTC, "buy", 100.0, 50.0) is None
    reason = book.order(BTC, "buy", 100.0, 51.0)
    assert reason == "order notional 5,100.00 > max 5,000.00"
    assert book.risk.state(BTC)[0] == HALTED and book.risk.state(ETH)[0] == ACTIVE
    assert book.open_alert(*BTC).severity == "critical"
    book.risk.resume(5.0, ETH)  # resuming another instrument does not release this one
    assert book.risk.state(BTC)[0] == HALTED
    book.risk.resume(5.0, BTC)
    assert book.risk.state(BTC)[0] == ACTIVE


def test_a_stricter_breach_escalates_and_a_milder_one_never_relaxes():
    book = Book(max_position=1_000.0, max_order_notional=5_000.0)
    book.fill(BTC, "buy", 100.0, 20.0)  # REDUCING on position
    book.order(BTC, "sell", 100.0, 60.0)  # 6,000 notional: HALTED
    assert book.risk.state(BTC)[0] == HALTED
    assert book.open_alert(*BTC).severity == "critical" and book.open_alert(*BTC).state == "escalated"
    book.mark(BTC, 101.0)  # the position limit is still breached: no step back to REDUCING
    assert book.risk.state(BTC)[0] == HALTED
