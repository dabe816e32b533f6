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
READ_CHUNK = 1 << 16  # decompressed bytes split into lines at a time
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
    line_no = 0
    with open_for_reading(path) as file:
        try:
            for line_no, line in enumerate(_lines(file), start=1):
                if line_no >= start:
                    yield line_no, line
        except TRUNCATED:
            report(f"{path}: truncated at line {line_no + 1}, replay of this file ended")


def _lines(file: BinaryIO) -> Iterator[bytes]:
    """The file's lines as iterating it gives them (each with its b"\\n"), read a chunk at a time.

    Iterating a GzipFile costs a Python-level readline per line, a third of reading a capture; splitting
    chunks is C. Only complete chunks are split, so a cut gzip still yields every line before the cut.
    """
    rest = b""
    while chunk := file.read1(READ_CHUNK):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def first_line(path: Path) -> bytes | None:
    """The first line, or None when the file cannot be decompressed that far."""
    try:
        with open_for_reading(path) as file:
            return file.readline()
    except TRUNCATED:
        return None
