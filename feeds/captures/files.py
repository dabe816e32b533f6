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
    for first, lines in numbered_chunks(path, report):
        for line_no, line in enumerate(lines, first):
            if line_no >= start:
                yield line_no, line


def numbered_chunks(path: Path, report: Report) -> Iterator[tuple[int, list[bytes]]]:
    """The file's lines (each with its b"\\n", as iterating the file gives them) a chunk at a time, with the
    number of each chunk's first line; a truncated gzip ends the file with one report.

    Iterating a GzipFile costs a Python-level readline per line, a third of reading a capture; splitting
    chunks is C, and a reader looping over a chunk's lines itself pays no generator per line. Only complete
    lines are handed out, so a cut gzip still gives every line before the cut.
    """
    first = 1
    with open_for_reading(path) as file:
        rest = b""
        try:
            while chunk := file.read1(READ_CHUNK):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                if lines:
                    yield first, [line + b"\n" for line in lines]
                    first += len(lines)
        except TRUNCATED:
            report(f"{path}: truncated at line {first}, replay of this file ended")
            return
        if rest:
            yield first, [rest]


def first_line(path: Path) -> bytes | None:
    """The first line, or None when the file cannot be decompressed that far."""
    try:
        with open_for_reading(path) as file:
            return file.readline()
    except TRUNCATED:
        return None
