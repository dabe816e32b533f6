"""Normalized market events: the one vocabulary every source emits and every consumer reads.

The field names and meanings follow ../shared/FORMAT.md section 1 exactly, so that an event
serialises to a recording line with `to_record` and comes back with `event_from_record`.
Classes use `__slots__` because millions of them go through the pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Union

Level = tuple[float, float]  # (price, qty)

BOOK, TRADE, ORDER, BAR, MARK, STATUS, LABEL = "book", "trade", "order", "bar", "mark", "status", "label"
SIDES = ("buy", "sell")
ORDER_ACTIONS = ("add", "cancel", "modify", "fill")
STATUS_STATES = ("connected", "disconnected", "gap", "stale", "halted", "resumed")


class EventFormatError(ValueError):
    """A record that does not follow FORMAT.md; the message names the offending field."""


@dataclass(slots=True)
class BookEvent:
    ts: float
    venue: str
    symbol: str
    snapshot: bool
    bids: list[Level]
    asks: list[Level]
    seq: int | None = None
    prev_seq: int | None = None
    t: ClassVar[str] = BOOK


@dataclass(slots=True)
class TradeEvent:
    ts: float
    venue: str
    symbol: str
    price: float
    qty: float
    side: str
    id: str | None = None
    buyer: str | None = None
    seller: str | None = None
    t: ClassVar[str] = TRADE


@dataclass(slots=True)
class OrderEvent:
    ts: float
    venue: str
    symbol: str
    action: str
    order_id: str
    side: str
    price: float
    qty: float
    account: str | None = None
    t: ClassVar[str] = ORDER


@dataclass(slots=True)
class BarEvent:
    ts: float
    venue: str
    symbol: str
    interval: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    bid: float | None = None
    ask: float | None = None
    t: ClassVar[str] = BAR


@dataclass(slots=True)
class MarkEvent:
    ts: float
    venue: str
    symbol: str
    mark: float | None = None
    index: float | None = None
    funding_rate: float | None = None
    next_funding_ts: float | None = None
    t: ClassVar[str] = MARK


@dataclass(slots=True)
class StatusEvent:
    ts: float
    venue: str
    symbol: str | None
    state: str
    detail: str | None = None
    t: ClassVar[str] = STATUS


@dataclass(slots=True)
class LabelEvent:
    """Ground truth from the simulator: an anomaly of `kind` was injected over [start, end]."""

    ts: float
    venue: str
    symbol: str | None
    kind: str
    start: float
    end: float
    detail: str | None = None
    t: ClassVar[str] = LABEL


Event = Union[BookEvent, TradeEvent, OrderEvent, BarEvent, MarkEvent, StatusEvent, LabelEvent]
EVENT_TYPES: dict[str, type] = {
    cls.t: cls for cls in (BookEvent, TradeEvent, OrderEvent, BarEvent, MarkEvent, StatusEvent, LabelEvent)
}
_FIELDS: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in EVENT_TYPES.values()}


def to_record(event: Event) -> dict[str, Any]:
    """The FORMAT.md line for an event; optional fields that are unset are left out."""
    record: dict[str, Any] = {"t": event.t}
    for name in _FIELDS[type(event)]:
        value = getattr(event, name)
        if name in ("bids", "asks"):
            record[name] = [[p, q] for p, q in value]
        elif value is not None or name == "symbol":
            record[name] = value
    return record


def _number(record: dict, key: str, *, optional: bool = False, non_negative: bool = False) -> float | None:
    value = record.get(key)
    if value is None:
        if optional:
            return None
        raise EventFormatError(f"missing field '{key}'")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventFormatError(f"field '{key}' must be a number, got {value!r}")
    value = _finite(value)
    if value is None:
        raise EventFormatError(f"field '{key}' is not finite")
    if non_negative and value < 0:
        raise EventFormatError(f"field '{key}' must not be negative, got {value}")
    return value


def _finite(value: int | float) -> float | None:
    """The value as a float, or None when it is not finite; a JSON integer too big for a float counts as that."""
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _text(record: dict, key: str, *, optional: bool = False, choices: tuple[str, ...] = ()) -> str | None:
    value = record.get(key)
    if value is None:
        if optional:
            return None
        raise EventFormatError(f"missing field '{key}'")
    if not isinstance(value, str):
        raise EventFormatError(f"field '{key}' must be a string, got {value!r}")
    if choices and value not in choices:
        raise EventFormatError(f"field '{key}' must be one of {', '.join(choices)}, got {value!r}")
    return value


def _integer(record: dict, key: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventFormatError(f"field '{key}' must be an integer, got {value!r}")
    return value


def _levels(record: dict, key: str) -> list[Level]:
    raw = record.get(key)
    if not isinstance(raw, list):
        raise EventFormatError(f"field '{key}' must be a list of [price, qty]")
    levels: list[Level] = []
    for i, level in enumerate(raw):
        if not isinstance(level, list) or len(level) != 2:
            raise EventFormatError(f"field '{key}[{i}]' must be [price, qty]")
        price, qty = level
        if isinstance(price, bool) or isinstance(qty, bool) or not isinstance(price, (int, float)) \
                or not isinstance(qty, (int, float)):
            raise EventFormatError(f"field '{key}[{i}]' must hold two numbers")
        price, qty = _finite(price), _finite(qty)
        if price is None or qty is None or price <= 0 or qty < 0:
            raise EventFormatError(f"field '{key}[{i}]' has a bad price or qty: {level!r}")
        levels.append((price, qty))
    return levels


def event_from_record(record: Any) -> Event:
    """Parse and validate one FORMAT.md record (not the header); raises EventFormatError."""
    if not isinstance(record, dict):
        raise EventFormatError("a record must be a JSON object")
    kind = record.get("t")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise EventFormatError(f"unknown event type t={kind!r}")
    ts = _number(record, "ts", non_negative=True)
    venue = _text(record, "venue")
    if kind in (STATUS, LABEL):
        symbol = _text(record, "symbol", optional=True)
    else:
        symbol = _text(record, "symbol")
    if kind == BOOK:
        snapshot = record.get("snapshot")
        if not isinstance(snapshot, bool):
            raise EventFormatError("field 'snapshot' must be true or false")
        return BookEvent(ts, venue, symbol, snapshot, _levels(record, "bids"), _levels(record, "asks"),
                         _integer(record, "seq"), _integer(record, "prev_seq"))
    if kind == TRADE:
        return TradeEvent(ts, venue, symbol, _number(record, "price", non_negative=True),
                          _number(record, "qty", non_negative=True), _text(record, "side", choices=SIDES),
                          _text(record, "id", optional=True), _text(record, "buyer", optional=True),
                          _text(record, "seller", optional=True))
    if kind == ORDER:
        return OrderEvent(ts, venue, symbol, _text(record, "action", choices=ORDER_ACTIONS),
                          _text(record, "order_id"), _text(record, "side", choices=SIDES),
                          _number(record, "price", non_negative=True), _number(record, "qty", non_negative=True),
                          _text(record, "account", optional=True))
    if kind == BAR:
        return BarEvent(ts, venue, symbol, _text(record, "interval"),
                        *(_number(record, k, non_negative=True) for k in ("open", "high", "low", "close", "volume")),
                        _number(record, "bid", optional=True), _number(record, "ask", optional=True))
    if kind == MARK:
        return MarkEvent(ts, venue, symbol, *(_number(record, k, optional=True)
                                              for k in ("mark", "index", "funding_rate", "next_funding_ts")))
    if kind == STATUS:
        return StatusEvent(ts, venue, symbol, _text(record, "state", choices=STATUS_STATES),
                           _text(record, "detail", optional=True))
    return LabelEvent(ts, venue, symbol, _text(record, "kind"), _number(record, "start"), _number(record, "end"),
                      _text(record, "detail", optional=True))
