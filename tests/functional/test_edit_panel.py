"""The edit side panel (issue 16, item 2) and the reject dialog's keys, driven by Pilot at 100×30:
table and paragraphs beside the form, Save/Cancel on screen, the derivation computed live by the
rules judge's check, a mismatch asking before it is saved, cells picked from the keyboard, and a
changed form asking before it is dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, TextArea

from curator.numbers import parse_number
from curator.screens.app import CuratorApp
from curator.screens.edit import EditScreen
from curator.screens.modals import ConfirmScreen
from curator.screens.record import ReviewScreen
from curator.store import Store
from curator.store.reviews import record_detail
from tests.functional.test_review_tui import (
    current_uid,
    events,
    make_store,
    rendered,
    review_screen,
    settle,
)

SMALL = (100, 30)


def first_uid(store: Store, answer_type: str) -> str:
    with store.connection() as con:
        row = con.execute(
            "SELECT uid FROM records WHERE answer_type = ? AND derivation <> '' ORDER BY seq "
            "LIMIT 1",
            [answer_type],
        ).fetchone()
    assert row is not None
    return str(row[0])


async def open_edit(app: CuratorApp, pilot: Any, uid: str) -> EditScreen:
    await settle(app, pilot)
    app.open_uid(uid)
    await settle(app, pilot)
    assert current_uid(app) == uid
    await pilot.press("e")
    await settle(app, pilot)
    assert isinstance(app.screen, EditScreen)
    return app.screen


def top(app: CuratorApp) -> object:
    """The screen on top (untyped: a test compares it with screens of several kinds)."""
    return app.screen


def inside(app: CuratorApp, widget: Any) -> bool:
    """Is the widget drawn whole within the terminal?"""
    region = widget.region
    width, height = app.size
    return bool(
        region.width > 0
        and region.height > 0
        and region.right <= width
        and (region.bottom <= height)
    )


async def test_the_edit_panel_shows_table_and_paragraphs_beside_the_form(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    uid = first_uid(store, "arithmetic")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_edit(app, pilot, uid)
        assert not isinstance(screen, ModalScreen)  # a panel, not a dialog over the record
        detail = screen.detail
        table = screen.query_one("#edit-table", DataTable)
        assert table.row_count == len(detail.context.table)
        assert inside(app, table) and table.region.x < screen.query_one("#edit-form").region.x
        paragraphs = rendered(app, "#edit-paragraphs-text")
        first_words = " ".join(detail.context.paragraphs[0].text.split()[:4])
        assert first_words in " ".join(paragraphs.split())
        for button in ("#save", "#cancel"):
            assert inside(app, screen.query_one(button, Button)), button
        for field in ("#edit-question", "#edit-answer", "#edit-derivation"):
            assert inside(app, screen.query_one(field)), field


async def test_the_derivation_is_computed_live_and_a_mismatch_asks_before_saving(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    uid = first_uid(store, "arithmetic")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_edit(app, pilot, uid)
        # The record as imported: its derivation gives its answer.
        assert "✓" in rendered(app, "#edit-check")
        screen.query_one("#edit-answer", TextArea).text = "9336"
        screen.query_one("#edit-derivation", Input).value = "1,027/12%"
        await pilot.pause()
        check = rendered(app, "#edit-check")
        assert "85.58" in check and "MISMATCH" in check and "✓" not in check
        screen.query_one("#edit-derivation", Input).value = "1,027 / 0.11"
        await pilot.pause()
        check = rendered(app, "#edit-check")
        assert "9,336.36" in check and "✓" in check and "MISMATCH" not in check
        # Compared at the answer's rounding: 9336.5 has one decimal, 9,336.36 is not it.
        screen.query_one("#edit-answer", TextArea).text = "9336.5"
        await pilot.pause()
        assert "MISMATCH" in rendered(app, "#edit-check")
        screen.query_one("#edit-answer", TextArea).text = "9336"
        screen.query_one("#edit-derivation", Input).value = "1,027/12%"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)  # asks first
        await pilot.press("n")  # keep editing: nothing saved
        await settle(app, pilot)
        assert top(app) is screen and not events(store)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")  # save anyway
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
    rows = events(store)
    assert len(rows) == 1 and rows[0][1] == uid and rows[0][2] == "edit"
    edited = json.loads(rows[0][5])
    assert edited["answer"] == 9336 and edited["derivation"] == "1,027/12%"


async def test_a_matching_edit_saves_without_asking(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    uid = first_uid(store, "arithmetic")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_edit(app, pilot, uid)
        screen.query_one("#edit-answer", TextArea).text = "9336.36"
        screen.query_one("#edit-derivation", Input).value = "1,027 / 0.11"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
    edited = json.loads(events(store)[0][5])
    assert edited["answer"] == 9336.36


def _numeric_cells(table: list[list[str]]) -> list[tuple[int, int, str]]:
    return [
        (r, c, cell)
        for r, row in enumerate(table)
        for c, cell in enumerate(row)
        if c > 0 and cell.strip() and parse_number(cell) is not None and not cell.strip().isdigit()
    ]


async def test_a_cell_is_picked_from_the_keyboard_into_the_derivation(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    uid = first_uid(store, "arithmetic")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_edit(app, pilot, uid)
        table = [list(row) for row in screen.detail.context.table]
        (r1, c1, cell1), (r2, c2, cell2) = _numeric_cells(table)[:2]
        derivation = screen.query_one("#edit-derivation", Input)
        derivation.value = ""
        derivation.focus()
        await pilot.pause()
        await pilot.press("ctrl+t")  # cell-pick mode: the table has the keys
        await pilot.pause()
        grid = screen.query_one("#edit-table", DataTable)
        assert grid.has_focus and screen.picking
        assert "PICK" in rendered(app, "#edit-cell")
        await pilot.press(*(["down"] * r1), *(["right"] * c1))
        assert cell1.strip() in rendered(app, "#edit-cell")  # the cell under the cursor, whole
        await pilot.press("enter")
        await pilot.pause()
        assert derivation.has_focus and not screen.picking
        assert derivation.value == cell1.strip().lstrip("$").strip()
        await pilot.press("space", "minus", "space", "ctrl+t")
        await pilot.pause()
        grid.move_cursor(row=r2, column=c2)
        await pilot.press("enter")
        await pilot.pause()
        expected = f"{cell1.strip().lstrip('$').strip()} - {cell2.strip().lstrip('$').strip()}"
        assert derivation.value == expected
        assert "=" in rendered(app, "#edit-check")  # computed live from the picked cells
        # Escape in pick mode goes back to the field and inserts nothing.
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert derivation.has_focus and derivation.value == expected
        assert isinstance(app.screen, EditScreen)
        # Into the answer: the field focused last is where the cell goes.
        answer = screen.query_one("#edit-answer", TextArea)
        answer.text = ""
        answer.focus()
        await pilot.press("ctrl+t")
        await pilot.pause()
        grid.move_cursor(row=r1, column=c1)
        await pilot.press("enter")
        await pilot.pause()
        assert answer.text == cell1.strip()


async def test_leaving_a_changed_form_asks(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    uid = first_uid(store, "arithmetic")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_edit(app, pilot, uid)
        screen.query_one("#edit-question", Input).value = "A better question?"
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep editing: the change is still there
        await settle(app, pilot)
        assert top(app) is screen
        assert screen.query_one("#edit-question", Input).value == "A better question?"
        # An invalid change is a change too.
        screen.query_one("#edit-answer", TextArea).text = "not a number"
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")  # discard
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        # Unchanged: Escape leaves at once.
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, EditScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
    assert events(store) == []
    detail = record_detail(store, uid)
    assert detail is not None and detail.question != "A better question?"


async def test_a_negative_count_says_so(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    uid = first_uid(store, "count")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_edit(app, pilot, uid)
        screen.query_one("#edit-answer", TextArea).text = "-3"
        await pilot.pause()
        assert "a count cannot be negative" in rendered(app, "#edit-diff")


async def test_reject_reasons_by_digit_and_typing_starts_a_custom_reason(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        first = current_uid(app)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("3")  # "3. wrong scale"
        await settle(app, pilot)
        second = current_uid(app)
        await pilot.press("r")
        await pilot.pause()
        # Typed straight away, without Tab: not one character is lost.
        await pilot.press(*"table is from 2017", "enter")
        await settle(app, pilot)
        third = current_uid(app)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("0")  # no reason
        await settle(app, pilot)
        assert isinstance(review_screen(app), ReviewScreen)
    got = [(e[1], e[2], e[4]) for e in events(store)]
    assert got == [
        (first, "reject", "wrong scale"),
        (second, "reject", "table is from 2017"),
        (third, "reject", ""),
    ]


async def test_a_second_edit_keeps_what_the_first_changed(tmp_path: Path) -> None:
    """Two edits of one record, each of one field: the record keeps both changes."""
    store = await make_store(tmp_path)
    uid = first_uid(store, "arithmetic")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_edit(app, pilot, uid)
        screen.query_one("#edit-question", Input).value = "Reworded question?"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        screen = await open_edit(app, pilot, uid)
        screen.query_one("#edit-derivation", Input).value = "1,027 / 0.11"
        screen.query_one("#edit-answer", TextArea).text = "9336.36"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        if isinstance(app.screen, ModalScreen):  # a mismatch asks: keep it anyway
            await pilot.press("y")
            await settle(app, pilot)
    detail = record_detail(store, uid)
    assert detail is not None
    assert detail.question == "Reworded question?"
    assert detail.answer == 9336.36 and detail.derivation == "1,027 / 0.11"
