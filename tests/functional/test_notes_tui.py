"""Notes, flags and the guidelines panel in the review TUI (issue 16, item 4), driven by Pilot."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Markdown, SelectionList

from curator.screens.app import CuratorApp
from curator.screens.guidelines import GuidelinesScreen
from curator.screens.modals import FilterScreen
from curator.store.reviews import record_detail
from tests.functional.test_review_tui import (
    current_uid,
    events,
    make_store,
    rendered,
    settle,
    wait_until,
)

SMALL = (100, 30)


async def test_a_note_is_saved_and_shown_in_the_history(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        uid = current_uid(app)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press(*"check the 2019 column", "enter")
        await settle(app, pilot)
        assert current_uid(app) == uid  # a note does not move on
        history = rendered(app, "#record-history")
        assert "ana noted: check the 2019 column" in history
        assert "PENDING" in rendered(app, "#record-title")
        # Escape cancels a note; an empty one is not saved.
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("enter", "escape")
        await settle(app, pilot)
        # `u` does not undo a note: there is nothing of ana's to undo.
        await pilot.press("u")
        await settle(app, pilot)
    rows = [(e[1], e[2], e[3]) for e in events(store)]
    assert rows == [(uid, "note", "ana")]
    detail = record_detail(store, uid)
    assert detail is not None and detail.status == "pending"
    assert [e.note for e in detail.events] == ["check the 2019 column"]


async def test_flag_for_discussion_shows_filters_and_undoes(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        flagged = current_uid(app)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        await pilot.press(*"which year?", "enter")
        await settle(app, pilot)
        assert current_uid(app) != flagged  # flagged, on to the next
        other = current_uid(app)
        await pilot.press("a")
        await settle(app, pilot)
        row = next(r for r in app.queue.rows if r.uid == flagged)
        assert row.status == "flagged"
        # The filter dialog offers "flagged"; choosing it leaves only the flagged record.
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FilterScreen)
        statuses = app.screen.query_one("#f-status", SelectionList)
        statuses.select("flagged")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert [r.uid for r in app.queue.rows] == [flagged]
        assert current_uid(app) == flagged
        title = rendered(app, "#record-title")
        assert "FLAGGED" in title
        assert "flagged for discussion: which year?" in rendered(app, "#record-history")
        # Undo works for flags: u undoes the latest (the accept), then the flag.
        await pilot.press("u")
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
    detail = record_detail(store, flagged)
    assert detail is not None and detail.status == "pending"
    detail = record_detail(store, other)
    assert detail is not None and detail.status == "pending"
    actions = [e[2] for e in events(store)]
    assert actions == ["flag", "accept", "undo", "undo"]


async def test_deciding_the_last_record_of_a_filtered_view_shows_no_position_past_its_end(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("f")
        await settle(app, pilot)
        app.screen.query_one("#f-status", SelectionList).select("flagged")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert rendered(app, "#record-progress").startswith(" 1 / 1 ")
        await pilot.press("a")  # the only flagged record leaves the view
        await wait_until(pilot, lambda: " / 0 " in rendered(app, "#record-progress"), "counted")
        assert rendered(app, "#record-progress").startswith(" – / 0 ")
        # The view opened again, empty: "–" too, not "?" (a place not known yet).
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not app.queue.rows
        assert rendered(app, "#record-progress").startswith(" – / 0 ")


async def test_the_guidelines_panel_shows_the_configured_file(tmp_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text("# House rules\n\n- Check the **scale** first\n- [b]not markup[/b]\x1b[31m\n")
    store = await make_store(tmp_path, judged=False)
    app = CuratorApp(store, reviewer="ana", guidelines=guide)
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        await settle(app, pilot)
        assert isinstance(app.screen, GuidelinesScreen)
        markdown = app.screen.query_one(Markdown)
        assert "House rules" in markdown.source and "\\x1b" in markdown.source
        assert "\x1b" not in markdown.source
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, GuidelinesScreen)


async def test_the_guidelines_panel_says_when_unset_or_unreadable(tmp_path: Path) -> None:
    store = await make_store(tmp_path, judged=False)
    for guidelines, expected in (
        (None, "No guidelines are configured"),
        (tmp_path / "missing.md", "does not exist"),
        (tmp_path, "is a folder"),
    ):
        app = CuratorApp(store, reviewer="ana", guidelines=guidelines)
        async with app.run_test(size=SMALL) as pilot:
            await settle(app, pilot)
            await pilot.press("g")
            await settle(app, pilot)
            assert isinstance(app.screen, GuidelinesScreen)
            assert expected in rendered(app, "#guidelines-problem")
