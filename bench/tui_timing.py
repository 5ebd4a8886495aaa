"""Timing the review TUI as a reviewer sees it, shared by the review and concurrency benches.

A key is posted to the app the way the terminal driver posts one (`App.post_message`), not
with `Pilot.press`: the pilot then waits until the whole process is idle (every worker thread
included), which measured the pilot, not the screen. The clock stops when the next record is
drawn: the first compositor refresh (what writes to the terminal) after `show_record` put the
record into the widgets.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from textual import events
from textual.screen import Screen

from curator.screens.record import ReviewScreen


class Frames:
    """Timestamps of every record shown and every frame drawn (hooks installed once)."""

    def __init__(self) -> None:
        self.shown: list[float] = []
        self.drawn: list[float] = []
        self.first_drawn = 0.0
        draw = Screen._compositor_refresh
        show = ReviewScreen.show_record
        frames = self

        def timed_draw(screen: Screen[Any]) -> None:
            draw(screen)
            frames.drawn.append(time.perf_counter())

        def timed_show(screen: ReviewScreen, detail: Any) -> None:
            show(screen, detail)
            frames.shown.append(time.perf_counter())

        Screen._compositor_refresh = timed_draw  # type: ignore[method-assign]
        ReviewScreen.show_record = timed_show  # type: ignore[method-assign]

    async def drawn_after(self, moment: float, timeout: float = 10.0) -> float:
        """When the first frame after `moment` was drawn."""
        deadline = time.perf_counter() + timeout
        while True:
            later = [t for t in self.drawn[-5:] if t > moment]
            if later:
                return later[0]
            if time.perf_counter() > deadline:
                raise SystemExit("no frame was drawn after the record changed")
            await asyncio.sleep(0.0005)


async def first_record(app: Any, frames: Frames, timeout: float = 120.0) -> ReviewScreen:
    """Wait until the review screen shows its first record and has drawn it (at
    `frames.first_drawn`)."""
    deadline = time.perf_counter() + timeout
    while True:
        screen = next((s for s in app.screen_stack if isinstance(s, ReviewScreen)), None)
        if screen is not None and screen.detail is not None and not screen.awaiting:
            frames.first_drawn = await frames.drawn_after(frames.shown[-1])
            return screen
        if time.perf_counter() > deadline:
            raise SystemExit("the first record never showed")
        await asyncio.sleep(0.002)


async def key_to_next_record(app: Any, screen: ReviewScreen, frames: Frames, key: str) -> float:
    """Seconds from `key` to the next record drawn."""
    before = screen.detail.record.uid
    shown = len(frames.shown)
    t0 = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    deadline = t0 + 30
    while (
        len(frames.shown) == shown
        or screen.awaiting
        or screen.detail is None
        or screen.detail.record.uid == before
    ):
        if time.perf_counter() > deadline:
            raise SystemExit(f"no next record 30 s after {key!r}")
        await asyncio.sleep(0.0005)
    return await frames.drawn_after(frames.shown[-1]) - t0
