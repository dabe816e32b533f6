"""Reading replay inputs line by line: gzip or plain, numbered, and ended cleanly when a gzip is cut short.

Every reader (our recordings and the exchange captures) goes through here, so a damaged file is reported
the same way whatever its format.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

Report = Callable[[str], None]  # takes one line naming file and line; the caller counts it

GZIP_MAGIC = b"\x1f\x8b"
TRUNCATED = (EOFError, zlib.error, gzip.BadGzipFile)  # what gzip raises on a cut or damaged stream


class ReplayError(Exception):
    """A file that cannot be replayed at all; the message is one line naming the file and line."""


def open_for_reading(path: Path) -> BinaryIO:
    """Gzip is recognised by its magic bytes, so a renamed or misnamed file still reads."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")


def numbered_lines(path: Path, report: Report, start: int = 1) -> Iterator[tuple[int, bytes]]:
    """(line number, line) from line `start` on; a truncated gzip ends the file with one report."""
    line_no = start - 1
    with open_for_reading(path) as file:
        try:
            for _ in range(start - 1):
                file.readline()
            for line_no, line in enumerate(file, start=start):
                yield line_no, line
        except TRUNCATED:
            report(f"{path}: truncated at line {line_no + 1}, replay of this file ended")


def first_line(path: Path) -> bytes | None:
    """The first line, or None when the file cannot be decompressed that far."""
    try:
        with open_for_reading(path) as file:
            return file.readline()
    except TRUNCATED:
        return None
