"""The live console freezes what a view keeps just after that view's first paint, and only then
(console.gc_tuning.StreamingGc.settle), so the collector stops walking it while keys are pressed."""

from __future__ import annotations

import gc

from conftest import START_TS
from console.app import WatchfloorApp
from console.config import default_config_path, load_config
from console.wiring import simulated_runtime
from waiting import until


async def test_each_view_is_frozen_after_its_first_paint_only(monkeypatch):
    freezes: list[str] = []
    real_freeze = gc.freeze
    config = load_config(default_config_path())
    runtime = simulated_runtime(config, speed=1.0, start_ts=START_TS)
    app = WatchfloorApp(config, runtime)

    def freeze() -> None:
        freezes.append(app.view)
        real_freeze()

    monkeypatch.setattr(gc, "freeze", freeze)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: runtime.events > 0 and len(freezes) == 2, "start-up and the radar's first paint")
        for key in "23412":
            await pilot.press(key)
            await pilot.pause()
        await until(lambda: len(freezes) == 5, "the other views' first paints")
        assert freezes == ["radar", "radar", "book", "alerts", "maker"]  # start-up, then one per view
        await pilot.press("x")
        await pilot.press("q")
    assert gc.get_freeze_count() == 0
