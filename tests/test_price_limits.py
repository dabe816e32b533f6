"""A-share price-limit bands: the board from the code, the band from the previous close, rounded as the exchanges do."""

import pytest

from feeds.price_limits import BandRules, a_share_board, price_band

RULES = BandRules()


@pytest.mark.parametrize("symbol, board", [
    ("600519.SS", "main"), ("601318.SH", "main"), ("000001.SZ", "main"), ("002594.SZ", "main"),
    ("300750.SZ", "chinext"), ("301269.SZ", "chinext"), ("688981.SS", "star"), ("689009.SS", "star"),
    ("830799.BJ", "bse"), ("0700.HK", None), ("SPY", None), ("BTC/USDT", None), ("300750.HK", None),
])
def test_board_is_read_from_the_code(symbol, board):
    assert a_share_board(symbol) == board


@pytest.mark.parametrize("symbol, st, pct", [
    ("600519.SS", False, 10.0), ("600519.SS", True, 5.0), ("300750.SZ", False, 20.0), ("300750.SZ", True, 20.0),
    ("688981.SS", False, 20.0), ("830799.BJ", False, 30.0),
])
def test_band_percentage_per_board(symbol, st, pct):
    assert RULES.pct(a_share_board(symbol), st) == pct


@pytest.mark.parametrize("close, pct, low, high", [
    (1500.0, 10.0, 1350.0, 1650.0),
    (10.05, 10.0, 9.05, 11.06),    # 9.045 and 11.055 round half up, not to even or down as binary floats would
    (200.0, 20.0, 160.0, 240.0),   # ChiNext
    (3.33, 5.0, 3.16, 3.50),       # ST: 3.1635 and 3.4965
    (0.01, 10.0, 0.01, 0.01),      # a penny stock's lower limit never reaches zero
])
def test_band_from_the_previous_close(close, pct, low, high):
    band = price_band(close, pct, 0.01)
    assert (band.low, band.high) == (low, high)


def test_an_inward_band_keeps_the_tick_prices_within_it():
    """An HK cooling-off (feeds.vcm): 85.35 +-10% is 76.815-93.885; half-up rounding would allow 76.80 and 93.90."""
    band = price_band(85.35, 10.0, 0.05, inward=True)
    assert (band.low, band.high) == (76.85, 93.85)


def test_distance_to_the_nearer_limit_in_ticks():
    band = price_band(10.0, 10.0, 0.01)  # 9.00 - 11.00
    assert band.nearest_limit(11.0) == ("up", pytest.approx(0.0))
    assert band.nearest_limit(10.97) == ("up", pytest.approx(3.0))
    assert band.nearest_limit(9.02) == ("down", pytest.approx(2.0))


def test_a_limit_locked_book_is_recognised():
    band = price_band(10.0, 10.0, 0.01)
    assert band.locked(11.0, None) == "up"          # buyers queue at the limit, nobody sells
    assert band.locked(None, 9.0) == "down"
    assert band.locked(10.99, 11.0) is None         # sellers still at the limit: it trades there
    assert band.locked(10.5, 10.51) is None


def test_nonsense_inputs_are_refused():
    with pytest.raises(ValueError, match="positive close"):
        price_band(0.0, 10.0)
