"""Which process writes an alert store: the one holding an exclusive lock on `<store>.lock`.

The lock is an flock held for the writer's lifetime; the kernel drops it when the process ends, even by
SIGKILL, so a crash never leaves a stale lock behind. The file holds the writer's pid for messages.
"""

from __future__ import annotations

import fcntl
import os


class WriterLock:
    def __init__(self, store_path: str) -> None:
        self.path = store_path + ".lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """True if this process is now the writer; False if another one is. OSError if the folder is unusable."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """The writer's pid as the lock file tells it, for messages ('?' if unreadable)."""
        try:
            with open(self.path, encoding="ascii") as f:
                return f.read().strip() or "?"
        except (OSError, UnicodeDecodeError):
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
