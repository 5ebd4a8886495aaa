"""The next record never waits for the store (issue 10): it comes from the records read ahead.

Another process holds the store's file while the reviewer goes on, so no read or write of the
store can happen: the next records must still show at once, from memory, each key must act on
the record on screen, and a record another process decided must show as decided once that
change is known, even when it was read ahead (as pending) before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.worker import WorkerCancelled

import curator.store.reviews as reviews
from curator.screens.app import CuratorApp
from curator.store import Store
from curator.store.journal import journal_for
from tests.builders import hold_store, release
from tests.functional.test_review_tui import (
    SIZE,
    current_uid,
    make_store,
    rendered,
    review_screen,
    wait_until,
)
from tests.functional.test_review_tui import settle as settle_all

ROOT = Path(__file__).resolve().parents[2]


async def settle(app: CuratorApp, pilot: object) -> None:
    await settle_all(app, pilot, tolerate=(WorkerCancelled,))


def decisions(store: Store, reviewer: str) -> list[tuple[str, str]]:
    with store.connection() as con:
        rows = con.execute(
            "SELECT record_uid, action FROM review_events WHERE reviewer = ? ORDER BY event_id",
            [reviewer],
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


async def read_deep(app: CuratorApp, pilot: object, turn_s: float) -> None:
    """As after a slow turn on the store (others writing): the read ahead deepens."""
    app.turn_took(turn_s)
    app.read_ahead()
    await settle(app, pilot)


async def test_next_records_show_while_another_process_holds_the_store(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        order = [row.uid for row in app.queue.rows]
        await read_deep(app, pilot, 1.0)
        assert app.ahead_depth > 10
        assert all(uid in app.details for uid in order[1:11]), "not read ahead deeply"
        screen = review_screen(app)
        holder = hold_store(Path(store.path))
        try:
            for i in range(10):
                assert current_uid(app) == order[i]
                await pilot.press("a")
                await pilot.pause(0.05)
                # Shown, and the keys act on it, while the store is still held.
                assert not screen.awaiting, f"key {i + 1} waited for the store"
                assert current_uid(app) == order[i + 1]
            assert holder.poll() is None
            assert app.saving == 10
            assert "saving 10" in rendered(app, "#record-progress")
        finally:
            release(holder)
        assert journal_for(store).wait_stored(timeout=60)
        await settle(app, pilot)
    assert decisions(store, "ana") == [(uid, "accept") for uid in order[:10]]


async def test_read_ahead_shows_decisions_of_others_once_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        order = [row.uid for row in app.queue.rows]
        app.poll_changes()  # the first look only notes where the store's events are
        await read_deep(app, pilot, 1.0)
        target = order[3]
        assert app.details[target].status == "pending"  # read ahead before bo decides it
        env = {**os.environ, "CURATOR_CONFIG": os.devnull, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                *(sys.executable, "-m", "tests.fakes.reviewer", str(store.path), "bo"),
                *("--shard", "1/1", "--also", target, "--also-action", "reject", "--count", "1"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        # From now on no record can be read again (as when others hold the store for long).
        unblock = threading.Event()
        read_details = reviews.record_details

        def blocked(store: Store, wanted: list[tuple[str, int]]) -> list[Any]:
            unblock.wait(60)
            return read_details(store, wanted)

        monkeypatch.setattr(reviews, "record_details", blocked)
        app.poll_changes()  # bo's decision becomes known (every 3 s in use)
        await wait_until(pilot, lambda: app.seen_event > 0, "learned of bo's decision")
        assert target in app.stale  # known changed; its new version cannot be read yet
        screen = review_screen(app)
        shown: list[str] = []
        original = screen.show_record

        def spy(detail: object) -> None:
            if detail is not None:
                shown.append(detail.record.uid)  # type: ignore[attr-defined]
            original(detail)

        screen.show_record = spy  # type: ignore[method-assign]
        holder = hold_store(Path(store.path))  # nothing can be read again now
        try:
            # Typed in one go: each key waits for its record, none is applied to one unshown.
            await pilot.press("space", "space", "space")
            await wait_until(pilot, lambda: current_uid(app) == target, "showed the changed one")
            title = rendered(app, "#record-title")
            assert "REJECTED" in title and "PENDING" not in title
            await pilot.press("a", "a")
            await wait_until(pilot, lambda: current_uid(app) == order[5], "moved on twice")
            assert not screen.awaiting and not screen.typed_ahead
        finally:
            unblock.set()
            release(holder)
        assert journal_for(store).wait_stored(timeout=60)
        await settle(app, pilot)
    assert shown[:5] == order[1:6]
    # ana's keys acted on the records shown, the version with bo's decision included: both kept.
    assert decisions(store, "ana") == [(target, "accept"), (order[4], "accept")]
    assert decisions(store, "bo") == [(target, "reject")]
