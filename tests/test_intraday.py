"""The intraday profile: the usual share of each time of day, learned from earlier sessions only."""

import pytest

from detectors.intraday import IntradayProfile

OPEN_S = 9.5 * 3600


def u_shaped_day(profile: IntradayProfile, day: int, scale: float = 1.0) -> None:
    """390 one-minute bars: 3 units a bar in the first and last half hour, 1 unit in between."""
    for minute in range(390):
        heavy = minute < 30 or minute >= 360
        profile.add(day, OPEN_S + minute * 60, (3.0 if heavy else 1.0) * scale)


def test_nothing_is_known_before_a_session_has_ended():
    profile = IntradayProfile(bucket_s=300)
    u_shaped_day(profile, day=1)
    assert profile.weight(OPEN_S) is None
    assert profile.sessions == 0


def test_the_open_and_close_carry_their_usual_share():
    profile = IntradayProfile(bucket_s=300)
    u_shaped_day(profile, day=1)
    u_shaped_day(profile, day=2, scale=10.0)  # a busier day has the same shape
    profile.add(3, OPEN_S, 1.0)  # the next session starts: day 2 is folded in
    mean = (60 * 3 + 330 * 1) / 390
    assert profile.sessions == 2
    assert profile.weight(OPEN_S) == pytest.approx(3 / mean)
    assert profile.weight(OPEN_S + 3 * 3600) == pytest.approx(1 / mean)
    assert profile.weight(OPEN_S + 389 * 60) == pytest.approx(3 / mean)
    assert profile.weight(20 * 3600) is None  # after hours were never seen


def test_recent_sessions_count_and_old_ones_fade():
    profile = IntradayProfile(bucket_s=300, days=2)
    for day in range(1, 4):
        profile.add(day, OPEN_S, 1.0)
        profile.add(day, OPEN_S + 600, 1.0)
    profile.add(4, OPEN_S, 3.0)  # day 4: the open becomes heavy
    profile.add(4, OPEN_S + 600, 1.0)
    profile.add(5, OPEN_S, 1.0)
    # day 4's share at the open is 3 / 2 = 1.5; averaged with weight 1/2 into 1.0
    assert profile.weight(OPEN_S) == pytest.approx(1.25)


def test_reset_forgets():
    profile = IntradayProfile()
    u_shaped_day(profile, 1)
    profile.add(2, OPEN_S, 1.0)
    profile.reset()
    assert profile.weight(OPEN_S) is None and profile.sessions == 0
