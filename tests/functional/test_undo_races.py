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
from tests.functional.test_review_tui import SIZE, events, make_store, settle


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
