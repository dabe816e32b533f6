"""What the full-screen console must do when its terminal hangs up (an SSH disconnect), so it can still stop.

console.stop_signals points the dead terminal's outputs at /dev/null from the SIGHUP handler; two things in
Textual's terminal driver would still keep the console from stopping cleanly:
- the kernel sends SIGCONT with a hangup, and Textual takes any SIGCONT for a resume after ctrl+z: it would
  start a second input thread, which nothing stops, so the process could never end;
- its output thread may have died writing to the dead terminal before the handler ran, and the console
  would then block once the thread's queue filled, before the orders were cancelled.
"""

from __future__ import annotations

import asyncio
import signal

from textual.app import App
from textual.drivers._writer_thread import WriterThread


def after_hangup(app: App) -> None:
    """Called inside the SIGHUP handler (so before SIGCONT's, which Python runs after it)."""
    signal.signal(signal.SIGCONT, signal.SIG_DFL)  # nothing to resume into
    asyncio.get_running_loop().call_soon_threadsafe(_restart_output, app)  # not from a signal handler: locks


def _restart_output(app: App) -> None:
    driver = app._driver
    writer = getattr(driver, "_writer_thread", None)  # Textual's LinuxDriver; other drivers write differently
    if writer is not None and not writer.is_alive():
        driver._writer_thread = WriterThread(writer._file)  # the same file, now /dev/null
        driver._writer_thread.start()
