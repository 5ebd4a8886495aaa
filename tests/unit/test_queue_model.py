"""The review queue's paging and cursor, without a UI (screens/queue_model.py)."""

from __future__ import annotations

from curator.domain import RecordFilter
from curator.screens.queue_model import QueueModel, Step
from curator.store.reviews import QueueRow


def rows(start: int, n: int) -> list[QueueRow]:
    return [QueueRow(seq=i, rank=0, uid=f"r{i}", status="pending", answer_type="span",
                     split="dev", question=f"q{i}") for i in range(start, start + n)]  # fmt: skip


def view(first: list[QueueRow], *, at_start: bool = True, page: int = 3) -> QueueModel:
    return QueueModel(page_size=page).new_view(RecordFilter(), "store", first, at_start=at_start)


def test_a_new_view_starts_on_its_first_row_and_knows_whether_more_follow() -> None:
    q = view(rows(0, 3))
    assert q.current is not None and q.current.uid == "r0" and q.generation == 1
    assert not q.exhausted_after and q.exhausted_before
    short = view(rows(0, 2))
    assert short.exhausted_after
    empty = view([])
    assert empty.current is None and empty.index == -1
    assert empty.step(1) is Step.AT_END and empty.step(-1) is Step.AT_START
    assert view(rows(0, 3)).new_view(RecordFilter(), "store", [], at_start=True).generation == 2


def test_moving_past_the_loaded_rows_loads_the_next_page_then_moves() -> None:
    q = view(rows(0, 3))
    assert q.step(1) is Step.MOVED and q.step(1) is Step.MOVED and q.index == 2
    assert q.step(1) is Step.LOAD_AFTER and q.index == 2 and q.advance_pending
    assert q.add_page_after(rows(2, 3)) is True  # r2 again (a row moved): kept once
    assert [r.uid for r in q.rows] == ["r0", "r1", "r2", "r3", "r4"]
    assert q.step(1) is Step.MOVED and q.current is not None and q.current.uid == "r3"
    assert q.add_page_after(rows(5, 1)) is False and q.exhausted_after
    q.index = len(q.rows) - 1
    assert q.step(1) is Step.AT_END


def test_moving_before_the_loaded_rows_loads_the_previous_page() -> None:
    q = view(rows(3, 3), at_start=False)
    assert q.step(-1) is Step.LOAD_BEFORE and q.index == 0
    assert q.add_page_before(rows(0, 3)) is True
    assert q.current is not None and q.current.uid == "r3"  # the cursor stays on its row
    assert not q.exhausted_before
    assert q.step(-1) is Step.MOVED and q.current is not None and q.current.uid == "r2"
    assert q.add_page_before([]) is False and q.exhausted_before
    q.index = 0
    assert q.step(-1) is Step.AT_START


def test_prefetch_select_and_statuses() -> None:
    q = QueueModel(page_size=20).new_view(RecordFilter(), "store", rows(0, 20), at_start=True)
    assert not q.wants_next_page()
    q.index = 12
    assert q.wants_next_page()
    assert q.select("r5") and q.index == 5
    assert not q.select("absent") and q.index == 5
    q.set_statuses({"r5": "accepted", "absent": "rejected"})
    assert q.rows[5].status == "accepted" and q.rows[4].status == "pending"
