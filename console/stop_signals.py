"""The signals that end a run the orderly way, in the console and headless alike.

SIGTERM (`kill`, systemd, `docker stop`) and SIGHUP (the terminal went away: an SSH disconnect) stop the
runtime as the end of --duration would: services stop in order, so a live maker's orders are cancelled
on the exchange and the alert store is committed and closed, instead of everything dying mid-flight.

After a real hangup the terminal fails every write. The console's output thread would die on its next
frame and the console would then block once its output queue filled, possibly before the orders were
cancelled. So SIGHUP is caught at once (a plain signal handler, which Python runs before SIGCONT's, the
signal the kernel sends with it) and the dead terminal's output descriptors are pointed at /dev/null
before anything else happens (reading a hung-up terminal just finds its end, so input is left as it is).
A SIGHUP sent by hand to a process whose terminal still works leaves the terminal alone. A process
started under `nohup` (SIGHUP ignored) keeps ignoring it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import termios
from contextlib import contextmanager
from typing import Callable, Iterator

OUTPUTS = (1, 2)  # stdout, stderr
SIGHUP = getattr(signal, "SIGHUP", None)  # not on Windows


@contextmanager
def stopping_on_signals(stop: Callable[[], None], on_hangup: Callable[[], None] | None = None) -> Iterator[None]:
    """Calls `stop` on SIGTERM or SIGHUP while inside (where the loop can take signals: the main thread, not
    Windows). `on_hangup` runs inside the SIGHUP handler, once a dead terminal's outputs were replaced: it
    must be short and must not take locks."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
    except (NotImplementedError, ValueError):  # Windows' loops have no signal handlers; ValueError: not main thread
        yield
        return
    outputs = [fd for fd in OUTPUTS if os.isatty(fd)]  # asked now: after a hangup a terminal no longer says so

    def hung_up(signum: int, frame: object) -> None:
        """Runs in the main thread between two bytecodes: replace the dead outputs now, stop in the loop."""
        if release_dead_terminal(outputs) and on_hangup is not None:
            on_hangup()
        loop.call_soon_threadsafe(stop)

    catch_hangup = SIGHUP is not None and signal.getsignal(SIGHUP) is not signal.SIG_IGN
    previous = signal.signal(SIGHUP, hung_up) if catch_hangup else None
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        if catch_hangup:
            signal.signal(SIGHUP, signal.SIG_DFL if previous is None else previous)  # None: not set from Python


def release_dead_terminal(outputs: list[int]) -> bool:
    """Point the output descriptors of a hung-up terminal at /dev/null; True if the terminal was dead."""
    dead = [fd for fd in outputs if _hung_up(fd)]
    if dead:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in dead:
            os.dup2(null, fd)
        os.close(null)
    return bool(dead)


def _hung_up(fd: int) -> bool:
    try:
        termios.tcgetattr(fd)
    except termios.error:
        return True
    return False
