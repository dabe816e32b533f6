"""price_limit on HK stocks, HKEX's volatility control (VCM): a trade more than the tier (10%) from the last price
5 minutes back starts a 5-minute cooling-off within reference +-10%, only where and as often as the exchange
watches (not the first 15 minutes of a session nor the last 20 of the day; once a session); near the trigger
warns; a book pinned at the cooling-off band's edge is not liquidity leaving."""

from datetime import date, datetime, time
from itertools import groupby
from zoneinfo import ZoneInfo

import pytest

from console.config import load_config
from detectors.price_limit import PriceLimitParams
from test_price_limit import Watched, pinned_book_alerts

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
DAY = date(2026, 3, 2)  # a Monday: 09:30-12:00 and 13:00-16:00 continuous trading


def at(clock: str, day: date = DAY) -> float:
    return datetime.combine(day, time.fromisoformat(clock), HONG_KONG).timestamp()


def tencent(**changes) -> Watched:
    return Watched("0700.HK", market="hk", tick_size=0.2, overrides={"price_limit": changes} if changes else None)


def episodes(watched: Watched) -> list[str | None]:
    """price_limit's severities, each run of refreshes counted once: ["critical", None] is one alert, cleared."""
    return [severity for severity, _ in groupby(s.severity for s in watched.of("price_limit"))]


def test_a_jump_in_the_watched_morning_starts_a_cooling_off_until_five_minutes_on():
    watched = tencent()
    watched.trade(at("09:40"), 380.0)  # the reference: the last trade 5 minutes before 09:48
    watched.trade(at("09:48"), 427.0)  # 3 minutes into the watched morning (from 09:45), +12.4%
    (alert,) = watched.of("price_limit")
    assert alert.severity == "critical"
    assert alert.message == ("VCM cooling-off: 0700.HK 12.4% above 5-min reference 380; trading held within "
                             "342-418 until 09:53:00 HKT")
    assert alert.evidence["reference"] == 380.0 and alert.evidence["band"] == [342.0, 418.0]
    assert alert.evidence["tier"] == 10.0 and alert.evidence["ends_at"] == at("09:53")
    watched.trade(at("09:50"), 418.0)  # trading within the band
    watched.tick(at("09:52:59.5"))
    assert watched.of("price_limit")[-1].severity == "critical"
    watched.tick(at("09:53"))
    assert watched.of("price_limit")[-1].message == "VCM cooling-off over: 0700.HK trades freely again"
    assert episodes(watched) == ["critical", None]


@pytest.mark.parametrize("reference, jump", [
    ("09:35", "09:44:59"),  # the first 15 minutes of the morning
    ("13:05", "13:14:59"),  # ... and of the afternoon
    ("15:30", "15:40"),  # the last 20 minutes of the day
])
def test_no_cooling_off_where_the_exchange_does_not_watch(reference, jump):
    watched = tencent()
    watched.trade(at(reference), 380.0)
    watched.trade(at(jump), 427.0)
    assert watched.of("price_limit") == []


@pytest.mark.parametrize("jump, expected", [("11:30", ["critical"]), ("11:45", [])])
def test_a_half_day_stops_watching_20_minutes_before_its_morning_ends(jump, expected):
    half_day = date(2026, 2, 16)  # Lunar New Year's eve: 09:30-12:00, then the closing auction
    watched = tencent()
    watched.trade(at("11:20", half_day), 380.0)
    watched.trade(at(jump, half_day), 427.0)
    assert episodes(watched) == expected


@pytest.mark.parametrize("triggers, expected", [(1, ["critical", None]), (2, ["critical", None, "critical"])])
def test_one_cooling_off_per_session_unless_more_are_allowed(triggers, expected):
    watched = tencent(vcm_triggers=triggers)
    watched.trade(at("09:40"), 380.0)
    watched.trade(at("09:48"), 427.0)
    watched.trade(at("09:48:10"), 418.0)
    watched.tick(at("09:53"))  # the cooling-off is over
    watched.trade(at("09:53:30"), 470.0)  # 30 s on (within cooldown_s): +12.4% on the 418 of 09:48:30
    assert episodes(watched) == expected


def test_the_afternoon_is_a_new_session():
    watched = tencent()
    watched.trade(at("09:40"), 380.0)
    watched.trade(at("09:48"), 427.0)
    watched.trade(at("13:10"), 420.0)
    watched.trade(at("13:20"), 470.0)
    assert episodes(watched) == ["critical", None, "critical"]
    assert watched.of("price_limit")[-1].evidence["band"] == [378.0, 462.0]
    assert "until 13:25:00 HKT" in watched.of("price_limit")[-1].message


def test_a_late_morning_cooling_off_ends_at_noon_and_the_reference_carries_over_lunch():
    watched = tencent()
    watched.trade(at("11:50"), 380.0)
    watched.trade(at("11:57"), 427.0)
    assert watched.of("price_limit")[-1].evidence["ends_at"] == at("12:00")
    watched.trade(at("11:59"), 400.0)  # the morning's last trade
    watched.tick(at("13:00"))  # the afternoon's first tick: the cooling-off is over, and forgotten
    assert watched.of("price_limit")[-1].severity is None
    assert watched.price_limit.vcm.band is None
    watched.trade(at("13:16"), 450.0)  # nothing traded since 11:59: the reference is 400, +12.5%
    alert = watched.of("price_limit")[-1]
    assert alert.severity == "critical" and alert.evidence["reference"] == 400.0
    assert alert.message.endswith("within 360-440 until 13:21:00 HKT")


def test_a_slow_drift_is_no_trigger():
    """+12% over 30 minutes: about 2% per 5 minutes against a reference that moves along."""
    watched = tencent()
    for i in range(61):
        watched.trade(at("09:45") + 30.0 * i, round(380.0 * 1.12 ** (i / 60) / 0.2) * 0.2)
    assert watched.price_limit.vcm.last >= 425.6
    assert watched.of("price_limit") == []


def test_near_the_trigger_warns_and_backing_off_clears():
    watched = tencent()
    watched.trade(at("09:40"), 380.0)
    watched.trade(at("09:50"), 414.8)  # 3.2 from 418: 0.84% of the reference
    (warning,) = watched.of("price_limit")
    assert warning.severity == "warning" and warning.evidence["trigger"] == 418.0
    assert warning.message == "0700.HK 9.2% above 5-min reference 380: within 0.84% of the VCM trigger 418 (+-10%)"
    watched.trade(at("09:51"), 400.0)  # 4.7% from the trigger: more than twice near_pct
    assert episodes(watched) == ["warning", None]


def test_a_print_at_the_trigger_edge_is_critical_without_claiming_a_cooling_off():
    """On HKEX the trade that would pass the trigger never prints: a real feed shows the price stopping at the edge."""
    watched = tencent()
    watched.trade(at("09:40"), 380.0)
    watched.trade(at("09:50"), 418.0)  # the last tick within +10%
    (alert,) = watched.of("price_limit")
    assert alert.severity == "critical" and "ends_at" not in alert.evidence
    assert alert.message == ("0700.HK 10.0% above 5-min reference 380: at the VCM trigger 418 (+-10%); a trade "
                             "beyond it starts a 5-minute cooling-off")
    assert watched.price_limit.vcm.band is None  # no cooling-off: book-shape detectors judge the book as usual
    watched.trade(at("09:51"), 400.0)
    assert episodes(watched) == ["critical", None]


@pytest.mark.parametrize("vcm", [True, False])
def test_a_book_pinned_at_the_cooling_off_band_is_not_depletion(vcm):
    """Buyers queue at the band's top (418) and the odd seller there is taken at once. Without the VCM
    (price_limit switched off) book_depletion reads that thin ask side as liquidity leaving."""
    watched = tencent() if vcm else tencent(enabled=False)
    watched.trade(at("09:50"), 380.0)
    quality = pinned_book_alerts(watched, at("09:58:40"), 380.0, 0.2, 500.0, 418.0, before=427.0)
    if not vcm:
        assert quality
        return
    assert episodes(watched) == ["critical"]
    assert quality == []


@pytest.mark.parametrize("tier, price, expected", [
    (15, 112.0, []),  # the LargeCap trigger (10%) does not apply
    (15, 117.0, ["critical"]),
    (20, 117.0, []),
    (20, 119.5, ["warning"]),  # within 1% of +20%
])
def test_the_tier_is_set_per_instrument_in_the_config(tmp_path, tier, price, expected):
    path = tmp_path / "vcm.yaml"
    path.write_text(f"""\
venues: [{{name: sim-hk}}]
instruments:
  - {{venue: sim-hk, symbol: 1810.HK, kind: equity, market: hk, tick_size: 0.05}}
detectors:
  overrides:
    - match: "sim-hk:1810.HK"
      price_limit: {{vcm_pct: {tier}}}
""")
    watched = Watched("1810.HK", market="hk", tick_size=0.05, settings=load_config(path).detectors)
    watched.trade(at("10:00"), 100.0)
    watched.trade(at("10:06"), price)
    assert episodes(watched) == expected
    if expected == ["critical"]:
        assert watched.of("price_limit")[-1].evidence["band"] == [85.0, 115.0]


def test_bad_vcm_settings_are_refused():
    with pytest.raises(ValueError, match="vcm_pct"):
        PriceLimitParams(vcm_pct=0.5)
    with pytest.raises(ValueError, match="vcm_triggers"):
        PriceLimitParams(vcm_triggers=0)
