"""The rule engine: dual condition, persistence, hysteresis, cooldown, escalation and warm-up counting."""

import pytest

from detectors.rules import Rule, RuleParams


class Sink:
    """Collects what a rule sends, as (ts, severity, value, threshold)."""

    def __init__(self):
        self.signals = []

    def __call__(self, ts, severity, value, threshold, z, message, **evidence):
        self.signals.append((ts, severity, value, threshold))


def describe(value, threshold, z):
    return f"{value} vs {threshold}", {}


def rule(**kwargs):
    sink = Sink()
    params = {"zscore": 3.0, "persist_s": 0.0, "clear_ratio": 0.8, "cooldown_s": 0.0} | kwargs.pop("params", {})
    return Rule(sink, describe, kwargs.pop("threshold", 5.0), kwargs.pop("critical", 20.0), **params, **kwargs), sink


def test_both_halves_of_the_dual_condition_are_needed():
    r, sink = rule()
    r.update(1.0, 10.0, z=2.0)  # wide, but not unusual
    r.update(2.0, 4.0, z=9.0)  # unusual, but not wide
    assert sink.signals == []
    r.update(3.0, 10.0, z=4.0)
    assert sink.signals == [(3.0, "warning", 10.0, 5.0)]


def test_persistence_needs_the_condition_to_hold_and_restarts_when_it_breaks():
    r, sink = rule(params={"persist_s": 2.0})
    r.update(0.0, 10.0, 5.0)
    r.update(1.5, 10.0, 5.0)
    r.update(1.6, 1.0, 5.0)  # broke: the clock restarts
    r.update(2.5, 10.0, 5.0)
    r.update(4.0, 10.0, 5.0)
    assert sink.signals == []
    r.update(4.5, 10.0, 5.0)
    assert [s[0] for s in sink.signals] == [4.5]


def test_hysteresis_keeps_the_alert_until_below_the_lower_level_then_cooldown_holds_it_quiet():
    r, sink = rule(params={"cooldown_s": 30.0}, update_s=100.0)
    r.update(0.0, 10.0, 5.0)
    r.update(1.0, 4.5, 0.0)  # under the threshold but above threshold x 0.8 = 4: still open
    assert r.active and len(sink.signals) == 1
    r.update(2.0, 3.9, 0.0)
    assert not r.active and sink.signals[-1][1] is None  # cleared
    r.update(10.0, 10.0, 5.0)  # within the cooldown: quiet
    assert len(sink.signals) == 2
    r.update(33.0, 10.0, 5.0)
    assert sink.signals[-1][:2] == (33.0, "warning")


def test_escalation_sends_the_critical_level_once_and_updates_are_throttled():
    r, sink = rule(update_s=1.0)
    r.update(0.0, 10.0, 5.0)
    r.update(0.2, 30.0, 5.0)  # critical: escalates at once
    r.update(0.4, 31.0, 5.0)  # same severity, within update_s: nothing
    r.update(1.3, 32.0, 5.0)  # a periodic refresh of the open alert
    assert sink.signals == [(0.0, "warning", 10.0, 5.0), (0.2, "critical", 30.0, 20.0), (1.3, "critical", 32.0, 20.0)]


def test_a_low_metric_rule_fires_below_and_clears_above_threshold_over_ratio():
    r, sink = rule(threshold=100.0, critical=25.0, above=False, update_s=100.0,
                   params={"zscore": None, "clear_ratio": 0.5})
    r.update(0.0, 90.0)
    r.update(1.0, 20.0)  # below the critical floor too
    r.update(2.0, 150.0)  # above the threshold, not yet above 100 / 0.5
    assert [s[1] for s in sink.signals] == ["warning", "critical"] and r.active
    r.update(3.0, 201.0)
    assert not r.active


def test_strict_and_inclusive_levels_and_an_explicit_statistical_test():
    strict, _ = rule(inclusive=False, params={"zscore": None})
    strict.update(0.0, 5.0)
    assert not strict.active  # "longer than the limit": exactly at it is not
    inclusive, _ = rule(params={"zscore": None})
    inclusive.update(0.0, 5.0)
    assert inclusive.active  # "at least 5"
    cusum, _ = rule()
    cusum.update(0.0, 10.0, z=None, stat_ok=False)
    cusum.update(1.0, 10.0, z=None, stat_ok=True)  # the detector's own test replaces the z-score
    assert cusum.active


def test_warm_up_skips_are_counted_and_an_open_alert_can_still_clear():
    r, sink = rule()
    r.update(0.0, 10.0, 5.0)
    r.skip(1.0, 4.5)
    assert r.skipped == 1 and r.active
    r.skip(2.0, 1.0)
    assert r.skipped == 2 and not r.active and sink.signals[-1][1] is None


def test_non_finite_metrics_are_ignored():
    r, sink = rule()
    r.update(0.0, float("nan"), 5.0)
    r.update(0.0, float("inf"), 5.0)
    assert sink.signals == [] and not r.engaged


def test_rule_params_refuse_nonsense():
    with pytest.raises(ValueError, match="clear_ratio"):
        RuleParams(clear_ratio=1.5)
    with pytest.raises(ValueError, match="zscore"):
        RuleParams(zscore=0.0)
