"""Checked access to the fields of an exchange message, so a malformed one is named and dropped, not trusted.

Exchanges send numbers as strings ("61837.63000000"); these helpers turn them into floats and refuse what
is not a finite price or quantity.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

INF = math.inf

# What checked access can raise on a message of the wrong shape; readers report these and skip the line.
MESSAGE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


class MessageError(ValueError):
    """A message that does not have the shape its channel promises; the text names the field."""


def json_object(body: bytes, column: int) -> dict:
    """The JSON object a line carries from byte `column` on; errors give the column on the whole line."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MessageError(f"bad JSON ({exc.msg} at column {exc.colno + column})") from None
    if not isinstance(message, dict):
        raise MessageError("a message must be a JSON object")
    return message


def describe(exc: Exception) -> str:
    """One-line text for any of MESSAGE_ERRORS."""
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return str(exc)


def text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise MessageError(f"field '{key}' must be a string, got {value!r}")
    return value


def integer(message: dict, key: str) -> int:
    value = message[key]
    if type(value) is not int:
        raise MessageError(f"field '{key}' must be an integer, got {value!r}")
    return value


def millis(value: Any, key: str) -> float:
    """Milliseconds since the epoch, as a JSON integer or a digit string, to float seconds."""
    if isinstance(value, str) and value.isdigit():
        return int(value) / 1000.0
    if type(value) is int and value >= 0:
        return value / 1000.0
    raise MessageError(f"field '{key}' must be milliseconds since the epoch, got {value!r}")


def price(value: Any, key: str) -> float:
    number = float(text(value, key))
    if not 0.0 < number < math.inf:
        raise MessageError(f"field '{key}' must be a positive number, got {value!r}")
    return number


def quantity(value: Any, key: str) -> float:
    number = float(text(value, key))
    if not 0.0 <= number < math.inf:
        raise MessageError(f"field '{key}' must be a non-negative number, got {value!r}")
    return number


def level_list(message: dict, key: str) -> list:
    raw = message[key]
    if not isinstance(raw, list):
        raise MessageError(f"field '{key}' must be a list of price levels")
    return raw


def checked_level(price_value: float, qty_value: float, key: str, level: Any) -> None:
    """Raise unless the level is a positive finite price with a non-negative finite quantity."""
    if not (0.0 < price_value < math.inf and 0.0 <= qty_value < math.inf):
        raise MessageError(f"field '{key}' has a bad level {level!r}")
