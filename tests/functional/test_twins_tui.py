"""The review TUI's near-duplicate filter and the record screen's link to the twin table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox

from curator.screens.app import CuratorApp
from curator.store import Store
from curator.store.importer import import_files
from tests.conftest import SAMPLE_DATA
from tests.functional.test_review_tui import SIZE, current_uid, rendered, review_screen, settle


def sample_store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "twins.duckdb", create=True)
    import_files(
        store,
        [(SAMPLE_DATA / "sample_train.json", "train"), (SAMPLE_DATA / "sample_dev.json", "dev")],
    )
    return store


def twin_contexts(store: Store) -> tuple[str, str, set[str]]:
    """The sample's one near-duplicate pair (a, b) and the records on those two tables."""
    with store.connection() as con:
        pairs = con.execute("SELECT a, b FROM near_duplicates WHERE score >= 0.8").fetchall()
        assert len(pairs) == 1
        a, b = pairs[0]
        uids = {
            r[0]
            for r in con.execute(
                "SELECT uid FROM records WHERE context_uid IN (?, ?)", [a, b]
            ).fetchall()
        }
    return a, b, uids


def context_of(store: Store, uid: str) -> str:
    with store.connection() as con:
        row = con.execute("SELECT context_uid FROM records WHERE uid = ?", [uid]).fetchone()
    assert row is not None
    return str(row[0])


async def test_filter_shows_records_with_a_twin_and_d_opens_it(tmp_path: Path) -> None:
    store = sample_store(tmp_path)
    a, b, twinned = twin_contexts(store)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "Near-duplicate" not in rendered(app, "#record-twins")  # first record: none
        await pilot.press("d")
        await settle(app, pilot)
        await pilot.press("f")
        await settle(app, pilot)
        app.screen.query_one("#f-near-dup", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.queue.filt.near_duplicates
        assert {r.uid for r in app.queue.rows} == twinned
        here = context_of(store, current_uid(app))
        other = b if here == a else a
        shown = rendered(app, "#record-twins")
        assert "Near-duplicate table" in shown and other in shown and "press d" in shown
        await pilot.press("d")
        await settle(app, pilot)
        assert context_of(store, current_uid(app)) == other  # the twin's record is on screen
        assert here in rendered(app, "#record-twins")  # and it names the table we came from
        await pilot.press("d")
        await settle(app, pilot)
        assert context_of(store, current_uid(app)) == here
        assert review_screen(app).twins
    again = CuratorApp(store, reviewer="ana")
    async with again.run_test(size=SIZE) as pilot:
        await settle(again, pilot)
        assert again.queue.filt.near_duplicates  # the view is remembered


def toasts(app: CuratorApp) -> list[str]:
    """The text of every toast on screen, as drawn (markup parsed only if the toast has it)."""
    from textual.widgets._toast import Toast

    return [toast.render().plain for toast in app.screen.query(Toast)]


async def test_data_in_notifications_is_shown_as_typed_not_as_markup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A context uid and a failed write's record uid and error reach a toast: as text (with
    markup on, "[b]ctx-1[/b]" showed as a bold "ctx-1", and a stray "[/]" was an error)."""
    from dataclasses import replace

    from curator.screens.messages import WriteFailed

    store = sample_store(tmp_path)
    *_, twinned = twin_contexts(store)
    app = CuratorApp(store, reviewer="ana")
    shown_for = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        kwargs["timeout"] = 600  # still on screen when read, however slow the machine
        shown_for(message, **kwargs)

    monkeypatch.setattr(app, "notify", notify)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        app.open_uid(next(iter(twinned)))
        await settle(app, pilot)
        screen = review_screen(app)
        assert screen.twins
        screen.twins = [replace(t, context_uid="[b]ctx-1[/b]") for t in screen.twins]
        await pilot.press("d")
        await settle(app, pilot)
        app.post_message(WriteFailed("[i]r-1[/]", "accept", "/data/t[1].duckdb: disk full"))
        await settle(app, pilot)
        shown = toasts(app)
    assert "Near-duplicate: [b]ctx-1[/b]" in shown
    assert "NOT SAVED: your accept of [i]r-1[/]: /data/t[1].duckdb: disk full" in shown
