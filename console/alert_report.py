"""`watchfloor report`: what the alerts of a period add up to, as text for people and JSON for tools.

Counts by kind, severity and instrument; how fast operators acknowledged (wall-clock time from raised to
first acknowledgement: mean and 95th percentile); how alerts were resolved (by an operator, or by the
detector's all-clear); and the backlog still unresolved now.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from detectors.alerts import CONDITION_CLEARED, SEVERITIES, SYSTEM, Alert

LOUDEST_FIRST = tuple(reversed(SEVERITIES))


def utc(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least q of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def build_report(alerts: list[Alert], since: float | None, until: float | None, now: float) -> dict[str, Any]:
    """The report over `alerts` (already filtered to the period), as plain JSON-able data."""
    waits = [a.acked_at - a.opened_at for a in alerts if a.acked_at is not None]
    backlog = [a for a in alerts if a.state != "resolved"]
    resolved = [a for a in alerts if a.state == "resolved"]
    auto = sum(1 for a in resolved if a.resolved_by == SYSTEM and a.resolution == CONDITION_CLEARED)
    return {
        "period": {"since": utc(since), "until": utc(until), "generated": utc(now)},
        "total": len(alerts),
        "by_severity": _severities(alerts),
        "by_kind": _grouped(alerts, lambda a: a.kind),
        "by_instrument": _grouped(alerts, lambda a: f"{a.venue}:{a.symbol}" if a.symbol else a.venue),
        "time_to_acknowledge_s": {
            "acknowledged": len(waits), "never_acknowledged": len(alerts) - len(waits),
            "mean": sum(waits) / len(waits) if waits else None, "p95": percentile(waits, 0.95),
        },
        "resolved": {"total": len(resolved), "by_operator": len(resolved) - auto, "condition_cleared": auto},
        "backlog": {
            "total": len(backlog), **_severities(backlog),
            "acknowledged": sum(1 for a in backlog if a.state == "acknowledged"),
            "oldest_raised": utc(min((a.ts for a in backlog), default=None)),
        },
    }


def _severities(alerts: list[Alert]) -> dict[str, int]:
    counts = Counter(a.severity for a in alerts)
    return {severity: counts[severity] for severity in LOUDEST_FIRST}


def _grouped(alerts: list[Alert], key) -> dict[str, dict[str, int]]:
    """Per group: total and per severity, the busiest group first."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(key(alert), []).append(alert)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return {name: {"total": len(members), **_severities(members)} for name, members in ordered}


def render_text(report: dict[str, Any]) -> str:
    period = report["period"]
    tta, resolved, backlog = report["time_to_acknowledge_s"], report["resolved"], report["backlog"]
    lines = [f"Alert report: {period['since'] or 'the beginning'} to {period['until'] or 'now'} (UTC, market time "
             f"raised), generated {period['generated']}",
             f"{report['total']} alerts: " + _counts(report["by_severity"]), ""]
    for title, groups in (("by kind", report["by_kind"]), ("by instrument", report["by_instrument"])):
        lines.append(f"{title}:")
        width = max((len(name) for name in groups), default=0)
        lines += [f"  {name:<{width}}  {g['total']:>6}  ({_counts(g)})" for name, g in groups.items()] or ["  none"]
        lines.append("")
    lines.append(f"time to acknowledge: {_seconds(tta['mean'])} mean, {_seconds(tta['p95'])} p95 over "
                 f"{tta['acknowledged']} acknowledged ({tta['never_acknowledged']} never acknowledged)")
    lines.append(f"resolved: {resolved['total']} ({resolved['by_operator']} by an operator, "
                 f"{resolved['condition_cleared']} when the condition cleared)")
    oldest = f", oldest raised {backlog['oldest_raised']}" if backlog["oldest_raised"] else ""
    lines.append(f"open backlog: {backlog['total']} ({_counts(backlog)}; {backlog['acknowledged']} acknowledged"
                 f"{oldest})")
    return "\n".join(lines) + "\n"


def _counts(group: dict[str, int]) -> str:
    return ", ".join(f"{group[severity]} {severity}" for severity in LOUDEST_FIRST)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"
