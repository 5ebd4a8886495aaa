"""The structure the review TUI's speed rests on (issues 10 and 17); timings live in bench/.

- the first record is drawn before its verdicts and history are read, by a worker of their own;
- `curator review` loads no model SDK, plotting or Arrow library before the first record shows;
- the records ahead are read by one reader, once each, while the reviewer moves on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen

import curator.store.reviews as reviews
from curator.screens.app import CuratorApp
from curator.screens.record import ReviewScreen
from curator.store.reviews import RecordPanes
from tests.functional.test_review_tui import (
    SIZE,
    current_uid,
    make_store,
    rendered,
    review_screen,
    settle,
    wait_until,
)

PANES_WORKER = "reading the verdicts and history"


async def test_first_record_is_drawn_before_its_panes_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path)  # judged: every record has a rules verdict
    release = threading.Event()
    asked: list[float] = []
    drawn: list[float] = []
    read_panes = reviews.record_panes

    def held_panes(store: Any, uid: str, record_hash: str) -> RecordPanes:
        asked.append(time.monotonic())
        assert release.wait(30), "the test never released the panes"
        return read_panes(store, uid, record_hash)

    # A screen draws by one of two paths: a repaint of dirty widgets, or a new layout.
    draw = Screen._compositor_refresh
    layout = Screen._refresh_layout
    show = ReviewScreen.show_record
    shown: list[float] = []

    def counted_draw(screen: Screen[Any]) -> None:
        draw(screen)
        drawn.append(time.monotonic())

    def counted_layout(screen: Screen[Any], *args: Any, **kwargs: Any) -> None:
        layout(screen, *args, **kwargs)
        drawn.append(time.monotonic())

    def counted_show(screen: ReviewScreen, detail: Any) -> None:
        show(screen, detail)
        if detail is not None:
            shown.append(time.monotonic())

    monkeypatch.setattr(reviews, "record_panes", held_panes)
    monkeypatch.setattr(Screen, "_compositor_refresh", counted_draw)
    monkeypatch.setattr(Screen, "_refresh_layout", counted_layout)
    monkeypatch.setattr(ReviewScreen, "show_record", counted_show)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(asked), "read the panes")
        screen = review_screen(app)
        uid = current_uid(app)
        # On screen already, and the keys act on it, while its panes are still being read.
        assert not screen.awaiting
        assert uid[:8] in rendered(app, "#record-title")
        assert "loading…" in rendered(app, "#record-verdicts")
        assert "loading…" in rendered(app, "#record-history")
        assert any(shown[0] < t < asked[0] for t in drawn), "panes read before the record drew"
        panes = [w for w in app.workers if w.description == PANES_WORKER]
        assert panes and all(w.is_running and w.group == "panes" for w in panes)
        release.set()
        await settle(app, pilot)
        assert "rules" in rendered(app, "#record-verdicts")
        assert "loading" not in rendered(app, "#record-verdicts")
        assert "no decisions yet" in rendered(app, "#record-history")
        # A decision on a record shown before its panes arrived is on that record.
        await pilot.press("a")
        await settle(app, pilot)
        assert current_uid(app) != uid
    with store.connection() as con:
        rows = con.execute("SELECT record_uid, action FROM review_events").fetchall()
    assert rows == [(uid, "accept")]


async def test_records_ahead_are_read_once_by_one_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path)
    reads: list[str] = []
    inside = 0
    most_inside = 0
    lock = threading.Lock()
    read_details = reviews.record_details

    def counted(store: Any, wanted: list[tuple[str, int]]) -> list[Any]:
        nonlocal inside, most_inside
        with lock:
            inside += 1
            most_inside = max(most_inside, inside)
            reads.extend(uid for uid, _ in wanted)
        try:
            time.sleep(0.05)  # slow enough for keys to arrive while it reads
            return read_details(store, wanted)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(reviews, "record_details", counted)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        seen = [current_uid(app)]
        for _ in range(8):
            await pilot.press("n")
            await pilot.pause(0.01)
        await settle(app, pilot)
        seen.append(current_uid(app))
        order = [row.uid for row in app.queue.rows]
    assert seen[1] == order[8]
    assert most_inside == 1, "records ahead were read by several readers at once"
    assert reads and len(reads) == len(set(reads)), "a record ahead was read twice"


HEAVY = ("anthropic", "boto3", "botocore", "matplotlib", "pyarrow", "numpy", "pandas", "httpx")

STARTUP = """
import json, sys
from textual.app import App
from curator.screens.app import CuratorApp
from curator.screens.record import ReviewScreen

show = ReviewScreen.show_record

def first_shown(self, detail):
    show(self, detail)
    if detail is not None:
        print("LOADED " + json.dumps(sorted(sys.modules)), flush=True)
        self.app.exit()

ReviewScreen.show_record = first_shown
CuratorApp.run = lambda self, **kw: App.run(self, headless=True)
from curator.cli import main
main(sys.argv[1:])
"""


async def test_review_start_loads_no_heavy_library_before_the_first_record(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    env = {**os.environ, "CURATOR_CONFIG": os.devnull}
    done = subprocess.run(
        [sys.executable, "-c", STARTUP, "--db", str(store.path), "review", "--reviewer", "ana"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LOADED ")]
    assert lines, done.stdout + done.stderr
    loaded = set(json.loads(lines[0].removeprefix("LOADED ")))
    assert "curator.screens.record" in loaded  # the probe ran inside `curator review`
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []
