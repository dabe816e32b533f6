"""The alert lifecycle as an operator meets it: one alert per condition, acknowledge, resolve, escalate, audit."""

import pytest

from detectors.alerts import Alert, LifecycleError, Signal
from detectors.engine import AlertEngine

T0 = 1_767_225_600.0


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine():
    engine = AlertEngine(clock=Clock())
    engine.audit = []
    engine.audit_listeners.append(engine.audit.append)
    return engine


def fire(engine, severity="warning", ts=T0, value=7.0, symbol="ETH/USDT", kind="spread_wide"):
    engine.submit(Signal(ts, "sim-alpha", symbol, kind, severity, value, 5.0, 3.1, f"spread {value}"))


def trail(engine, alert_id=None):
    return [(e.action, e.operator, e.reason, e.state) for e in engine.audit if alert_id in (None, e.alert_id)]


def test_repeated_firings_update_one_alert_instead_of_adding_rows(engine):
    fire(engine, ts=T0, value=7.0)
    fire(engine, ts=T0 + 1, value=9.0)
    fire(engine, ts=T0 + 2, value=8.0)
    assert len(engine.history) == 1
    alert = engine.history[0]
    assert (alert.count, alert.value, alert.last_ts, alert.ts) == (3, 8.0, T0 + 2, T0)
    assert trail(engine) == [("opened", "system", None, "open")]  # updates are not state changes


def test_acknowledge_records_operator_time_and_reason(engine):
    fire(engine)
    alert = engine.history[0]
    engine.clock.now = 1042.5
    engine.acknowledge(alert.id, "ana", "looking at the book")
    assert (alert.state, alert.acked_by, alert.acked_at - alert.opened_at) == ("acknowledged", "ana", 42.5)
    assert trail(engine)[-1] == ("acknowledged", "ana", "looking at the book", "acknowledged")
    with pytest.raises(LifecycleError, match="already acknowledged by ana"):
        engine.acknowledge(alert.id, "bo")
    fire(engine, value=9.0)  # still firing: counted, still acknowledged, nothing new for the audit
    assert (alert.state, alert.count, len(engine.audit)) == ("acknowledged", 2, 2)


def test_resolve_needs_a_reason_and_closes_the_alert(engine):
    fire(engine)
    alert = engine.history[0]
    for reason in (None, "", "   "):
        with pytest.raises(LifecycleError, match="a reason is required"):
            engine.resolve(alert.id, "ana", reason)
    assert alert.state == "open"
    engine.resolve(alert.id, "ana", "venue maintenance")
    assert (alert.state, alert.resolved_by, alert.resolution) == ("resolved", "ana", "venue maintenance")
    with pytest.raises(LifecycleError, match="already resolved by ana"):
        engine.acknowledge(alert.id, "ana")
    with pytest.raises(LifecycleError, match="no alert al-nope"):
        engine.resolve("al-nope", "ana", "x")
    fire(engine, ts=T0 + 5)
    with pytest.raises(LifecycleError, match="an operator name is required"):
        engine.acknowledge(engine.history[-1].id, " ")


def test_a_condition_that_persists_after_an_operator_resolves_raises_a_new_alert(engine):
    fire(engine, ts=T0)
    first = engine.history[0]
    engine.resolve(first.id, "ana", "known issue")
    fire(engine, ts=T0 + 1)
    assert len(engine.history) == 2 and engine.history[1].id != first.id
    assert first.state == "resolved" and first.count == 1


def test_escalation_reopens_attention_and_is_audited(engine):
    fire(engine, "warning")
    alert = engine.history[0]
    engine.acknowledge(alert.id, "ana")
    fire(engine, "critical", value=30.0)
    assert (alert.severity, alert.state) == ("critical", "escalated")
    fire(engine, "warning", value=8.0)  # a quieter signal never lowers the severity
    assert alert.severity == "critical"
    engine.acknowledge(alert.id, "bo")  # escalated alerts are acknowledged again
    assert alert.acked_by == "ana"  # time to acknowledge keeps the first acknowledgement
    assert trail(engine) == [("opened", "system", None, "open"), ("acknowledged", "ana", None, "acknowledged"),
                             ("escalated", "system", None, "escalated"), ("acknowledged", "bo", None, "acknowledged")]


def test_the_detectors_all_clear_resolves_as_system_condition_cleared(engine):
    fire(engine)
    alert = engine.history[0]
    engine.acknowledge(alert.id, "ana")
    engine.submit(Signal(T0 + 9, "sim-alpha", "ETH/USDT", "spread_wide", None))
    assert (alert.state, alert.resolved_by, alert.resolution, alert.last_ts) == (
        "resolved", "system", "condition cleared", T0 + 9)
    assert alert.acked_by == "ana"
    assert engine.open == {}
    fire(engine, ts=T0 + 20)  # the condition comes back: a new alert
    assert len(engine.history) == 2


def test_restored_alerts_wait_for_an_operator_and_new_firings_do_not_merge_into_them(engine):
    old = Alert("al-old", T0 - 600, "sim-alpha", "ETH/USDT", "spread_wide", "critical", 40.0, 20.0, 9.0, "old",
                state="acknowledged", acked_by="ana", acked_at=900.0, opened_at=880.0)
    engine.restore([old])
    assert engine.history == [old] and engine.open == {}
    fire(engine, ts=T0)
    assert len(engine.history) == 2 and old.count == 1
    engine.resolve("al-old", "bo", "checked after restart")
    assert old.state == "resolved" and engine.history[1].state == "open"


def test_the_same_data_raising_a_restored_alert_again_keeps_one_alert(engine):
    first = AlertEngine()
    fire(first)
    engine.restore(first.history)  # e.g. the same recording replayed into the same store
    fire(engine)
    assert engine.history == first.history
    assert engine.history[0].state == "open" and engine.history[0].count == 2
    assert [e.action for e in engine.audit] == ["opened"]
