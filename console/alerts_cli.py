"""`watchfloor alerts list|export|ack|resolve` and `watchfloor report`: the alert store from the shell.

Reads go straight to the file, even while a console writes it. An acknowledgement or resolution goes
through the same engine and audit trail as the console's keys: when no console holds the store it is
applied and committed here; when one does, it is handed to that console, which applies it within one
flush and answers.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from console.alert_report import build_report, render_text, utc
from console.alert_services import operator_name, store_path
from console.config import Config
from detectors.alerts import SEVERITIES, STATES, Alert, LifecycleError
from detectors.engine import AlertEngine
from detectors.store import AlertStore, submit_request
from detectors.store_lock import WriterLock
from detectors.store_query import AlertFilter, count_alerts, fetch_alert, fetch_alerts, fetch_audit, open_store
from detectors.store_schema import ALERT_COLUMNS, AUDIT_COLUMNS, StoreError

COMMANDS = ("alerts", "report")
_AGO = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ANSWER_WAIT_S = 5.0  # how long ack/resolve waits for a running console to answer


def parse_time(text: str, now: float | None = None) -> float:
    """`2026-01-01`, `2026-01-01T09:30:00Z` (no zone means UTC), or an age like `90m`, `24h`, `7d` before now."""
    ago = _AGO.fullmatch(text.strip())
    if ago:
        return (time.time() if now is None else now) - float(ago.group(1)) * _UNIT_S[ago.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time like 2026-01-01T09:30:00Z or an age like 24h, "
                                         f"got {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _names(allowed: tuple[str, ...] | None):
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if allowed is not None and name not in allowed]
        if unknown or not names:
            choices = f" of {', '.join(allowed)}" if allowed else " names"
            raise argparse.ArgumentTypeError(f"expected one or more{choices} separated by commas, got {text!r}")
        return names
    return parse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    alerts = sub.add_parser("alerts", help="list, export, acknowledge and resolve stored alerts")
    actions = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="matching alerts, newest first, as a table")
    _add_filters(listing)
    listing.add_argument("--limit", type=int, default=50, help="show at most this many (0: all; default 50)")
    export = actions.add_parser("export", help="matching alerts (or their audit trail) as CSV or JSON")
    _add_filters(export)
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="default csv")
    export.add_argument("--audit", action="store_true", help="export the audit trail of the matching alerts")
    export.add_argument("--out", type=argparse.FileType("w", encoding="utf-8"),
                        help="write to this file instead of stdout")
    for name, verb, reason_help in (("ack", "acknowledge", "why (optional)"), ("resolve", "resolve", "why (required)")):
        action = actions.add_parser(name, help=f"{verb} an alert by id, as the configured operator")
        action.add_argument("id")
        action.add_argument("--reason", required=name == "resolve", help=reason_help)
        _add_config(action)
    report = sub.add_parser("report", help="summary of a period: kinds, severities, instruments, "
                                           "time to acknowledge, backlog")
    report.add_argument("--since", type=parse_time, help="from this time (UTC) or age (24h, 7d)")
    report.add_argument("--until", type=parse_time, help="to this time (UTC) or age")
    report.add_argument("--format", choices=("text", "json"), default="text")
    _add_config(report)


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="configuration file naming the store (default: the bundled config.yaml)")


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=parse_time, help="raised at or after this time (UTC) or age (24h, 7d)")
    parser.add_argument("--until", type=parse_time, help="raised before this time (UTC) or age")
    parser.add_argument("--severity", choices=SEVERITIES, help="this severity or louder")
    parser.add_argument("--kind", type=_names(None), default=(), help="alert kinds, comma-separated")
    parser.add_argument("--symbol", help="a symbol (BTC/USDT) or venue:symbol")
    parser.add_argument("--state", type=_names(STATES), default=(), help="states, comma-separated")
    _add_config(parser)


def run(config: Config, args: argparse.Namespace) -> int:
    path, out = store_path(config), sys.stdout
    if args.command == "report":
        return asyncio.run(_report(path, args, out))
    if args.alerts_command in ("ack", "resolve"):
        return asyncio.run(_act(config, path, args, out))
    where = AlertFilter(args.since, args.until, args.severity, args.kind, args.symbol, args.state)
    if args.alerts_command == "list":
        return asyncio.run(_list(path, where, args.limit, out))
    if args.out is None:
        return asyncio.run(_export(path, where, args, out))
    with args.out:
        return asyncio.run(_export(path, where, args, args.out))


async def _list(path: Path, where: AlertFilter, limit: int, out: TextIO) -> int:
    db = await open_store(path)
    try:
        alerts = await fetch_alerts(db, where, limit or None)
        total = await count_alerts(db, where)
    finally:
        await db.close()
    header = ("ID", "RAISED (UTC)", "SEVERITY", "STATE", "INSTRUMENT", "KIND", "N", "VALUE/LIMIT", "ACK BY",
              "RESOLVED BY")
    rows = [header] + [_list_row(alert) for alert in alerts]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n")
    if total > len(alerts):
        print(f"watchfloor: {total - len(alerts)} more not shown (--limit 0 shows all)", file=sys.stderr)
    return 0


def _list_row(a: Alert) -> tuple[str, ...]:
    where = f"{a.venue}:{a.symbol}" if a.symbol else a.venue
    return (a.id, utc(a.ts), a.severity, a.state, where, a.kind, str(a.count), f"{a.value:g}/{a.threshold:g}",
            a.acked_by or "-", a.resolved_by or "-")


async def _export(path: Path, where: AlertFilter, args: argparse.Namespace, out: TextIO) -> int:
    db = await open_store(path)
    try:
        if args.audit:
            rows = await fetch_audit(db, where)
        else:
            rows = [_alert_record(alert) for alert in reversed(await fetch_alerts(db, where))]
    finally:
        await db.close()
    if args.format == "json":
        out.write("[" + ",\n".join(json.dumps(row, separators=(",", ":")) for row in rows) + "]\n")
        return 0
    columns = list(rows[0]) if rows else (["seq", *AUDIT_COLUMNS] if args.audit else list(ALERT_COLUMNS[:-1]))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()})
    return 0


def _alert_record(alert: Alert) -> dict[str, Any]:
    """Every stored field of an alert, oldest first in exports (times as epoch seconds, as stored)."""
    return {name: getattr(alert, name) for name in ALERT_COLUMNS[:-1]}


async def _report(path: Path, args: argparse.Namespace, out: TextIO) -> int:
    db = await open_store(path)
    try:
        alerts = await fetch_alerts(db, AlertFilter(args.since, args.until))
    finally:
        await db.close()
    report = build_report(alerts, args.since, args.until, time.time())
    out.write(json.dumps(report, indent=2) + "\n" if args.format == "json" else render_text(report))
    return 0


async def _act(config: Config, path: Path, args: argparse.Namespace, out: TextIO) -> int:
    """Acknowledge or resolve one alert, here if nobody writes the store, else through the console writing it."""
    operator = operator_name(config)
    db = await open_store(path)
    try:
        stored = await fetch_alert(db, args.id)
        if stored is None:
            raise LifecycleError(f"no alert {args.id} in {path}")
        if stored.state == "resolved":
            raise LifecycleError(f"{args.id} is already resolved by {stored.resolved_by} ({stored.resolution})")
        lock = WriterLock(str(path))
        if not lock.acquire():
            await _ask_writer(db, path, args, operator, lock.holder())
            out.write(f"{_done(args)} {args.id} as {operator} (applied by the console writing the store, "
                      f"pid {lock.holder()})\n")
            return 0
        lock.release()
    finally:
        await db.close()
    await _apply_here(config, path, args, operator)
    out.write(f"{_done(args)} {args.id} as {operator}\n")
    return 0


def _done(args: argparse.Namespace) -> str:
    return "acknowledged" if args.alerts_command == "ack" else "resolved"


async def _apply_here(config: Config, path: Path, args: argparse.Namespace, operator: str) -> None:
    engine = AlertEngine()
    store = AlertStore(config.store, str(path), engine)
    await store.start()
    try:
        if args.alerts_command == "ack":
            engine.acknowledge(args.id, operator, args.reason)
        else:
            engine.resolve(args.id, operator, args.reason)
    finally:
        await store.stop()
    if store.pending:
        raise StoreError(store.status()[1])


async def _ask_writer(db, path: Path, args: argparse.Namespace, operator: str, holder: str) -> None:
    action = "acknowledge" if args.alerts_command == "ack" else "resolve"
    seq = await submit_request(db, [(args.id, action, operator, args.reason)])
    deadline = time.monotonic() + ANSWER_WAIT_S
    while time.monotonic() < deadline:
        rows = await db.execute_fetchall("SELECT result FROM requests WHERE seq = ? AND done_at IS NOT NULL", (seq,))
        if rows:
            (result,), = rows
            if result != "ok":
                raise LifecycleError(result)
            return
        await asyncio.sleep(0.05)
    raise StoreError(f"the console writing {path} (pid {holder}) has not answered within {ANSWER_WAIT_S:g} s; "
                     "the request stays queued and it applies it when it can")
