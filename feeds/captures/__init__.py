"""Readers for real exchange captures, turning each raw format into FORMAT.md events in time order.

Each reader is built from a path (refusing an unusable file with a ReplayError), knows the `instruments` its
file reveals, and yields its events lazily and in `ts` order from `events()`; a bad line is reported through
the `report` callback as `file:line: problem` and skipped. `detect_format` tells the formats apart by content.
"""

from __future__ import annotations

import re
from pathlib import Path

from feeds.captures.bars import ZIP_MAGIC, is_bar_file_name
from feeds.captures.files import ReplayError, first_line
from feeds.captures.okx import is_okx_capture

RECORDING, BINANCE, OKX, BARS = "recording", "binance", "okx", "bars"
_BINANCE_LINE = re.compile(rb"^\d{16,20} [{\[]")  # receive time in ns, then the message


def detect_format(path: Path) -> str:
    """Which reader takes the file; anything unrecognised is left to the recording reader to refuse."""
    with open(path, "rb") as probe:
        magic = probe.read(len(ZIP_MAGIC))
    if magic == ZIP_MAGIC:
        if is_bar_file_name(path.name):
            return BARS
        raise ReplayError(f"{path}: a zip that is not a minute-bar file (YYYYMMDD_trade.zip or YYYYMMDD_quote.zip)")
    line = first_line(path)
    if line is None:
        return RECORDING
    if _BINANCE_LINE.match(line):
        return BINANCE
    if is_okx_capture(line):
        return OKX
    if line.startswith((b"wss://", b"ws://")):
        url = line.split(b" ", 1)[0].decode(errors="replace")
        raise ReplayError(f"{path}:1: a websocket capture of {url}: only OKX's are supported")
    return RECORDING
