"""The review TUI driven by Textual's Pilot, asserting on the store afterwards."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList, SelectionList, Static, TextArea

from curator.llm.passes import PassOptions, RulesJudge, run_pass
from curator.screens.app import CuratorApp
from curator.screens.record import ReviewScreen
from curator.settings import Config
from curator.store import Store
from curator.store.importer import import_file, import_files
from curator.store.reviews import record_detail
from tests.conftest import SAMPLE_DATA, tiny_context, write_json
from tests.templates import store_copy_async

SIZE = (120, 36)


async def make_store(tmp_path: Path, *, judged: bool = True) -> Store:
    """The sample dev file in a store (judged by the rules judge unless `judged` is false): a
    copy of one built once per test process (tests/templates.py)."""

    async def build(path: Path) -> None:
        store = Store.open(path, create=True)
        import_files(store, [(SAMPLE_DATA / "sample_dev.json", "dev")])
        if judged:
            await run_pass(store, RulesJudge(), PassOptions())

    name = "review-judged" if judged else "review"
    return Store.open(await store_copy_async(name, build, tmp_path / "review.duckdb"))


def events(store: Store) -> list[tuple[Any, ...]]:
    with store.connection() as con:
        return con.execute(
            "SELECT event_id, record_uid, action, reviewer, reason, CAST(edited AS VARCHAR), "
            "undoes, blind FROM review_events ORDER BY event_id"
        ).fetchall()


async def settle(
    app: CuratorApp, pilot: Any, *, tolerate: tuple[type[BaseException], ...] = ()
) -> None:
    """Wait until workers are idle and their messages handled. `tolerate` names worker
    endings a test expects (a worker cancelled, or failing on purpose): awaited, not raised."""
    for _ in range(50):
        await pilot.pause()
        with contextlib.suppress(*tolerate):
            await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            return
    raise AssertionError("workers did not settle")


async def wait_until(
    pilot: Any, condition: Callable[[], bool], what: str, *, seconds: float = 60.0
) -> None:
    """Let the app run until `condition()` holds. `seconds` only bounds a hang (a fixed
    number of short pauses ran out on a loaded machine before the app got there)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        await pilot.pause(0.05)


def review_screen(app: CuratorApp) -> ReviewScreen:
    return next(s for s in app.screen_stack if isinstance(s, ReviewScreen))


def current_uid(app: CuratorApp) -> str:
    detail = review_screen(app).detail
    assert detail is not None
    return str(detail.record.uid)


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (rich renderables rendered without colour)."""
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def rendered(app: CuratorApp, selector: str) -> str:
    return plain(app.screen.query_one(selector, Static))


async def test_accept_persists_and_advances(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        first = current_uid(app)
        await pilot.press("a")
        await settle(app, pilot)
        assert current_uid(app) != first
    assert events(store) == [(1, first, "accept", "ana", "", None, None, False)]
    detail = record_detail(store, first)
    assert detail is not None and detail.status == "accepted"


async def test_triage_order_puts_incorrect_first(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        rows = app.queue.rows
        ranks = [r.rank for r in rows]
        assert ranks == sorted(ranks) and ranks[0] == 0
        assert rows[0].verdicts == {"rules": "incorrect"}


async def test_reject_with_a_listed_or_typed_reason(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        first = current_uid(app)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen.query_one(OptionList), OptionList)
        await pilot.press("enter")  # the highlighted first reason
        await settle(app, pilot)
        second = current_uid(app)
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#reject-other", Input).focus()
        await pilot.press(*"table is from 2017", "enter")
        await settle(app, pilot)
        # Escape cancels without writing anything.
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
    got = [(e[1], e[2], e[4]) for e in events(store)]
    assert got == [(first, "reject", "wrong answer"), (second, "reject", "table is from 2017")]


def type_burst(app: CuratorApp, text: str) -> None:
    """`text` as keys that all arrive before the app handles any (one SSH packet, a fast
    typist): unlike `pilot.press`, nothing runs between them."""
    from textual.keys import _character_to_key

    # "/" is "slash"
    send_burst(app, [(c if c.isalnum() else _character_to_key(c), c) for c in text])


def send_burst(app: CuratorApp, keys: list[tuple[str, str | None]]) -> None:
    """(key, character) pairs queued before the app handles any; `type_burst` for text."""
    from textual import events

    driver = app._driver
    assert driver is not None
    for key, char in keys:
        event = events.Key(key, char)
        event.set_sender(app)
        driver.send_message(event)


async def test_reject_reason_typed_in_one_burst_keeps_its_digits_and_spaces(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        first = current_uid(app)
        await pilot.press("r")
        await pilot.pause()
        # The first key starts the typed reason; the focus reaches its field only after the
        # burst: the 4 must not pick "answer not supported…", the spaces must stay.
        type_burst(app, "q4 revenue is 2019")
        await pilot.pause()
        assert app.screen.query_one("#reject-other", Input).value == "q4 revenue is 2019"
        await pilot.press("enter")
        await settle(app, pilot)
        # The r itself in the burst: the reason went to the record screen before the dialog
        # was there (and was lost, the dialog left open and empty).
        third = current_uid(app)
        type_burst(app, "rq3 scale")
        await pilot.pause()
        assert app.screen.query_one("#reject-other", Input).value == "q3 scale"
        await pilot.press("enter")
        await settle(app, pilot)
        # A digit on the list (nothing typed yet) still picks its reason.
        second = current_uid(app)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("2")
        await settle(app, pilot)
    got = [(e[1], e[2], e[4]) for e in events(store)]
    assert got == [
        (first, "reject", "q4 revenue is 2019"),
        (third, "reject", "q3 scale"),
        (second, "reject", "wrong derivation"),
    ]


async def test_a_note_and_a_search_typed_in_one_burst_with_their_key_keep_every_character(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        uid = current_uid(app)
        # The key that opens the dialog and the text after it in one burst: the text reaches
        # the dialog before the focus reaches its field (it was lost: an empty note).
        type_burst(app, "cTest note 1")
        await pilot.pause()
        await pilot.press("enter")
        await settle(app, pilot)
        # The search field starts with the current search: typing replaces it, as when focused.
        type_burst(app, "/revenue")
        await pilot.pause()
        assert app.screen.query_one("#search-input", Input).value == "revenue"
        await pilot.press("escape")
        await settle(app, pilot)
        app.queue.filt = app.queue.filt.__class__(search="old")
        type_burst(app, "/q4 rev")
        await pilot.pause()
        assert app.screen.query_one("#search-input", Input).value == "q4 rev"
        await pilot.press("escape")
        await settle(app, pilot)
    assert [(e[1], e[2]) for e in events(store)] == [(uid, "note")]
    detail = record_detail(store, uid)
    assert detail is not None and [e.note for e in detail.events] == ["Test note 1"]


async def test_an_answer_typed_in_one_burst_with_e_reaches_the_edit_panel(
    tmp_path: Path,
) -> None:
    """`e` and the text after it in one burst: the text reached the record screen before the
    edit panel had its focus, and was lost (or, a letter, taken as a record-screen key)."""
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        before = review_screen(app).detail
        type_burst(app, "e 1.5")
        await pilot.pause()
        await settle(app, pilot)
        area = app.screen.query_one("#edit-answer", TextArea)
        from curator.editing import answer_to_form

        assert area.text == answer_to_form(before.answer) + " 1.5"  # typed at the answer's end
        await pilot.press("escape")
        await settle(app, pilot)
    assert events(store) == []
    assert record_detail(store, before.record.uid) == before


async def test_edit_keeps_the_original_and_shows_a_diff(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        uid = current_uid(app)
        detail = review_screen(app).detail
        original_question = detail.question
        await pilot.press("e")
        await pilot.pause()
        area = app.screen.query_one("#edit-answer", TextArea)
        area.text = "not a number" if detail.record.answer_type in ("arithmetic", "count") else ""
        await pilot.pause()
        assert "✗" in rendered(app, "#edit-diff")
        await pilot.press("ctrl+s")  # invalid: not saved, modal stays
        await pilot.pause()
        assert not events(store)
        area.text = "42"
        app.screen.query_one("#edit-question", Input).value = "Edited question?"
        await pilot.pause()
        diff = rendered(app, "#edit-diff")
        assert "answer" in diff and "Edited question?" in diff
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    rows = events(store)
    assert len(rows) == 1 and rows[0][2] == "edit"
    edited = json.loads(rows[0][5])
    assert edited["question"] == "Edited question?"
    assert edited["answer"] in (42, "42", ["42"])
    after = record_detail(store, uid)
    assert after is not None and after.question == "Edited question?"
    assert after.record.question == original_question  # the import is untouched
    assert after.status == "edited"


async def test_undo_last_and_an_earlier_decision(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        first = current_uid(app)
        await pilot.press("a")
        await settle(app, pilot)
        second = current_uid(app)
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("u")  # undoes the second accept and shows that record
        await settle(app, pilot)
        assert current_uid(app) == second
        await pilot.press("U")  # history: the first accept is the only live one left
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert current_uid(app) == first
    actions = [(e[1], e[2], e[6]) for e in events(store)]
    assert actions == [
        (first, "accept", None),
        (second, "accept", None),
        (second, "undo", 2),
        (first, "undo", 1),
    ]
    for uid in (first, second):
        detail = record_detail(store, uid)
        assert detail is not None and detail.status == "pending"


async def test_navigation_keys(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        uids = [r.uid for r in app.queue.rows]
        for key, expected in (("n", 1), ("j", 2), ("space", 3), ("p", 2), ("k", 1)):
            await pilot.press(key)
            await settle(app, pilot)
            assert current_uid(app) == uids[expected], key
    assert events(store) == []  # moving never decides


async def test_judge_now_appends_a_verdict_without_blocking(tmp_path: Path) -> None:
    store = await make_store(tmp_path, judged=False)
    app = CuratorApp(store, reviewer="ana", judge_choice=None, config=Config())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        uid = current_uid(app)
        assert "not judged yet" in rendered(app, "#record-verdicts")
        await pilot.press("J")
        await settle(app, pilot)
        assert "rules:" in rendered(app, "#record-verdicts")
    with store.connection() as con:
        rows = con.execute("SELECT record_uid, judge, run_id FROM verdicts").fetchall()
    assert rows == [(uid, "rules", "tui")]


async def test_search_and_filters_change_the_view_and_are_remembered(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"fees", "enter")
        await settle(app, pilot)
        assert app.queue.rows and all("fees" in r.question.lower() for r in app.queue.rows)
        await pilot.press("f")
        await settle(app, pilot)
        status = app.screen.query_one("#f-type", SelectionList)
        status.select("multi-span")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.queue.filt.answer_types == ("multi-span",)
        assert app.queue.filt.search == "fees"
        assert all(r.answer_type == "multi-span" for r in app.queue.rows)
        await pilot.press("t")  # sort toggles to store order
        await settle(app, pilot)
        assert app.queue.sort == "store"
    # A new session resumes in the same view.
    again = CuratorApp(store, reviewer="ana")
    async with again.run_test(size=SIZE) as pilot:
        await settle(again, pilot)
        assert again.queue.filt.answer_types == ("multi-span",)
        assert again.queue.filt.search == "fees" and again.queue.sort == "store"


async def test_reopening_resumes_at_the_first_pending_record(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        decided = []
        for _ in range(3):
            decided.append(current_uid(app))
            await pilot.press("a")
            await settle(app, pilot)
        expected = current_uid(app)
        await pilot.press("q")
    again = CuratorApp(store, reviewer="ana")
    async with again.run_test(size=SIZE) as pilot:
        await settle(again, pilot)
        assert current_uid(again) == expected
        assert current_uid(again) not in decided


async def test_queue_screen_opens_a_record(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "QueueScreen"
        await pilot.press("down", "down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert current_uid(app) == app.queue.rows[2].uid


async def test_stats_screen_shows_agreement(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")  # accept a record the rules judge calls incorrect
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        text = rendered(app, "#stats-agreement")
        assert "rules: κ" in text
        assert "ana" in plain(app.screen.query_one("#stats-activity", Static))
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)


async def test_help_lists_every_key_and_quit(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = "".join(plain(w) for w in app.screen.query(Static))
        for word in ("Accept", "Reject", "Edit", "Undo", "Judge", "Filters", "Stats", "Quit"):
            assert word in text, word
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_names_character_keys_as_typed(tmp_path: Path) -> None:
    """The help shows `!` for flag, as the key bar does, not Textual's `exclamation_mark`; a
    remapped key named by its character's name (`full_stop`) is shown as the character too."""
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana", keys={"accept": "full_stop"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = "".join(plain(w) for w in app.screen.query(Static))
        assert "exclamation_mark" not in text and "full_stop" not in text
        assert "question_mark" not in text and "slash" not in text
        rows = text.splitlines()
        assert any(" ! " in row and "Flag" in row for row in rows)
        assert any(" . " in row and "Accept" in row for row in rows)
        assert any("escape" in row and "Back" in row for row in rows)


async def test_palette_offers_every_record_action(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        bound = {b.action for b in ReviewScreen.BINDINGS}
        offered = {action for _, _, action in ReviewScreen.PALETTE}
        assert bound <= offered
        assert "Accept record" in titles and "Statistics and agreement" in titles


async def test_blind_review_hides_verdicts_until_decided(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="bo", blind=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "hidden until you decide" in rendered(app, "#record-verdicts")
        assert "incorrect" not in rendered(app, "#record-verdicts")
        uid = current_uid(app)
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        assert current_uid(app) == uid
        assert "rules:" in rendered(app, "#record-verdicts")
    assert events(store)[0][7] is True  # stored as a blind decision


async def test_hostile_record_text_is_shown_literally(tmp_path: Path) -> None:
    ctx = tiny_context("evil", ("evil-1",))
    ctx["questions"][0]["question"] = "[bold red]pwned[/] \x1b[2J\x1b[31mred\x07 done"
    ctx["paragraphs"][0]["text"] = "[link=http://x]click[/link] \x1b]0;title\x07"
    ctx["table"]["table"][1][0] = "[reverse]cell\x1b[0m"
    store = Store.open(tmp_path / "evil.duckdb", create=True)
    import_file(store, write_json(tmp_path / "evil.json", [ctx]), "train")
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        qa = rendered(app, "#record-qa")
        assert "[bold red]pwned[/]" in qa and "\\x1b[2J" in qa and "\\x07" in qa
        assert "\x1b" not in qa and "\x07" not in qa
        paragraphs = rendered(app, "#record-paragraphs")
        assert "[link=http://x]click[/link]" in paragraphs and "\x1b" not in paragraphs
        await pilot.press("l")
        await settle(app, pilot)
        lines = [app.screen.query_one("#queue-view").render_line(0)]
        text = "".join(seg.text for strip in lines for seg in strip)
        assert "\x1b" not in text and "\\x1b" in text


@pytest.mark.parametrize("size", [(100, 30), (200, 60)])
async def test_layout_works_at_small_and_large_sizes(tmp_path: Path, size: tuple[int, int]) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        body = app.screen.query_one("#record-body")
        assert body.size.width == size[0]
        assert app.screen.query_one("#record-right").size.width >= 30
        assert "Question" in rendered(app, "#record-qa")


async def test_eval_screen_pages_through_what_a_run_got_wrong(tmp_path: Path) -> None:
    from curator.answer_format import render_target
    from curator.store.predictions import NewPrediction, append_predictions, ensure_run

    store = await make_store(tmp_path)
    with store.connection() as con:
        rows = con.execute(
            "SELECT uid, CAST(answer AS VARCHAR), scale FROM records ORDER BY seq"
        ).fetchall()
    uids = [r[0] for r in rows]
    ensure_run(store, "base", source="import")
    # Three wrong answers, one question unanswered (scored 0 too), the rest right.
    answers = ["wrong answer"] * 3 + [render_target(json.loads(a), s) for _, a, s in rows[3:]]
    append_predictions(
        store,
        "base",
        [
            NewPrediction(u, "", t, output_tokens=3)
            for u, t in zip(uids[:-1], answers[:-1], strict=True)
        ],
    )
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        assert "TAT-QA F1" in rendered(app, "#eval-table")
        assert "base: 4 questions not exactly right" in rendered(app, "#eval-run")
        first = rendered(app, "#eval-detail")
        assert "wrong answer" in first and "Gold (curated)" in first
        await pilot.press("down")
        await pilot.pause()
        assert rendered(app, "#eval-detail") != first
        await pilot.press("enter")  # opens the highlighted wrong record for review
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert current_uid(app) == uids[1]
        await pilot.press("a")
        await settle(app, pilot)
    assert [e[1:3] for e in events(store)] == [(uids[1], "accept")]
