"""Market calendars: sessions, breaks, auctions, weekends, holidays and DST, as an operator would read them."""

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT

from console.config import ConfigError, load_config
from feeds.calendars import Calendars, MarketCalendar
from feeds.settings import MarketsSettings, SessionWindow

CALENDARS = Calendars(MarketsSettings())
ZONES = {"us": "America/New_York", "hk": "Asia/Hong_Kong", "cn": "Asia/Shanghai", "crypto": "UTC"}


def at(market: str, local: str) -> float:
    """Epoch seconds of wall-clock time `local` in the market's own zone."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(ZONES[market])).timestamp()


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("UTC")).timestamp()


def state(market: str, local: str) -> tuple[str, float]:
    return CALENDARS.session_state(market, at(market, local))


def test_us_regular_day_with_extended_hours():
    assert state("us", "2026-03-04T03:59") == ("closed", at("us", "2026-03-04T04:00"))
    assert state("us", "2026-03-04T04:00") == ("pre", at("us", "2026-03-04T09:30"))
    assert state("us", "2026-03-04T09:30") == ("open", at("us", "2026-03-04T16:00"))
    assert state("us", "2026-03-04T15:59:59") == ("open", at("us", "2026-03-04T16:00"))
    assert state("us", "2026-03-04T16:00") == ("post", at("us", "2026-03-04T20:00"))
    assert state("us", "2026-03-04T20:00") == ("closed", at("us", "2026-03-05T04:00"))


def test_us_weekend_runs_from_friday_night_to_monday_pre_market():
    assert state("us", "2026-03-07T12:00") == ("closed", at("us", "2026-03-09T04:00"))
    status = CALENDARS["us"].status(at("us", "2026-03-07T12:00"))
    assert status.next_open == at("us", "2026-03-09T09:30")


def test_us_open_follows_new_york_across_the_march_dst_change():
    # 2026-03-08: clocks go forward. The open stays 09:30 in New York, so it moves an hour earlier in UTC.
    assert CALENDARS["us"].status(utc("2026-03-06T12:00")).next_open == utc("2026-03-06T14:30")
    assert CALENDARS["us"].status(utc("2026-03-07T12:00")).next_open == utc("2026-03-09T13:30")
    assert CALENDARS.session_state("us", utc("2026-03-09T13:45")) == ("open", utc("2026-03-09T20:00"))
    assert CALENDARS.session_state("us", utc("2026-03-06T14:15"))[0] == "pre"  # 09:15 EST
    # Friday's post-market ends 20:00 EST = 01:00 UTC; Monday's pre-market starts 04:00 EDT = 08:00 UTC
    assert CALENDARS["us"].segment(utc("2026-03-08T12:00")).start == utc("2026-03-07T01:00")
    assert CALENDARS["us"].segment(utc("2026-03-08T12:00")).end == utc("2026-03-09T08:00")


def test_us_open_follows_new_york_across_the_november_dst_change():
    # 2026-11-01: clocks go back, so the open moves an hour later in UTC.
    assert CALENDARS.session_state("us", utc("2026-10-30T13:30")) == ("open", utc("2026-10-30T20:00"))
    assert CALENDARS.session_state("us", utc("2026-11-02T13:30"))[0] == "pre"  # 08:30 EST
    assert CALENDARS.session_state("us", utc("2026-11-02T14:30")) == ("open", utc("2026-11-02T21:00"))


def test_us_holiday_and_half_day():
    # Thanksgiving is closed from Wednesday's post-market to Friday's pre-market; Friday closes at 13:00.
    assert state("us", "2026-11-26T11:00") == ("closed", at("us", "2026-11-27T04:00"))
    assert CALENDARS["us"].segment(at("us", "2026-11-26T11:00")).start == at("us", "2026-11-25T20:00")
    assert state("us", "2026-11-27T12:59") == ("open", at("us", "2026-11-27T13:00"))
    assert state("us", "2026-11-27T13:00") == ("post", at("us", "2026-11-27T17:00"))
    assert state("us", "2026-11-27T17:30") == ("closed", at("us", "2026-11-30T04:00"))
    # Good Friday and Independence Day (observed on Friday 3 July 2026)
    assert state("us", "2026-04-03T10:00")[0] == "closed"
    assert state("us", "2026-07-03T10:00")[0] == "closed"


def test_hk_auction_and_lunch_break():
    assert state("hk", "2026-03-10T08:59") == ("closed", at("hk", "2026-03-10T09:00"))
    assert state("hk", "2026-03-10T09:05") == ("auction", at("hk", "2026-03-10T09:20"))
    assert state("hk", "2026-03-10T09:25") == ("break", at("hk", "2026-03-10T09:30"))
    assert state("hk", "2026-03-10T11:59") == ("open", at("hk", "2026-03-10T12:00"))
    assert state("hk", "2026-03-10T12:00") == ("break", at("hk", "2026-03-10T13:00"))
    assert CALENDARS["hk"].status(at("hk", "2026-03-10T12:30")).next_open == at("hk", "2026-03-10T13:00")
    assert state("hk", "2026-03-10T13:00") == ("open", at("hk", "2026-03-10T16:00"))
    assert state("hk", "2026-03-10T16:05") == ("auction", at("hk", "2026-03-10T16:10"))
    assert state("hk", "2026-03-10T16:10") == ("closed", at("hk", "2026-03-11T09:00"))


def test_hk_holidays_and_half_day():
    # Lunar New Year 2026: the eve (16 Feb) trades the morning only, then closed to Friday 20 February
    assert state("hk", "2026-02-16T11:00") == ("open", at("hk", "2026-02-16T12:00"))
    assert state("hk", "2026-02-16T12:05") == ("auction", at("hk", "2026-02-16T12:10"))
    assert state("hk", "2026-02-16T14:00") == ("closed", at("hk", "2026-02-20T09:00"))
    assert state("hk", "2026-10-01T10:00")[0] == "closed"  # National Day


def test_a_share_auctions_and_lunch_break():
    assert state("cn", "2026-03-10T09:14") == ("closed", at("cn", "2026-03-10T09:15"))
    assert state("cn", "2026-03-10T09:15") == ("auction", at("cn", "2026-03-10T09:25"))
    assert state("cn", "2026-03-10T09:27") == ("break", at("cn", "2026-03-10T09:30"))
    assert state("cn", "2026-03-10T10:00") == ("open", at("cn", "2026-03-10T11:30"))
    assert state("cn", "2026-03-10T11:30") == ("break", at("cn", "2026-03-10T13:00"))
    assert state("cn", "2026-03-10T13:00") == ("open", at("cn", "2026-03-10T14:57"))
    assert state("cn", "2026-03-10T14:58") == ("auction", at("cn", "2026-03-10T15:00"))
    assert state("cn", "2026-03-10T15:00") == ("closed", at("cn", "2026-03-11T09:15"))


def test_a_share_spring_festival_closure():
    # The exchanges close 16-20 and 23 February 2026; the make-up working Saturdays do not trade.
    assert state("cn", "2026-02-13T15:30") == ("closed", at("cn", "2026-02-24T09:15"))
    assert state("cn", "2026-02-14T10:00")[0] == "closed"  # a make-up working day, still no trading


def test_crypto_never_closes():
    assert CALENDARS.session_state("crypto", utc("2026-12-25T03:00")) == ("open", float("inf"))
    assert CALENDARS.session_state("crypto", utc("2026-03-08T07:00")) == ("open", float("inf"))


def test_config_dates_add_closures_half_days_and_open_days():
    hk = replace(MarketsSettings().hk, holidays=["2026-09-15"], half_days=["2026-09-16"], open_days=["2026-10-01"])
    calendar = MarketCalendar("hk", hk)
    assert calendar.session_state(at("hk", "2026-09-15T10:00"))[0] == "closed"  # a typhoon, say
    assert calendar.session_state(at("hk", "2026-09-16T14:00"))[0] == "closed"  # morning only
    assert calendar.session_state(at("hk", "2026-10-01T10:00"))[0] == "open"


def test_all_day_market_with_a_weekend_changes_state_only_at_the_weekend():
    settings = replace(MarketsSettings().crypto, weekend=["sat", "sun"])
    calendar = MarketCalendar("fx", settings)
    assert calendar.session_state(utc("2026-03-02T10:00")) == ("open", utc("2026-03-07T00:00"))
    assert calendar.session_state(utc("2026-03-07T10:00")) == ("closed", utc("2026-03-09T00:00"))


@pytest.mark.parametrize("market", ["us", "hk", "cn"])
def test_cached_answers_match_a_fresh_computation_through_two_weeks(market):
    """Asked in time order, as the runtime does, every answer equals the uncached one, and each segment
    holds right up to its end and changes there (across a DST change for the US)."""
    calendar = MarketCalendar(market, getattr(MarketsSettings(), market))
    fresh = MarketCalendar(market, getattr(MarketsSettings(), market))
    ts, stop = utc("2026-02-25T00:00"), utc("2026-03-11T00:00")
    changes = 0
    while ts < stop:
        answer = calendar.session_state(ts)
        segment = fresh.segment(ts)
        assert answer == (segment.state, segment.end)
        assert segment.start <= ts < segment.end
        assert fresh.segment(segment.end - 0.001).state == segment.state
        changes += fresh.segment(segment.end).state != segment.state
        ts += 7 * 60 + 13
    assert changes > 10


def test_default_config_file_spells_out_the_built_in_calendars():
    assert load_config(ROOT / "config.yaml").markets == MarketsSettings()


def test_a_market_given_in_part_keeps_the_rest_of_its_calendar(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(_CONFIG + "markets:\n  hk:\n    holidays: [2026-09-15]\n")
    hk = load_config(path).markets.hk
    assert hk.holidays == ["2026-09-15"]
    assert hk == replace(MarketsSettings().hk, holidays=["2026-09-15"])


_CONFIG = """\
venues:
  - {name: sim-alpha, source: sim}
instruments:
  - {venue: sim-alpha, symbol: BTC/USDT, kind: spot, market: crypto, tick_size: 0.1}
"""


@pytest.mark.parametrize("markets, message", [
    ("  us:\n    sessions:\n      - {state: open, hours: 9:30-16:00}\n",
     "m.yaml:8: markets.us.sessions[0]: hours must look like 09:30-16:00, got '9:30-16:00'"),
    ("  us:\n    sessions:\n      - {state: open, hours: '16:00-09:30'}\n",
     "m.yaml:8: markets.us.sessions[0]: hours '16:00-09:30' are not a window within one day"),
    ("  us:\n    sessions:\n      - {state: open, hours: '09:30-16:00'}\n      - {state: post, hours: '15:00-20:00'}\n",
     "m.yaml:6: markets.us: sessions: 15:00-20:00 starts before the window ahead of it ends"),
    ("  hk:\n    timezone: Asia/HongKong\n",
     "m.yaml:6: markets.hk: timezone: unknown time zone 'Asia/HongKong' (IANA names like Asia/Hong_Kong)"),
    ("  hk:\n    holidays: [2026-09-31]\n",
     "m.yaml:6: markets.hk: holidays: '2026-09-31' is not a date like 2026-12-24"),
    ("  cn:\n    holiday_calendar: SSE2\n",
     "m.yaml:6: markets.cn: holiday_calendar: the holidays package has no market 'SSE2' (e.g. XNYS, XHKG, XSHG, XSHE)"),
    ("  cn:\n    weekend: [saturday]\n",
     "m.yaml:7: markets.cn.weekend[0]: expected mon, tue, wed, thu, fri, sat or sun, got 'saturday'"),
    ("  eu: {}\n", "m.yaml:6: markets.eu: unknown key (expected one of: crypto, us, hk, cn)"),
])
def test_calendar_mistakes_are_one_line_naming_the_place(tmp_path, markets, message):
    path = tmp_path / "m.yaml"
    path.write_text(_CONFIG + "markets:\n" + markets)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path.parent}/{message}"


def test_session_windows_are_checked_where_they_are_built():
    with pytest.raises(ValueError, match="not a window within one day"):
        SessionWindow("open", "10:00-10:00")
