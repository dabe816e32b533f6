"""Write the event stream to a recording in the ../shared/FORMAT.md section 1 format.

Other tools read these files, so the layout is exact: a header line, then one compact JSON object a line.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from feeds.events import Event, to_record

FORMAT_VERSION = 1
_SEPARATORS = (",", ":")
_GZIP_LEVEL = 6  # zlib's default: level 9 costs several times the CPU on a live stream for a few % of size


def encode(record: dict) -> str:
    """One recording line, newline included. NaN/inf raise ValueError: they are not JSON numbers."""
    return json.dumps(record, separators=_SEPARATORS, allow_nan=False) + "\n"


class Recorder:
    """Appends batches of events to a `.jsonl` or `.jsonl.gz` file; `write` fits a source's `emit`."""

    def __init__(self, path: str | Path, source: str) -> None:
        self.path = Path(path)
        self.events = 0
        self._file: BinaryIO = _open_for_writing(self.path)
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._file.write(encode({"t": "header", "v": FORMAT_VERSION, "created": created,
                                 "source": source}).encode())

    def write(self, batch: list[Event]) -> None:
        """Append a batch, buffered. The batch is encoded first, so a bad event leaves none of it written."""
        self._file.write("".join(encode(to_record(event)) for event in batch).encode())
        self.events += len(batch)

    def close(self) -> None:
        """Flush what is buffered and close; a second call does nothing."""
        self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _open_for_writing(path: Path) -> BinaryIO:
    """Binary, so lines end in exactly "\\n" on every platform; both kinds buffer their writes."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=_GZIP_LEVEL)
    return open(path, "wb")
