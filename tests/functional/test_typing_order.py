"""Keys that arrive in one read (a fast typist, keystrokes batched by a slow SSH link) are
applied in the order they were typed, in every text field a reviewer types into.

Textual runs a field's bound keys (backspace, arrows, ctrl+u) only after they bubble up to the
app, while it inserts characters at once: `abc⌫def` in one burst became `abcde` (Textual issue
6605). The keys here are sent as `type_burst` sends them: all queued before any is handled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.screen import ModalScreen
from textual.widgets import Input, TextArea

from curator.screens.app import CuratorApp
from curator.screens.edit import EditScreen
from curator.store.reviews import record_detail
from tests.functional.test_edit_panel import first_uid, open_edit
from tests.functional.test_review_tui import events as review_events
from tests.functional.test_review_tui import make_store, send_burst, settle

SIZE = (120, 36)


def burst(text: str) -> list[tuple[str, str | None]]:
    """Eight characters typed as: three, backspace, three, left, one, ctrl+u (clears what is
    left of the cursor), one. `burst("abcdefXY")` is "abc⌫def←X^uY", which a terminal line
    editor makes "abdef", "abdeXf", "Yf": what `typed` says."""
    assert len(text) == 8
    keys: list[tuple[str, str | None]] = [(c, c) for c in text[:3]]
    keys += [("backspace", None), *[(c, c) for c in text[3:6]], ("left", None)]
    keys += [(text[6], text[6]), ("ctrl+u", None), (text[7], text[7])]
    return keys


def typed(text: str) -> str:
    return text[7] + text[5]


async def test_a_search_typed_with_corrections_in_one_burst_is_what_was_typed(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        field = app.screen.query_one("#search-input", Input)
        assert field.has_focus
        field.value = ""
        send_burst(app, burst("abcdefXY"))
        await settle(app, pilot)
        assert field.value == "Yf"


async def test_an_answer_and_a_question_edited_in_one_burst_are_saved_as_typed(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=(100, 30)) as pilot:
        uid = first_uid(store, "arithmetic")
        screen = await open_edit(app, pilot, uid)
        answer = screen.query_one("#edit-answer")
        question = screen.query_one("#edit-question")
        for field, text in ((answer, "12345678"), (question, "abcdefXY")):
            field.focus()
            await settle(app, pilot)
            if isinstance(field, TextArea):
                field.text = ""
            else:
                assert isinstance(field, Input)
                field.value = ""
            send_burst(app, burst(text))
            await settle(app, pilot)
            value = field.text if isinstance(field, TextArea) else field.value
            assert value == typed(text), field.id
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        if isinstance(app.screen, ModalScreen):  # the derivation no longer matches: keep it
            await pilot.press("y")
            await settle(app, pilot)
        assert not isinstance(app.screen, EditScreen)
    detail = record_detail(store, uid)
    assert detail is not None
    assert (detail.question, detail.answer) == ("Yf", 86)


async def test_a_reject_reason_typed_with_corrections_in_one_burst_is_saved_as_typed(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    app: Any = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        other = app.screen.query_one("#reject-other", Input)
        other.focus()
        await settle(app, pilot)
        send_burst(app, burst("abcdefXY"))
        await settle(app, pilot)
        assert other.value == "Yf"
        await pilot.press("enter")
        await settle(app, pilot)
    assert [e[4] for e in review_events(store) if e[2] == "reject"] == ["Yf"]


async def test_a_question_pasted_over_several_lines_is_kept_whole_on_one_line(
    tmp_path: Path,
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=(100, 30)) as pilot:
        uid = first_uid(store, "arithmetic")
        screen = await open_edit(app, pilot, uid)
        question = screen.query_one("#edit-question", Input)
        question.focus()
        question.value = ""
        await settle(app, pilot)
        # As a terminal delivers a bracketed paste: one event with the whole text.
        question.post_message(
            events.Paste("What was the change in\r\n  revenue between\n\n2018 and 2019?\n")
        )
        await settle(app, pilot)
        assert question.value == "What was the change in revenue between 2018 and 2019?"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        if isinstance(app.screen, ModalScreen):
            await pilot.press("y")
            await settle(app, pilot)
    detail = record_detail(store, uid)
    assert detail is not None
    assert detail.question == "What was the change in revenue between 2018 and 2019?"


async def test_tab_typed_in_a_burst_moves_on_before_the_next_characters(tmp_path: Path) -> None:
    """`12⇥34`: 12 ends the answer, 34 goes to the next field (it went into the answer)."""
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=(100, 30)) as pilot:
        uid = first_uid(store, "arithmetic")
        screen = await open_edit(app, pilot, uid)
        answer = screen.query_one("#edit-answer", TextArea)
        derivation = screen.query_one("#edit-derivation", Input)
        answer.focus()
        answer.text = ""
        derivation.value = ""
        await settle(app, pilot)
        send_burst(app, [("1", "1"), ("2", "2"), ("tab", None), ("3", "3"), ("4", "4")])
        await settle(app, pilot)
        assert (answer.text, derivation.value) == ("12", "34")
        assert derivation.has_focus
