"""The rule engine: turns a detector's metric into alert signals, the same way for every detector.

A rule fires when the metric is past its absolute threshold AND its statistical condition holds (the
z-score past `zscore`, or a detector's own test such as a CUSUM alarm) -- the dual condition -- and both
have held for `persist_s` of market time. It escalates to critical when the critical level is crossed too,
clears only once the metric is back past the hysteresis level (threshold x `clear_ratio`), and after
clearing stays quiet for `cooldown_s`, so a flapping metric raises one alert, not a stream of them. While
an alert is open its current values are re-sent at most once per `update_s`, which keeps the open alert
current without flooding the alert engine (which keeps one open alert per instrument and kind).

Rules also count the evaluations skipped while a detector's statistics warm up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from detectors.alerts import SEVERITY_RANK
from detectors.base import DetectorParams

Describe = Callable[[float, float, "float | None"], tuple[str, dict[str, Any]]]  # (value, threshold, z)
Emit = Callable[..., None]  # Detector.signal
_BIG = 1e308


def check(condition: bool, message: str) -> None:
    """Settings validation: the config loader reports the ValueError as one line naming the key's place."""
    if not condition:
        raise ValueError(message)


def check_positive(owner: object, *names: str) -> None:
    for name in names:
        check(getattr(owner, name) > 0, f"{name} must be positive")


def check_history(size: int, warmup: int, name: str = "history") -> None:
    """A rolling history of `size` samples that starts judging after `warmup` of them."""
    check(size >= 2 and 1 <= warmup <= size, f"need {name} >= 2 and 1 <= warmup <= {name}")


@dataclass(frozen=True)
class RuleParams(DetectorParams):
    """Settings every rule-driven detector has; each detector adds its thresholds and may change defaults.

    Detectors whose metric is a count or a level with no statistics behind it set `scored = False`: their
    zscore must stay null."""

    scored: ClassVar[bool] = True
    zscore: float | None = 3.0  # statistical condition, in standard deviations; null: the threshold alone
    persist_s: float = 0.0  # the condition must hold this long (market seconds) before the alert fires
    clear_ratio: float = 0.8  # hysteresis: clears once the metric is back past threshold x this ratio
    cooldown_s: float = 15.0  # after clearing, the same alert does not fire again for this long

    def __post_init__(self) -> None:
        if self.zscore is not None and not self.zscore > 0:
            raise ValueError("zscore must be positive (or null for no statistical condition)")
        if self.zscore is not None and not self.scored:
            raise ValueError("zscore does not apply to this detector (it has no statistics): leave it null")
        if self.persist_s < 0 or self.cooldown_s < 0:
            raise ValueError("persist_s and cooldown_s must not be negative")
        if not 0 < self.clear_ratio <= 1:
            raise ValueError("clear_ratio must be in (0, 1]")


class Rule:
    """One detector's alert state for one instrument.

    `above=True`: the alert is about a metric that is too high (spread, volume); `above=False`: too low
    (depth), where the critical level is below the warning one and hysteresis clears at threshold /
    clear_ratio. `critical=None` means the rule never escalates. `inclusive`: a metric exactly at a level
    counts as past it ("at least 2 prints"); false for "longer than the limit".
    """

    __slots__ = ("emit", "describe", "threshold", "critical", "zscore", "persist_s", "clear_ratio", "cooldown_s",
                 "above", "inclusive", "update_s", "severity", "since", "quiet_until", "skipped", "_next_update")

    def __init__(self, emit: Emit, describe: Describe, threshold: float, critical: float | None = None, *,
                 zscore: float | None = None, persist_s: float = 0.0, clear_ratio: float = 1.0,
                 cooldown_s: float = 0.0, above: bool = True, inclusive: bool = True,
                 update_s: float = 1.0) -> None:
        self.emit = emit
        self.describe = describe
        self.threshold = threshold
        self.critical = critical
        self.zscore = zscore
        self.persist_s = persist_s
        self.clear_ratio = clear_ratio
        self.cooldown_s = cooldown_s
        self.above = above
        self.inclusive = inclusive
        self.update_s = update_s
        self.severity: str | None = None  # of the open alert, None when quiet
        self.since: float | None = None  # when the condition started holding (not yet fired)
        self.quiet_until = -_BIG
        self.skipped = 0  # evaluations skipped while the statistics warmed up
        self._next_update = -_BIG

    @classmethod
    def from_params(cls, emit: Emit, describe: Describe, threshold: float, critical: float | None,
                    params: RuleParams, above: bool = True, inclusive: bool = True) -> Rule:
        return cls(emit, describe, threshold, critical, zscore=params.zscore, persist_s=params.persist_s,
                   clear_ratio=params.clear_ratio, cooldown_s=params.cooldown_s, above=above, inclusive=inclusive)

    @property
    def active(self) -> bool:
        """An alert is open."""
        return self.severity is not None

    @property
    def engaged(self) -> bool:
        """An alert is open or about to be: detectors keep such samples out of their baselines."""
        return self.severity is not None or self.since is not None

    def _past(self, value: float, level: float) -> bool:
        if value == level:
            return self.inclusive
        return value > level if self.above else value < level

    def _severity(self, value: float, z: float | None, stat_ok: bool | None, critical_ok: bool | None) -> str | None:
        if not self._past(value, self.threshold):
            return None
        if stat_ok is None:
            zscore = self.zscore
            stat_ok = zscore is None or (z is not None and (z >= zscore if self.above else z <= -zscore))
        if not stat_ok:
            return None
        if critical_ok is None:
            critical_ok = self.critical is not None and self._past(value, self.critical)
        return "critical" if critical_ok else "warning"

    def _cleared(self, value: float) -> bool:
        if self.above:
            return value < self.threshold * self.clear_ratio
        return value > self.threshold / self.clear_ratio

    def update(self, ts: float, value: float, z: float | None = None, stat_ok: bool | None = None,
               critical_ok: bool | None = None) -> None:
        """Evaluate the metric at market time `ts`. `stat_ok`, when given, replaces the z-score test, and
        `critical_ok` the critical level (for detectors whose escalation is an event, like a reversal).

        Signals go to the alert engine only on changes (open, escalate, clear) and at most once per
        `update_s` in between.
        """
        if not -_BIG < value < _BIG:
            return  # a non-finite metric says nothing; detectors count bad input where it comes in
        if self.severity is not None:
            if self._cleared(value):
                self.clear(ts, value, z)
                return
            severity = self._severity(value, z, stat_ok, critical_ok)
            if severity is not None and SEVERITY_RANK[severity] > SEVERITY_RANK[self.severity]:
                self._send(ts, severity, value, z)
            elif ts >= self._next_update:
                self._send(ts, self.severity, value, z)
            return
        severity = self._severity(value, z, stat_ok, critical_ok)
        if severity is None or ts < self.quiet_until:
            self.since = None
            return
        if self.since is None:
            self.since = ts
        if ts - self.since >= self.persist_s:
            self._send(ts, severity, value, z)

    def skip(self, ts: float, value: float | None = None) -> None:
        """The statistics are still warming up: count it; an open alert can still clear on the level alone."""
        self.skipped += 1
        if self.severity is not None and value is not None and self._cleared(value):
            self.clear(ts, value)

    def clear(self, ts: float, value: float, z: float | None = None, cooldown: bool = True) -> None:
        """All clear now, whatever the metric says (e.g. a feed resumed); no-op when quiet. `cooldown=False`
        when an event ended the alert (an exchange's cooling-off over), not a metric that may flap back: the
        next one may open at once."""
        self.since = None
        if self.severity is None:
            return
        self.severity = None
        self.quiet_until = ts + self.cooldown_s if cooldown else ts
        message, evidence = self.describe(value, self.threshold, z)
        self.emit(ts, None, value, self.threshold, z, message, **evidence)

    def _send(self, ts: float, severity: str, value: float, z: float | None) -> None:
        threshold = self.critical if severity == "critical" else self.threshold
        self.severity = severity
        self.since = None
        self._next_update = ts + self.update_s
        message, evidence = self.describe(value, threshold, z)
        self.emit(ts, severity, value, threshold, z, message, **evidence)

    def reset(self) -> None:
        """Forget a pending condition (after a gap); an open alert stays open until its metric clears."""
        self.since = None
