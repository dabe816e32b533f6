"""The garbage collector's settings while the live console runs: the one place they are changed, and why.

The console, the runtime and the feeds share one thread, so every collection pauses all three. With
CPython's defaults (a young collection every 700 net new container objects) a full-speed feed of ~3,600
events a step triggers several young collections per step; they promote the step's events to the older
generations, and the growth of the oldest one sets off full collections that walk every object in the
process (Textual's DOM and caches, the books, the history: 250,000 objects). `watchfloor bench --ui` on
200 instruments measured that as 12-22% of the CPU, with full collections of 160-300 ms landing in
frames and key presses.

So, once the console is up: collect, then freeze what exists (modules, widgets, the configured runtime:
it lives as long as the process, so no full collection needs to walk it again), and raise the young
threshold so that a step's events are freed by reference counting before a collection sees them. The
young generation still fills with the simulator's resting orders (they live seconds), and collecting it
takes 30-90 ms: the console runs that collection itself just after a paint, once YOUNG_BETWEEN_FRAMES
net new objects are waiting, so it falls between frames instead of inside the paint whose allocations
trip the threshold. Measured the same way: 1% of the CPU watching the radar, 5% while keys are pressed;
frame p99 10 and 33 ms, GC pauses inside frames: none.

View switches allocate (a full repaint, the new view's lines): at 10,000 objects a young collection
ran every ~0.6 s while keys were pressed, and each tenth a middle-generation one of 80-120 ms. Waiting
for 30,000 lets more of those objects die by reference counting first (4-5% of the CPU down to 3%,
young pauses 50 ms instead of 20, still between frames); with the middle threshold at 10 the middle
collections then grew to 160 ms, so it is 4: about as often as before at about the same 90-110 ms.

A view's first show creates what then lives as long as the console (its lines, Textual's caches for it),
and the middle-generation collection walked all that every ~11 s of key presses (60-90 ms). So the console
freezes again just after each view's first paint (`settle`), four times at most; whatever young cyclic
garbage exists at that moment stays frozen with it, a bounded cost. Measured in six alternating pairs of
`watchfloor bench --ui`: the collector's share while keys are pressed 2.3-2.5 % down to 1.4-1.5 %, and the
middle-generation collection gone from the 11 s window.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 4, 10)  # gc.set_threshold's: young, middle, old (CPython's defaults: 700, 10, 10)
YOUNG_BETWEEN_FRAMES = 30_000  # net new objects at which the console collects, just after a paint


class StreamingGc:
    """`start` after start-up, `stop` when the console ends: the process gets its own settings back."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.collect()  # what start-up left as garbage goes now rather than being frozen for ever
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)

    def settle(self) -> None:
        """Just after a view's first paint: what that paint created (its widgets' caches and lines) lives as
        long as the console, so it leaves the generations too instead of being walked by every collection."""
        if self._saved is not None:
            gc.freeze()

    def collect_between_frames(self) -> None:
        """Run the collection that is coming anyway now, just after a paint, rather than wherever the
        allocation that trips the threshold happens to be (most often a paint). CPython's choice of
        generation (the oldest whose count is over its threshold) on a lower young count."""
        if self._saved is None:
            return
        counts = gc.get_count()
        if counts[0] >= YOUNG_BETWEEN_FRAMES:
            gc.collect(max((g for g in (1, 2) if counts[g] >= THRESHOLDS[g]), default=0))

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.unfreeze()
        gc.set_threshold(*self._saved)
        self._saved = None
