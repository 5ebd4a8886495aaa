"""Snapshots of the review TUI's screens at a fixed size (pytest-textual-snapshot).

Regenerate after an intended change with `pytest tests/functional/test_snapshots.py
--snapshot-update` and look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import Input, TextArea

from curator.llm.passes import PassOptions, RulesJudge, run_pass
from curator.screens.app import CuratorApp
from curator.store import Store
from curator.store.importer import import_files
from tests.conftest import SAMPLE_DATA
from tests.templates import store_copy

SIZE = (120, 36)


def judged_sample(path: Path) -> None:
    store = Store.open(path, create=True)
    import_files(store, [(SAMPLE_DATA / "sample_dev.json", "dev")])
    asyncio.run(run_pass(store, RulesJudge(), PassOptions()))


def make_app(tmp_path: Path) -> CuratorApp:
    """The app on the judged sample dev file (a copy of a store built once per process)."""
    db = store_copy("snapshot", judged_sample, tmp_path / "snapshot.duckdb")
    return CuratorApp(Store.open(db), reviewer="snapshot")


async def settled(pilot: Any) -> None:
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            return


async def cursor_held_on(pilot: Any) -> None:
    """Stop the focused text cursor's blink in its visible phase: a blinking cursor is drawn or
    not depending on how long the screen took to settle, which a snapshot must not depend on.
    (`cursor_blink = False` is no way to do it: a TextArea keeps its lines as last drawn.)"""
    focused = pilot.app.focused
    if isinstance(focused, TextArea):
        focused._pause_blink(visible=True)
    elif isinstance(focused, Input):
        focused._pause_blink()
        focused._cursor_visible = True
    if focused is not None:
        focused.refresh()
    await pilot.pause()


def after(*keys: str) -> Any:
    async def run(pilot: Any) -> None:
        await settled(pilot)
        for key in keys:
            await pilot.press(key)
            await settled(pilot)
        await cursor_held_on(pilot)

    return run


def test_record_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=after())


def test_queue_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=after("l"))


def test_edit_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=after("e"))


def test_stats_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=after("s"))


# Issue 16: the sizes a reviewer works at. The record screen at 100×30 must keep the table's
# header rows and labels, more than four data rows and both key-bar lines on screen.
SIZES = {"100x30": (100, 30), "200x60": (200, 60)}


def test_record_screen_narrow(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZES["100x30"], run_before=after())


def test_record_screen_wide(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZES["200x60"], run_before=after())


def test_queue_screen_narrow(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZES["100x30"], run_before=after("l"))


def test_queue_screen_wide(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZES["200x60"], run_before=after("l"))


def test_filter_dialog_narrow(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZES["100x30"], run_before=after("f"))


def test_edit_panel_at_100x30(snap_compare: Any, tmp_path: Path) -> None:
    """The edit panel on a narrow terminal: table, paragraphs, form, Save/Cancel all on screen."""
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=after("e"))


def test_edit_panel_at_200x60(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=(200, 60), run_before=after("e"))
