"""Issue 16 (tables and keys): the record screen readable at 100×30, every key discoverable,
filter chips and position, Escape going back, lists keeping their place, keys remappable."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import OptionList, Static

from curator.domain import RecordFilter
from curator.screens.app import CuratorApp
from curator.screens.record import ReviewScreen
from curator.screens.widgets.key_bar import KeyBar
from curator.screens.widgets.record_table import RecordTable
from curator.store import Store
from curator.store.importer import import_file
from tests.conftest import tiny_context, write_json
from tests.functional.test_review_tui import (
    current_uid,
    events,
    make_store,
    rendered,
    review_screen,
    settle,
)

NARROW = (100, 30)
WIDE = (200, 60)
LONG_LABEL = "Total Transportation Solutions segment net sales after eliminations"
YEARS = ["2019", "2018", "2017", "2016", "2015", "2014", "2013"]


def wide_context() -> dict[str, Any]:
    """A report like TAT-QA's widest: two header rows, long labels, seven year columns."""
    ctx = tiny_context("wide", ("wide-1", "wide-2"))
    head = [["", "Fiscal year ended December 31,"] + [""] * 6, ["", *YEARS]]
    body = [
        [
            f"{LONG_LABEL} {i}" if i % 3 == 0 else f"Segment {i}",
            *[f"{1000 + i * 7 + y:,}" for y in range(7)],
        ]
        for i in range(24)
    ]
    ctx["table"]["table"] = head + body
    for q in ctx["questions"]:
        q["answer"] = ["1,000"]
        q["question"] = "What were net sales of the first total in 2019?"
    return ctx


def wide_store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "wide.duckdb", create=True)
    import_file(store, write_json(tmp_path / "wide.json", [wide_context()]), "dev")
    return store


def table_lines(table: RecordTable) -> list[str]:
    """What the table widget draws, line by line (its scroll position applied)."""
    return ["".join(seg.text for seg in table.render_line(y)) for y in range(table.size.height)]


def plain(renderable: Any) -> str:
    console = Console(width=300, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_wide_table_freezes_headers_and_labels_and_never_splits_a_word(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = CuratorApp(wide_store(tmp_path), reviewer="ana")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(RecordTable)
        assert table.fixed_rows == 2 and table.fixed_columns == 1
        # More than four data rows fit under the two header rows, even at 100×30.
        assert table.size.height - 2 >= (10 if size == NARROW else 20)
        lines = table_lines(table)
        assert "2019" in lines[0] + lines[1] and "Segment 1" in "".join(lines)
        # Every cell is one line: whole, or cut with … (never `Decembe` / `r 31,` on two lines).
        for line in lines:
            assert "after eliminations" not in line or LONG_LABEL in line
        if size == NARROW:
            assert any("Total Transportation" in line and "…" in line for line in lines)
        # Scroll to the last row and the last column: the header rows and labels stay.
        await pilot.press("end", "ctrl+end")
        table.move_cursor(row=len(table.cells) - 1, column=7, animate=False)
        await pilot.pause()
        await settle(app, pilot)
        lines = table_lines(table)
        assert "2013" in lines[1], lines[:2]  # header still on screen, scrolled with the body
        assert "Segment 23" in "".join(lines)  # the label column is frozen
        if size == NARROW:
            assert table.scroll_offset.x > 0 and table.scroll_offset.y > 0
            assert "2019" not in lines[1]  # the years scrolled sideways under the frozen labels
        # The cell under the cursor is shown whole, with its row and column named.
        table.move_cursor(row=2, column=0, animate=False)
        await settle(app, pilot)
        cell = rendered(app, "#record-cell")
        assert f"{LONG_LABEL} 0" in cell
        table.move_cursor(row=2, column=1, animate=False)
        await settle(app, pilot)
        cell = rendered(app, "#record-cell")
        assert f"{LONG_LABEL} 0 · Fiscal year ended December 31, 2019: 1,000" in cell


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_every_key_is_in_the_key_bar_within_the_width(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        bar = app.screen.query_one(KeyBar)
        text = bar.plain
        for item in (
            "a Accept", "r Reject", "e Edit", "u Undo", "U Undo…", "n Next", "p Prev", "J Judge",
            "/ Search", "f Filters", "l Queue", "t Sort", "s Stats", "v Eval", "w Whole",
            "f1 Help", "q Quit", "! Flag", "c Note", "g Guide", "B Bulk",
        ):  # fmt: skip
            assert item in text, item
        lines = text.splitlines()
        assert all(len(line) <= size[0] for line in lines)
        assert len(lines) == (2 if size == NARROW else 1)
        assert bar.region.bottom == size[1] and bar.region.height == len(lines)
        # Clicking a key runs its action, as in Textual's footer (and in a browser).
        y, start, _end, _index = next(s for s in bar.spots if bar.items[s[3]][2] == "queue")
        await pilot.click(KeyBar, offset=(start + 1, y))
        await settle(app, pilot)
        assert type(app.screen).__name__ == "QueueScreen"
        assert "Back" in app.screen.query_one(KeyBar).plain


async def test_remapped_keys_work_show_in_the_bar_and_help(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana", keys={"accept": "y", "queue": "o"})
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        text = app.screen.query_one(KeyBar).plain
        assert "y Accept" in text and "a Accept" not in text and "o Queue" in text
        first = current_uid(app)
        await pilot.press("a")  # no longer bound
        await settle(app, pilot)
        assert events(store) == []
        await pilot.press("y")
        await settle(app, pilot)
        assert [(e[1], e[2]) for e in events(store)] == [(first, "accept")]
        await pilot.press("o")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "QueueScreen"
        await pilot.press("o")  # the same key closes it
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("f1")
        await pilot.pause()
        help_text = "".join(plain(w.content) for w in app.screen.query(Static))
        assert "y" in help_text and "Accept" in help_text
        rows = [line for line in help_text.splitlines() if "Accept" in line]
        assert rows and all(" a " not in row for row in rows) and any(" y " in r for r in rows)


async def test_status_line_shows_filter_chips_and_position(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        total = len(app.queue.rows)
        assert f"1 / {total}" in rendered(app, "#record-progress")
        await pilot.press("n", "n")
        await settle(app, pilot)
        assert f"3 / {total}" in rendered(app, "#record-progress")
        app.change_view(RecordFilter(statuses=("pending",), answer_types=("arithmetic",)), "store")
        await settle(app, pilot)
        line = rendered(app, "#record-progress")
        n = len(app.queue.rows)
        assert f"1 / {n}" in line
        assert "status: pending" in line and "type: arithmetic" in line
        await pilot.press("a", "a")
        await settle(app, pilot)
        decided = [e[1] for e in events(store)]
    # Reopened in the middle of its view (at the first pending record), it counts what is
    # before: the first two arithmetic records were accepted, so this is the third.
    again = CuratorApp(store, reviewer="ana")
    async with again.run_test(size=NARROW) as pilot:
        await settle(again, pilot)
        assert current_uid(again) not in decided
        line = rendered(again, "#record-progress")
        assert "status: pending" in line
        assert f"1 / {n - 2}" in line  # the view is pending records: two fewer now
    # The count behind "23 / 710" for a view opened mid-way: records before a key, per order.
    from curator.store.reviews import queue_page, queue_position

    for sort in ("store", "triage"):
        rows = queue_page(store, RecordFilter(), sort=sort, limit=100)
        for k in (0, 1, 5, len(rows) - 1):
            assert queue_position(store, RecordFilter(), sort=sort, key=rows[k].key) == k


async def test_escape_goes_back_never_to_the_queue(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen) and len(app.screen_stack) == 2
        await pilot.press("l")
        await settle(app, pilot)
        await pilot.press("down", "down", "down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        opened = current_uid(app)
        assert opened == app.queue.rows[3].uid
        bar = app.screen.query_one(KeyBar).plain
        assert "esc Back" in bar and len(bar.splitlines()) == 2  # still two lines at 100
        await pilot.press("escape")  # back to the queue it came from, on the same row
        await settle(app, pilot)
        assert type(app.screen).__name__ == "QueueScreen"
        assert app.screen.query_one("#queue-view").cursor == 3  # type: ignore[attr-defined]
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("escape")  # nothing left to go back to: stays
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert "Back" not in app.screen.query_one(KeyBar).plain


async def test_queue_keeps_its_cursor_and_shows_answers_and_whole_verdicts(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        view: Any = app.screen.query_one("#queue-view")
        header = rendered(app, "#queue-header")
        assert "verdicts" in header and "answer" in header and "question" in header
        first = "".join(seg.text for seg in view.render_line(0))
        row = app.queue.rows[0]
        assert f"rules {row.verdicts['rules']}" in first and "r:" not in first
        assert header.index("answer") == first.index(plain_answer(row)[:5])
        await pilot.press("down", "down")
        await settle(app, pilot)
        on = view.current.uid
        app.refresh_queue_views()  # what a poll or a decision elsewhere does
        await settle(app, pilot)
        assert view.current.uid == on and view.cursor == 2
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("l")  # reopened: on the current record again
        await settle(app, pilot)
        view = app.screen.query_one("#queue-view")
        assert view.cursor == app.queue.index


def plain_answer(row: Any) -> str:
    from curator.prompts import render_answer

    return render_answer(row.answer, row.scale)


async def test_undo_picker_names_the_question_and_the_decision(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        accepted = review_screen(app).detail.question
        await pilot.press("a")
        await settle(app, pilot)
        rejected = review_screen(app).detail.question
        await pilot.press("r", "enter")
        await settle(app, pilot)
        await pilot.press("U")
        await settle(app, pilot)
        options = app.screen.query_one(OptionList)
        lines = [plain(options.get_option_at_index(i).prompt) for i in range(2)]
        assert "rejected" in lines[0] and "wrong answer" in lines[0]
        assert rejected[:40] in lines[0].replace("\n", "")
        assert "accepted" in lines[1] and accepted[:40] in lines[1].replace("\n", "")


async def test_dialog_titles_wrap_on_an_80_column_terminal(tmp_path: Path) -> None:
    """A dialog's title is its instructions: on 80x24 it wraps instead of ending in "(Enter"."""
    from textual.geometry import Region
    from textual.widgets import Label

    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key, words in (("r", "type your own (Enter saves)"), ("!", "look at? (Enter")):
            await pilot.press(key)
            await pilot.pause()
            title = app.screen.query_one(".title", Label)
            width, height = title.size
            drawn = " ".join(
                "".join(s.text for s in strip).strip()
                for strip in title.render_lines(Region(0, 0, width, height))
            )
            assert words in drawn, drawn
            # ... and all of it inside the dialog (a wider label is cut at the dialog's edge).
            assert title.region.right <= title.parent.content_region.right  # type: ignore[union-attr]
            await pilot.press("escape")
            await pilot.pause()


async def test_whole_text_lines_fit_the_viewer_on_an_80_column_terminal(tmp_path: Path) -> None:
    """Each line is cut to the width the viewer shows: none ends under its scrollbar (the last
    character of every wrapped line was hidden there, "…done in 201" for "…in 2019?")."""
    from textual.widgets import Log

    from curator.screens.fulltext import FullTextScreen

    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        assert isinstance(app.screen, FullTextScreen)
        log = app.screen.query_one(Log)
        lines = list(log.lines)
        assert any(line.startswith("── paragraph") for line in lines)
        assert max(len(line) for line in lines) <= log.scrollable_content_region.width


def test_undo_picker_line_of_an_edit_keeps_a_space_before_the_question() -> None:
    from datetime import datetime
    from types import SimpleNamespace

    from curator.screens.modals import undo_line

    event = SimpleNamespace(
        created_at=datetime(2026, 1, 2, 4, 52),
        action="edit",
        reason="",
        edited={"scale": "billion", "answer": ["795"]},
        record_uid="r-1",
    )
    assert undo_line(event, "Net deferred tax?").plain == (
        "04:52 edited   (answer, scale) · Net deferred tax?  r-1"
    )
    # A flag reads like the other decisions ("flagged", as its status is named), not "flag".
    event.action, event.edited, event.reason = "flag", None, "scale?"
    assert undo_line(event, "Q?").plain == "04:52 flagged  scale? · Q?  r-1"


async def _store_with_a_run(tmp_path: Path) -> Store:
    """The review store with run "base": six wrong answers, one output token each."""
    from curator.store.predictions import NewPrediction, append_predictions, ensure_run

    store = await make_store(tmp_path)
    with store.connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    ensure_run(store, "base", source="import")
    append_predictions(
        store, "base", [NewPrediction(u, "", "wrong", output_tokens=1) for u in uids[:6]]
    )
    return store


async def test_evaluation_list_keeps_its_place(tmp_path: Path) -> None:
    store = await _store_with_a_run(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        await pilot.press("down", "down", "down")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        options = app.screen.query_one("#eval-wrong", OptionList)
        assert options.highlighted == 3
        await pilot.press("enter")  # open it; Escape comes back to the same row
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "EvalScreen"
        assert app.screen.query_one("#eval-wrong", OptionList).highlighted == 3


async def test_evaluation_list_shows_a_run_without_answers_without_nan(tmp_path: Path) -> None:
    from curator.store.predictions import ensure_run

    store = await _store_with_a_run(tmp_path)
    ensure_run(store, "empty", source="import")  # registered, nothing answered yet
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        text = rendered(app, "#eval-table")
        assert "empty" in text and "base" in text
        assert "nan" not in text.lower()


async def test_answer_marked_edited_only_when_the_answer_was_edited(tmp_path: Path) -> None:
    from curator.store.reviews import decide, queue_page

    store = await make_store(tmp_path)
    first, second = (r.uid for r in queue_page(store, limit=2))
    decide(store, first, "edit", "bo", edited={"question": "Only the question?"})
    decide(store, second, "edit", "bo", edited={"scale": "million"})
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        app.open_uid(first)
        await settle(app, pilot)
        qa = rendered(app, "#record-qa")
        assert "Only the question?" in qa
        assert "Question  (edited)" in qa and "Answer  (edited)" not in qa
        app.open_uid(second)
        await settle(app, pilot)
        qa = rendered(app, "#record-qa")
        assert "Answer  (edited)" in qa and "Question  (edited)" not in qa


async def test_filter_dialog_ticks_fit_and_clear_all_is_one_key(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        app.change_view(RecordFilter(statuses=("pending",), disagree=True), "triage")
        await settle(app, pilot)
        await pilot.press("f")
        await settle(app, pilot)
        status: Any = app.screen.query_one("#f-status")
        lines = ["".join(s.text for s in status.render_line(y)) for y in range(4)]
        assert "✓" in lines[0] and "pending" in lines[0]  # ticked: a mark, not only a colour
        assert "✓" not in lines[1] and "accepted" in lines[1]
        for widget_id, word in (
            ("#f-verdict", "incorrect"),
            ("#f-type", "multi-span"),
            ("#f-source", "table-text"),
            ("#f-verdict", "uncertain"),
        ):
            widget: Any = app.screen.query_one(widget_id)
            drawn = "".join(
                s.text for y in range(widget.size.height) for s in widget.render_line(y)
            )
            assert word in drawn, word  # whole, not `pendi…`
        flag = app.screen.query_one("#f-disagree")
        assert "✓" in plain(flag.render())
        await pilot.press("x")  # clear all, from anywhere in the dialog
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert app.queue.filt == RecordFilter()
        assert "status:" not in rendered(app, "#record-progress")


def test_headings_spread_across_the_columns_they_span() -> None:
    from curator.screens.widgets.table_grid import column_widths, spans, spread

    rows = [["", "Year Ended December 31,", ""], ["", "2019", "2018"], ["Bulk", "1,339.0", "1.1"]]
    assert spans(rows, 2) == {(0, 1): 2}
    # The heading does not widen its first column; room left in the pane lets it fit.
    assert column_widths(rows, 80)[:2] == [4, 7] and sum(column_widths(rows, 80)[1:]) + 2 >= 23
    assert spread("Year Ended December 31,", [7, 14]) == ["Year", "Ended Decembe…"]
    assert spread("Year Ended December 31,", [10, 12]) == ["Year Ended", "December 31,"]
    assert spread("Supercalifragilistic heading", [5, 5]) == ["Supe…", ""]


@pytest.mark.shared
async def test_the_widest_real_dev_tables_read_at_100x30(tmp_path: Path, tatqa_dir: Path) -> None:
    """The dev file's widest and longest tables: headers and labels stay, rows fit, nothing
    wraps, and scrolling down keeps the header rows exactly as they were."""
    import json

    data = json.loads((tatqa_dir / "tatqa_dataset_dev.json").read_text("utf-8"))
    widest = max(data, key=lambda c: max(len(r) for r in c["table"]["table"]))
    longest = max(data, key=lambda c: len(c["table"]["table"]))
    store = Store.open(tmp_path / "real.duckdb", create=True)
    import_file(store, write_json(tmp_path / "real.json", [widest, longest]), "dev")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        seen = set()
        for _ in range(len(app.queue.rows)):
            table = app.screen.query_one(RecordTable)
            context = review_screen(app).detail.context.uid
            if context not in seen:
                seen.add(context)
                body = len(table.cells) - table.fixed_rows
                assert table.fixed_columns == 1
                assert table.size.height - table.fixed_rows >= min(body, 10)
                before = table_lines(table)
                assert all(len(line) <= table.size.width for line in before)
                table.move_cursor(row=len(table.cells) - 1, column=len(table.widths) - 1)
                await settle(app, pilot)
                after_scroll = table_lines(table)
                frozen = table.widths[0] + 2
                # The header rows stay on top; the label column stays on the left.
                assert [line[:frozen] for line in after_scroll[: table.fixed_rows]] == [
                    line[:frozen] for line in before[: table.fixed_rows]
                ]
                label = " ".join(table.cells[-1][0].split())[: table.widths[0] - 1]
                assert label in "".join(after_scroll)
                if table.scroll_offset.x == 0:  # scrolled down only: headers unchanged
                    assert after_scroll[: table.fixed_rows] == before[: table.fixed_rows]
                shown = rendered(app, "#record-cell")
                assert " ".join(table.cells[-1][-1].split())[:20] in " ".join(shown.split())
            await pilot.press("n")
            await settle(app, pilot)
        assert len(seen) == 2
