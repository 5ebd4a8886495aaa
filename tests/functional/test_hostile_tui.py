"""The review TUI over the hostile corpus: every label built from data is literal.

Split names, reviewer names, uids, questions and model replies hold terminal escapes, bidi
controls, rich markup and Textual action markup (`[@click=app.quit]CLICKME[/]`). On every screen
they must show as typed (controls as visible escapes), carry no action, and clicking them must do
nothing but what the widget itself does. A 10 MB question shows cut, with `w` for all of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Log, OptionList, SelectionList

from curator import safe_text
from curator.llm.passes import PassOptions, RulesJudge, run_pass
from curator.screens.app import CuratorApp
from curator.screens.fulltext import FullTextScreen
from curator.screens.messages import StoreFailed
from curator.screens.text import PREVIEW_CHARS
from curator.store import Store
from curator.store.importer import import_files
from curator.store.predictions import NewPrediction, append_predictions, ensure_run
from curator.store.reviews import decide_many
from tests.functional.test_review_tui import current_uid, rendered, settle
from tests.hostile import RECORDS, big_question_file, names, payloads, raw_controls, uids

SIZE = (160, 50)
CLICKME = "[@click=app.quit]CLICKME[/]"
SPLITS = names()["splits"]
REVIEWERS = names()["reviewers"]


async def hostile_store(tmp_path: Path) -> Store:
    """The corpus under two hostile split names, decided by two hostile reviewers, judged."""
    store = Store.open(tmp_path / "hostile.duckdb", create=True)
    other = json.loads(RECORDS.read_text("utf-8"))
    for ctx in other:
        ctx["table"]["uid"] += "-b"
        for q in ctx["questions"]:
            q["uid"] += "-b"
    other_file = tmp_path / "other.json"
    other_file.write_text(json.dumps(other), "utf-8")
    import_files(store, [(RECORDS, SPLITS[0]), (other_file, SPLITS[1])])
    decide_many(store, uids()[:6], "accept", REVIEWERS[0])
    decide_many(store, uids()[:6], "reject", REVIEWERS[1])
    await run_pass(store, RulesJudge(), PassOptions())
    return store


class QuitWatch:
    """Records any attempt to quit the app (a live `@click=app.quit` link would make one)."""

    def __init__(self, app: CuratorApp) -> None:
        self.calls: list[Any] = []

        def exit_watched(*args: Any, **kwargs: Any) -> None:
            self.calls.append(args)  # and do not exit: the test goes on

        app.exit = exit_watched  # type: ignore[method-assign]


def screen_cells(app: CuratorApp) -> list[list[tuple[str, Any]]]:
    """The screen as rows of (character, style) cells, as the compositor would draw them."""
    rows = []
    for strip in app.screen._compositor.render_strips():
        cells: list[tuple[str, Any]] = []
        for segment in strip:
            cells.extend((ch, segment.style) for ch in segment.text)
        rows.append(cells)
    return rows


def find_text(app: CuratorApp, needle: str, region: Any = None) -> tuple[int, int]:
    """Screen (x, y) where `needle` starts (within `region`); fails when it is not on screen."""
    for y, cells in enumerate(screen_cells(app)):
        line = "".join(ch for ch, _ in cells)
        start = line.find(needle)
        while start >= 0:
            if region is None or region.contains(start, y):
                return start, y
            start = line.find(needle, start + 1)
    raise AssertionError(f"{needle!r} is not on screen")


def assert_no_data_actions(app: CuratorApp, needle: str = "@click=app") -> None:
    """No cell showing data carries an action or a link (what makes text clickable)."""
    for cells in screen_cells(app):
        line = "".join(ch for ch, _ in cells)
        start = line.find(needle)
        while start >= 0:
            for _, style in cells[start : start + len(needle)]:
                meta = (style.meta if style else None) or {}
                assert "@click" not in meta, meta
                assert not (style and style.link), style.link
            start = line.find(needle, start + 1)


def screen_text(app: CuratorApp) -> str:
    return "\n".join("".join(ch for ch, _ in cells) for cells in screen_cells(app))


async def test_stats_screen_shows_split_and_reviewer_names_literally(tmp_path: Path) -> None:
    store = await hostile_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        watch = QuitWatch(app)
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        counts = rendered(app, "#stats-counts")
        assert CLICKME in counts and "dev\\x1b]0;split-title\\x07" in counts
        assert raw_controls(counts) == []
        agreement = rendered(app, "#stats-agreement")
        assert f"{CLICKME} vs eve\\x1b]0;pwned\\x07\\x1b[2J: κ" in agreement
        assert raw_controls(agreement) == []
        activity = rendered(app, "#stats-activity")
        assert CLICKME in activity and "eve\\x1b]0;pwned" in activity
        assert raw_controls(screen_text(app)) == []
        assert_no_data_actions(app)
        body = app.screen.query_one("#stats-body")
        x, y = find_text(app, "[@click=app", body.region)
        await pilot.click(offset=(x + 2, y))
        await pilot.pause()
        assert watch.calls == [] and app.screen.__class__.__name__ == "StatsScreen"


async def test_filter_modal_lists_split_names_as_plain_labels(tmp_path: Path) -> None:
    store = await hostile_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        watch = QuitWatch(app)
        await settle(app, pilot)
        await pilot.press("f")
        await settle(app, pilot)
        splits = app.screen.query_one("#f-split", SelectionList)
        prompts = [str(splits.get_option_at_index(i).prompt) for i in range(splits.option_count)]
        assert CLICKME in prompts and "dev\\x1b]0;split-title\\x07" in prompts
        assert all(raw_controls(p) == [] for p in prompts)
        counts = rendered(app, "#filter-counts")
        assert CLICKME in counts and raw_controls(counts) == []
        assert_no_data_actions(app)
        # Clicking the label toggles the option (the widget's own job), and nothing else.
        x, y = find_text(app, "[@click=app", splits.region)
        await pilot.click(offset=(x + 2, y))
        await pilot.pause()
        assert watch.calls == []
        assert list(splits.selected) == [SPLITS[0]]  # the value is the split's real name
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert watch.calls == []
        assert app.queue.filt.splits == (SPLITS[0],)
        assert current_uid(app) in uids()


async def test_record_queue_undo_and_header_show_data_literally(tmp_path: Path) -> None:
    store = await hostile_store(tmp_path)
    reviewer = REVIEWERS[1]
    app = CuratorApp(store, reviewer=reviewer)
    async with app.run_test(size=SIZE) as pilot:
        watch = QuitWatch(app)
        await settle(app, pilot)
        assert raw_controls(app.sub_title) == [] and "eve\\x1b]0;pwned" in app.sub_title
        text = screen_text(app)
        assert raw_controls(text) == []
        title = rendered(app, "#record-title")
        assert "\\x1b" in title or "\\x9" in title or "[" in title
        qa = rendered(app, "#record-qa")
        assert raw_controls(qa) == []
        assert_no_data_actions(app)
        await pilot.press("l")  # the queue
        await settle(app, pilot)
        assert raw_controls(screen_text(app)) == []
        assert CLICKME in screen_text(app)
        assert_no_data_actions(app)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("U")  # the undo picker: this reviewer's decisions
        await settle(app, pilot)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert len(labels) == 6 and all(raw_controls(label) == [] for label in labels)
        assert any("osc52-\\x1b]52" in label for label in labels)
        assert_no_data_actions(app)
        await pilot.press("escape")
        await settle(app, pilot)
        assert watch.calls == []


async def test_notifications_are_literal_and_short(tmp_path: Path) -> None:
    store = await hostile_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.post_message(StoreFailed("saving", f"{CLICKME} {payloads()['osc0']}" + "x" * 10_000))
        await settle(app, pilot)
        shown = list(app._notifications)
        assert shown and all(not n.markup for n in shown)
        message = shown[-1].message
        assert CLICKME in message and raw_controls(message) == [] and len(message) < 700


async def test_eval_screen_shows_hostile_answers_literally(tmp_path: Path) -> None:
    store = await hostile_store(tmp_path)
    ensure_run(store, "base", source="import")
    answer = f"{CLICKME} {payloads()['osc52']} {payloads()['bidi']}"
    append_predictions(store, "base", [NewPrediction(u, "", answer) for u in uids()])
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        detail = rendered(app, "#eval-detail")
        assert CLICKME in detail and "\\x1b]52" in detail and "\\u202e" in detail
        assert raw_controls(screen_text(app)) == []
        assert_no_data_actions(app)


@pytest.mark.parametrize("chars", [10_000_000])
async def test_a_10_mb_question_is_cut_with_a_way_to_read_it_whole(
    tmp_path: Path, chars: int
) -> None:
    store = Store.open(tmp_path / "big.duckdb", create=True)
    path = big_question_file(tmp_path, chars)
    question = json.loads(path.read_text("utf-8"))[0]["questions"][0]["question"]
    import_files(store, [(path, "train")])
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        qa = rendered(app, "#record-qa")
        flat = " ".join(qa.split())
        assert f"…({chars:,} chars) [w shows the whole text]" in flat
        assert len(qa) < PREVIEW_CHARS * 2
        assert raw_controls(screen_text(app)) == []
        assert_no_data_actions(app)
        await pilot.press("l")
        await settle(app, pilot)
        assert "Revenue [@click=app.quit]CLICKME[/]" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        assert isinstance(app.screen, FullTextScreen)
        log = app.screen.query_one(Log)
        width = log.scrollable_content_region.width - 1
        assert log.line_count > chars // width
        lines = list(log.lines)
        start = lines.index(f"── question ({chars:,} characters) ──") + 1
        # The whole question, escaped, in order: the lines of its section put back together.
        end = next(i for i, line in enumerate(lines) if line.startswith("── answer"))
        end -= 1  # the blank line between sections
        whole = "".join(lines[start:end])
        assert whole.startswith("Revenue [@click=app.quit]CLICKME[/] \\x1b]0;pwned-title\\x07")
        assert whole == safe_text.visible(question)
        assert raw_controls(whole) == []
        await pilot.press("end")
        await pilot.pause()
        assert raw_controls(screen_text(app)) == []
        await pilot.press("escape")
        await settle(app, pilot)
        assert current_uid(app) == "big-1"


async def test_edit_modal_shows_fields_escaped_and_keeps_what_was_not_changed(
    tmp_path: Path,
) -> None:
    from textual.widgets import Input, TextArea

    from curator.store.reviews import record_detail

    store = await hostile_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_uid(uids()[0])  # osc52: question, answer and derivation hold OSC 52
        await settle(app, pilot)
        uid = current_uid(app)
        original = record_detail(store, uid)
        assert original is not None and "\x1b" in original.question
        await pilot.press("e")
        await settle(app, pilot)
        assert raw_controls(screen_text(app)) == []
        question = app.screen.query_one("#edit-question", Input)
        assert "\\x1b]52;c;cHduZWQ=\\x07" in question.value
        assert "no changes yet" in rendered(app, "#edit-diff")  # shown as is = unchanged
        area = app.screen.query_one("#edit-answer", TextArea)
        area.text = "$1,200"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    edited = record_detail(store, uid)
    assert edited is not None
    assert edited.question == original.question  # not replaced by its escaped form
    assert edited.answer == ["$1,200"]


async def test_edit_modal_keeps_a_10_mb_question_without_loading_it_into_a_widget(
    tmp_path: Path,
) -> None:
    from textual.widgets import TextArea

    from curator.store.reviews import record_detail

    store = Store.open(tmp_path / "big.duckdb", create=True)
    import_files(store, [(big_question_file(tmp_path, 1_000_000), "train")])
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        assert "1,000,000 characters: too long to edit here" in rendered(app, "#edit-question")
        app.screen.query_one("#edit-answer", TextArea).text = "$1,300"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    detail = record_detail(store, "big-1")
    assert detail is not None and len(detail.question) == 1_000_000
    assert detail.answer == ["$1,300"]
