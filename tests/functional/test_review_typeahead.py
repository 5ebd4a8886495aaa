"""Keys typed faster than the store answers: each acts on the record that was on screen.

The store is held by another process while the reviewer types, so no decision can reach the
store and no record can be read: keys must wait for their record, decisions must be acknowledged
(journaled) and shown as "saving N…", and once the store is free every keypress must have become
exactly one decision, on the records in the order they were shown, never twice on one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.worker import WorkerCancelled

from curator.screens.app import CuratorApp
from curator.store import Store
from curator.store.journal import journal_for
from tests.builders import hold_store, release
from tests.functional.test_review_tui import make_store, rendered, review_screen, wait_until
from tests.functional.test_review_tui import settle as settle_all

SIZE = (120, 36)


async def settle(app: CuratorApp, pilot: Any) -> None:
    """Workers idle (superseded read-ahead workers are cancelled: that is fine here)."""
    await settle_all(app, pilot, tolerate=(WorkerCancelled,))


def decisions(store: Store) -> list[tuple[str, str]]:
    with store.connection() as con:
        rows = con.execute(
            "SELECT record_uid, action FROM review_events ORDER BY event_id"
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


async def test_keys_typed_ahead_apply_in_order_to_the_records_as_shown(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        order = [row.uid for row in app.queue.rows[:12]]
        screen = review_screen(app)
        assert screen.detail is not None
        shown: list[str] = [screen.detail.record.uid]
        original = screen.show_record

        def spy(detail: object) -> None:
            if detail is not None:
                shown.append(detail.record.uid)  # type: ignore[attr-defined]
            original(detail)

        screen.show_record = spy  # type: ignore[method-assign]
        holder = hold_store(Path(store.path))
        try:
            # Eight accepts and two skips, typed without waiting for anything.
            await pilot.press("a", "a", "a", "space", "a", "a", "a", "space", "a", "a")
            await wait_until(
                pilot,
                lambda: app.saving > 0 and "saving" in rendered(app, "#record-progress"),
                "said it was saving",
            )
        finally:
            release(holder)
        await settle(app, pilot)
        await wait_until(
            pilot, lambda: not screen.typed_ahead and app.saving == 0, "caught up with the keys"
        )
        await settle(app, pilot)
        assert not screen.typed_ahead
        assert journal_for(store).wait_stored(timeout=60)
    expected = [(order[i], "accept") for i in (0, 1, 2, 4, 5, 6, 8, 9)]
    assert decisions(store) == expected
    # No key ever acted on a record before it was on screen: each decided record was shown,
    # and shown before the next one.
    assert [uid for uid, _ in expected] == [u for u in dict.fromkeys(shown) if u in dict(expected)]


async def test_quitting_waits_until_decisions_are_stored(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        first = app.queue.rows[0].uid
        holder = hold_store(Path(store.path))
        try:
            await pilot.press("a")
            await pilot.pause(0.3)
            await pilot.press("q")
            # Still here, saying it is saving (for as long as the store is held).
            await wait_until(
                pilot,
                lambda: (
                    not app.is_running
                    or (app.quitting and "saving 1" in rendered(app, "#record-progress"))
                ),
                "said it was saving",
            )
            assert app.quitting and app.is_running
            assert "saving 1" in rendered(app, "#record-progress")
        finally:
            release(holder)
        await wait_until(pilot, lambda: not app.is_running, "quit")
    assert decisions(store) == [(first, "accept")]


async def test_quitting_while_saving_one_decision_says_it_in_the_singular(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from tests.functional.test_bulk_tui import notes_of

    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        holder = hold_store(Path(store.path))
        try:
            await pilot.press("a")
            await wait_until(pilot, lambda: app.saving == 1, "journaled the accept")
            await pilot.press("q")
            # The store is held: the accept cannot be stored, so quitting waits for it.
            await wait_until(pilot, lambda: app.quitting, "asked to quit")
            assert app.is_running
            assert notes[-1] == (
                "Saving 1 decision before quitting… (q again quits now; it is safe in the journal)"
            )
        finally:
            release(holder)
        await wait_until(pilot, lambda: not app.is_running, "quit")
    assert [a for _, a in decisions(store)] == ["accept"]
