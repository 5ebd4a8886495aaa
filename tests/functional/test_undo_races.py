"""`u` pressed twice in a burst in a fresh session (keys typed while a browser session starts
arrive together): each press undoes one decision, never the same one twice."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest

from curator.screens.app import CuratorApp
from curator.store import reviews
from curator.store.reviews import decide
from tests.functional.test_review_tui import SIZE, events, make_store, settle, wait_until


async def test_two_quick_undos_in_a_new_session_undo_two_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in a team walk through `curator serve`: a session started after the reviewer's
    earlier one (its decisions are in the store, not in the session) got `u u` in one burst;
    both presses read the same latest decision and undid it twice (`curator check`: "events
    undone more than once"), and the decision before it stayed. The two reads are made to
    meet here (a barrier), as they did on the loaded machine."""
    store = await make_store(tmp_path)
    with store.connection() as con:
        first, second = (
            r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq LIMIT 2").fetchall()
        )
    decide(store, first, "accept", "ana")
    decide(store, second, "reject", "ana", reason="wrong figure")
    meet = threading.Barrier(2, timeout=3)
    real = reviews.recent_decisions

    def reading_together(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        # A second read of the same moment, if there is one (none: the reads take turns).
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait()
        return found

    monkeypatch.setattr(reviews, "recent_decisions", reading_together)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("u", "u")
        await settle(app, pilot)
    undos = [e for e in events(store) if e[2] == "undo"]
    assert len(undos) == 2
    decided = {e[0]: e[1] for e in events(store) if e[2] != "undo"}
    assert sorted(decided[e[6]] for e in undos) == sorted([first, second])


async def test_an_undo_from_the_store_waits_for_the_session_s_own_undo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in the same walk (a loaded machine, keys arriving together): the first `u` undid
    this session's decision through the writer; the second, with no session decision left,
    read the store's latest decision before the writer had journaled that undo, and undid
    the same decision again instead of the one before it (from an earlier session)."""
    store = await make_store(tmp_path)
    with store.connection() as con:
        earlier = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1").fetchone()
    assert earlier is not None
    decide(store, earlier[0], "accept", "ana")  # an earlier session's decision
    meet = threading.Barrier(2, timeout=3)
    real_read, real_undo = reviews.recent_decisions, reviews.undo

    def reading(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait()  # while the writer is about to journal the session's undo
        return real_read(*args, **kwargs)

    def undoing(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("wait") is False:  # the writer: the session's own undo
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait()
        return real_undo(*args, **kwargs)

    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")  # this session's decision (not the earlier one's record)
        await settle(app, pilot)
        monkeypatch.setattr(reviews, "recent_decisions", reading)
        monkeypatch.setattr(reviews, "undo", undoing)
        await pilot.press("u", "u")
        await settle(app, pilot)
    stored = events(store)
    decided = {e[0]: e[1] for e in stored if e[2] == "accept"}
    undone = [decided[e[6]] for e in stored if e[2] == "undo"]
    assert len(decided) == 2 and sorted(undone) == sorted(decided.values())


async def test_an_undo_read_from_the_store_and_the_session_s_own_never_revert_one_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order, also seen in the walk: `a u u` arriving together. The first `u` came
    before the accept's saved message, so it read the store and found the accept as the
    latest; the second found the accept in the session and undid it through the writer. Both
    reverted the accept (the store's own check saw the other only when it was stored first)
    and the decision before it stayed. Here the first undo is held between its read and its
    write while the second is made."""
    store = await make_store(tmp_path)
    with store.connection() as con:
        earlier = con.execute("SELECT uid FROM records ORDER BY seq LIMIT 1").fetchone()
    assert earlier is not None
    decide(store, earlier[0], "accept", "ana")  # an earlier session's decision
    read, go = threading.Event(), threading.Event()
    real_undo = reviews.undo

    def held(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("wait", True):  # the undo read from the store: it has chosen
            read.set()
            go.wait(timeout=5)
        return real_undo(*args, **kwargs)

    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        accept = app.session_events.pop()  # as if its saved message had not come yet
        monkeypatch.setattr(reviews, "undo", held)
        app.undo()  # from the store: it finds the accept
        await wait_until(pilot, read.is_set, "chose a decision to undo")
        app.session_events.append(accept)  # the saved message arrives
        app.undo()  # from the session
        go.set()
        await settle(app, pilot)
    stored = events(store)
    decided = {e[0]: e[1] for e in stored if e[2] == "accept"}
    undone = [decided[e[6]] for e in stored if e[2] == "undo"]
    assert len(decided) == 2 and sorted(undone) == sorted(decided.values())


async def test_u_right_after_a_undoes_that_decision_even_before_it_is_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in the walk (`a u` arriving together on a loaded machine): `u` came while the
    accept was still in the writer, before its saved message, so it took the session's
    decision before that one: an unrelated record was undone and the accept stayed. The
    writer is held here while `u` is pressed."""
    store = await make_store(tmp_path)
    hold = threading.Event()
    real_decide = reviews.decide

    def slow(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("wait") is False:  # the writer journaling a decision
            hold.wait(timeout=5)
        return real_decide(*args, **kwargs)

    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")  # an earlier decision of this session, durable
        await settle(app, pilot)
        monkeypatch.setattr(reviews, "decide", slow)
        await pilot.press("a")
        await wait_until(pilot, lambda: app.writer_running, "handed the accept to the writer")
        await pilot.press("u")
        await pilot.pause()
        hold.set()
        await settle(app, pilot)
    stored = events(store)
    accepts = [e for e in stored if e[2] == "accept"]
    undos = [e for e in stored if e[2] == "undo"]
    assert len(accepts) == 2 and [u[6] for u in undos] == [accepts[1][0]]
