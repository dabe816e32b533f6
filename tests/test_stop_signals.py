"""The signal handling every run shares (console.stop_signals): SIGTERM and SIGHUP stop the runtime; a dead
terminal's outputs are replaced, a live one is left alone; a run under nohup keeps ignoring SIGHUP.

The full runs (orders cancelled on the fake exchange) are in test_live_cli.py and test_live_console.py."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from console.stop_signals import release_dead_terminal, stopping_on_signals


async def test_sigterm_and_sighup_call_stop_and_the_handlers_go_with_the_block():
    stops = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        before = signal.getsignal(signum)
        with stopping_on_signals(lambda: stops.append(signum)):
            os.kill(os.getpid(), signum)
            for _ in range(100):
                if stops and stops[-1] == signum:
                    break
                await asyncio.sleep(0.01)
        assert stops[-1] == signum
        assert signal.getsignal(signum) == before  # this process's own handling is back
    assert stops == [signal.SIGTERM, signal.SIGHUP]


async def test_under_nohup_sighup_stays_ignored():
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    stops = []
    try:
        with stopping_on_signals(lambda: stops.append("stop")):
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.sleep(0.1)
        assert stops == []
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_hung_up_terminal_is_replaced_by_dev_null_and_a_live_one_is_left_alone():
    master, slave = os.openpty()
    try:
        assert release_dead_terminal([slave]) is False  # a working terminal (SIGHUP sent by hand)
        assert os.isatty(slave)
        os.close(master)  # the far end goes: the terminal hangs up
        master = -1
        with pytest.raises(OSError):
            os.write(slave, b"frame")  # what the console's output thread would die of
        assert release_dead_terminal([slave]) is True
        assert os.write(slave, b"frame") == 5 and not os.isatty(slave)  # now /dev/null
    finally:
        os.close(slave)
        if master != -1:
            os.close(master)
