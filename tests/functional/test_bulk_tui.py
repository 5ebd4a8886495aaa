"""The bulk-decision dialog (B) and J on an already judged record, driven by Textual's Pilot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from curator.screens.app import CuratorApp
from curator.screens.bulk import BulkScreen, ConfirmBulkScreen
from curator.store import Store
from curator.store.bulk import BulkSelection, batch_of, preview
from tests.functional.test_review_tui import SIZE, current_uid, make_store, rendered, settle


def decisions(store: Store) -> list[tuple[str, str, str]]:
    with store.connection() as con:
        rows = con.execute(
            "SELECT event_uid, record_uid, action FROM review_events ORDER BY event_id"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def notes_of(app: CuratorApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every notification the app shows, as text."""
    notes: list[str] = []
    shown = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        notes.append(str(message))
        shown(message, **kwargs)

    monkeypatch.setattr(app, "notify", notify)
    return notes


async def test_bulk_accept_shows_the_count_confirms_and_undoes_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path)
    expected = preview(store, BulkSelection("accept", ("rules",)))
    assert expected.count > 10  # the sample's rules judge calls most records correct
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        await pilot.press("B")
        await settle(app, pilot)
        assert isinstance(app.screen, BulkScreen)
        count = rendered(app, "#bulk-count")
        assert f"{expected.count:,} pending records of this view where rules says correct" in count
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmBulkScreen)
        assert f"Accept {expected.count:,} records?" in str(
            app.screen.query_one("#bulk-question").render()
        )
        await pilot.press("y")
        await settle(app, pilot)
        written = decisions(store)
        assert len(written) == expected.count
        assert [w[1] for w in written] == list(expected.uids)
        assert {w[2] for w in written} == {"accept"}
        assert len({batch_of(w[0]) for w in written}) == 1
        assert all(r.status == "accepted" for r in app.queue.rows if r.uid in expected.uids)
        n = expected.count
        assert f"Accepted {n:,} records as one batch; u undoes the whole batch." in notes
        # u undoes the whole batch, not only its last record.
        await pilot.press("u")
        await settle(app, pilot)
        undone = decisions(store)[len(written) :]
        assert len(undone) == expected.count and {u[2] for u in undone} == {"undo"}
        assert all(r.status == "pending" for r in app.queue.rows)
        assert f"Undone: the batch of {n:,} decisions." in notes


async def test_bulk_of_one_record_says_so_in_the_singular(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curator.store.reviews import record_detail

    store = await make_store(tmp_path)
    one = preview(store, BulkSelection("accept", ("rules",))).uids[0]
    detail = record_detail(store, one)
    assert detail is not None
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#search-input").value = detail.question  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(app, pilot)
        assert [r.uid for r in app.queue.rows] == [one]
        await pilot.press("B")
        await settle(app, pilot)
        assert "1 pending record of this view where" in rendered(app, "#bulk-count")
        await pilot.press("c")
        await settle(app, pilot)
        assert "Accept 1 record?" in str(app.screen.query_one("#bulk-question").render())
        assert rendered(app, "#bulk-batch").startswith("It is written as one batch")
        await pilot.press("y")
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
    assert "Accepted 1 record as one batch; u undoes the whole batch." in notes
    assert "Undone: the batch of 1 decision." in notes
    assert [d[2] for d in decisions(store)] == ["accept", "undo"]


async def test_cancel_at_either_step_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        await pilot.press("B")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, BulkScreen)
        await pilot.press("B")
        await settle(app, pilot)
        await pilot.press("r")  # reject what the judges call incorrect
        await settle(app, pilot)
        assert "where rules says incorrect" in rendered(app, "#bulk-count")
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmBulkScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert "Bulk decision cancelled: nothing was written." in notes
    assert decisions(store) == []


async def test_bulk_is_refused_in_blind_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana", blind=True)
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        await pilot.press("B")
        await settle(app, pilot)
        assert not isinstance(app.screen, BulkScreen)
        assert any("blind review hides" in n for n in notes)


async def test_judge_now_does_not_repeat_a_stored_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path, judged=False)
    app = CuratorApp(store, reviewer="ana", judge_choice=None)
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app, monkeypatch)
        await settle(app, pilot)
        uid = current_uid(app)
        await pilot.press("J")
        await settle(app, pilot)
        assert "rules:" in rendered(app, "#record-verdicts")
        await pilot.press("J")  # the same judge, prompt and record version again
        await settle(app, pilot)
        assert any("already judged this version" in n and "unchanged" in n for n in notes)
    with store.connection() as con:
        rows = con.execute("SELECT record_uid, judge FROM verdicts").fetchall()
    assert rows == [(uid, "rules")]


async def test_judge_now_after_a_pass_adds_nothing(tmp_path: Path) -> None:
    store = await make_store(tmp_path)  # the rules judge has judged every record
    with store.connection() as con:
        before = con.execute("SELECT count(*) FROM verdicts").fetchone()
    app = CuratorApp(store, reviewer="ana", judge_choice=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("J")
        await settle(app, pilot)
    with store.connection() as con:
        assert con.execute("SELECT count(*) FROM verdicts").fetchone() == before


@pytest.mark.parametrize(
    ("uids", "decided", "expected"),
    [
        (
            ("q1",),
            1,
            "1 pending record of this view where rules says correct\n"
            "1 more is already decided and is left as it is.",
        ),
        (
            ("q1", "q2"),
            3,
            "2 pending records of this view where rules says correct\n"
            "3 more are already decided and are left as they are.",
        ),
    ],
)
def test_bulk_dialog_counts_take_their_number(
    uids: tuple[str, ...], decided: int, expected: str
) -> None:
    """The dialog's count line says "1 pending record … 1 more is", never "record(s)"."""
    from curator.screens.bulk import describe
    from curator.store.bulk import BulkPreview

    found = BulkPreview(BulkSelection("accept", ("rules",)).checked(), uids, decided)
    assert describe(found).plain == expected
