"""Bulk decisions in the store: one batch of events sharing a batch id, only pending records the
panel agrees on (current version), undone as one, and nobody else's decision clobbered."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.domain import JudgeKey, NewVerdict, RecordFilter
from curator.store import Store
from curator.store.bulk import (
    BulkRefused,
    BulkSelection,
    batch_of,
    decide_bulk,
    preview,
    undo_batch,
)
from curator.store.importer import import_file
from curator.store.journal import journal_for
from curator.store.reviews import decide, record_detail
from curator.store.verdicts import append_verdicts, work_item
from tests.conftest import tiny_context, write_json

UIDS = [f"q{i}" for i in range(1, 9)]
RULES = JudgeKey("rules", "rules-v1", "p1")
OTHER = JudgeKey("anthropic", "claude", "p2")


def judge(store: Store, key: JudgeKey, verdicts: dict[str, str]) -> None:
    batch = []
    for uid, verdict in verdicts.items():
        item = work_item(store, uid)
        assert item is not None
        batch.append(NewVerdict(uid, item.record_hash, verdict))
    append_verdicts(store, key, "test", batch)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "bulk.duckdb", create=True)
    import_file(store, write_json(tmp_path / "f.json", [tiny_context("c", tuple(UIDS))]), "dev")
    # rules: q1-q6 correct, q7-q8 incorrect; anthropic agrees on q1-q4 only.
    judge(store, RULES, {u: "correct" if u <= "q6" else "incorrect" for u in UIDS})
    judge(store, OTHER, {u: "correct" if u <= "q4" else "incorrect" for u in UIDS})
    return store


def events(store: Store) -> list[tuple[int, str, str, str, str, int | None]]:
    with store.connection() as con:
        return [
            (int(r[0]), r[1], r[2], r[3], r[4], r[5])
            for r in con.execute(
                "SELECT event_id, event_uid, record_uid, action, reviewer, undoes "
                "FROM review_events ORDER BY event_id"
            ).fetchall()
        ]


def status(store: Store, uid: str) -> str:
    detail = record_detail(store, uid)
    assert detail is not None
    return detail.status


def test_a_batch_decides_the_pending_records_the_judge_calls_correct(store: Store) -> None:
    found = preview(store, BulkSelection("accept", ("rules",)))
    assert found.uids == tuple(UIDS[:6]) and found.count == 6 and found.already_decided == 0
    assert events(store) == []  # a preview writes nothing

    result = decide_bulk(store, found, "ana")
    assert (result.decided, result.skipped) == (6, 0)
    written = events(store)
    assert [e[2] for e in written] == UIDS[:6]
    assert all(e[3] == "accept" and e[4] == "ana" for e in written)
    # One batch: every event's uid is `<batch id>.<n>`; ids are consecutive and unique.
    assert {batch_of(e[1]) for e in written} == {result.batch_id}
    assert [e[0] for e in written] == list(range(written[0][0], written[0][0] + 6))
    assert all(status(store, u) == "accepted" for u in UIDS[:6])
    # The batch records the version each decision was about, as single decisions do.
    with store.connection() as con:
        hashes = con.execute("SELECT count(*) FROM review_events WHERE record_hash = ''").fetchone()
    assert hashes == (0,)


def test_a_panel_must_agree_and_reject_goes_with_incorrect(store: Store) -> None:
    panel = preview(store, BulkSelection("accept", ("rules", "anthropic")))
    assert panel.uids == ("q1", "q2", "q3", "q4")
    rejects = preview(store, BulkSelection("reject", ("rules", "anthropic")))
    assert rejects.uids == ("q7", "q8")
    result = decide_bulk(store, rejects, "ana", reason="both judges say wrong")
    assert result.decided == 2 and status(store, "q7") == "rejected"
    with store.connection() as con:
        reasons = con.execute("SELECT DISTINCT reason FROM review_events").fetchall()
    assert reasons == [("both judges say wrong",)]
    with pytest.raises(BulkRefused, match="goes with --verdict incorrect"):
        preview(store, BulkSelection("reject", ("rules",), "correct"))
    with pytest.raises(BulkRefused, match="'nobody' has no verdicts"):
        preview(store, BulkSelection("accept", ("rules", "nobody")))


def test_the_view_filter_and_decided_records_narrow_the_batch(store: Store) -> None:
    decide(store, "q2", "reject", "bo")
    found = preview(store, BulkSelection("accept", ("rules",), filt=RecordFilter(search="")))
    assert found.uids == ("q1", "q3", "q4", "q5", "q6") and found.already_decided == 1
    none = preview(store, BulkSelection("accept", ("rules",), filt=RecordFilter(splits=("x",))))
    assert none.count == 0 and none.already_decided == 0
    assert decide_bulk(store, none, "ana").decided == 0 and events(store)[-1][2] == "q2"


def test_a_verdict_on_an_older_version_does_not_count(store: Store) -> None:
    with store.connection() as con:  # as a re-import that changed the table does
        con.execute("UPDATE contexts SET revision = revision + 1")
    assert preview(store, BulkSelection("accept", ("rules",))).count == 0
    judge(store, RULES, {"q1": "correct"})  # judged again on the new version
    assert preview(store, BulkSelection("accept", ("rules",))).uids == ("q1",)


def test_records_decided_meanwhile_are_skipped_not_clobbered(store: Store) -> None:
    found = preview(store, BulkSelection("accept", ("rules",)))
    # After the count, before the write: another reviewer rejects q3 (through the journal, not
    # yet in the store), and a new verdict calls q4 incorrect.
    decide(store, "q3", "reject", "bo", wait=False)
    judge(store, RULES, {"q4": "incorrect"})
    result = decide_bulk(store, found, "ana")
    assert (result.decided, result.skipped) == (4, 2)
    assert result.statuses["q3"] == "rejected" and result.statuses["q4"] == "pending"
    assert status(store, "q3") == "rejected" and status(store, "q4") == "pending"
    assert [e[2] for e in events(store) if e[4] == "ana"] == ["q1", "q2", "q5", "q6"]
    assert journal_for(store).unsaved == 0


def test_undo_reverts_the_batch_as_one_and_keeps_later_decisions(store: Store) -> None:
    result = decide_bulk(store, preview(store, BulkSelection("accept", ("rules",))), "ana")
    decide(store, "q2", "reject", "bo")  # someone decides a record of the batch afterwards
    before = events(store)
    single = next(e for e in before if e[2] == "q5")
    from curator.store.reviews import undo

    undo(store, single[0], "ana")  # one event of the batch undone on its own
    done = undo_batch(store, result.batch_id, "cy")
    assert (done.undone, done.already_undone, done.decided_later) == (5, 1, 1)
    undos = [e for e in events(store) if e[3] == "undo" and e[4] == "cy"]
    assert len(undos) == 5 and {batch_of(e[1]) for e in undos} == {done.undo_batch_id}
    assert sorted(e[5] for e in undos if e[5] is not None) == sorted(
        e[0] for e in before if e[4] == "ana" and e[2] != "q5"
    )
    assert status(store, "q2") == "rejected"  # bo's later decision stands
    assert done.statuses["q2"] == "rejected"
    assert all(status(store, u) == "pending" for u in ("q1", "q3", "q4", "q5", "q6"))
    with pytest.raises(BulkRefused, match="already undone"):
        undo_batch(store, result.batch_id, "cy")
    with pytest.raises(BulkRefused, match="is itself an undo"):
        undo_batch(store, done.undo_batch_id, "cy")
    with pytest.raises(BulkRefused, match="no batch"):
        undo_batch(store, "12345", "cy")


def test_batch_of_names_only_batch_members() -> None:
    assert batch_of("17329118452310000-1a2b3c4d.000000007") == "17329118452310000-1a2b3c4d"
    assert batch_of("17329118452310000-1a2b3c4d") is None
    assert batch_of("legacy-000000000012") is None


def test_a_batch_and_single_decisions_at_once_lose_nothing(tmp_path: Path) -> None:
    import threading

    store = Store.open(tmp_path / "many.duckdb", create=True)
    uids = [f"m{i}" for i in range(60)]
    import_file(store, write_json(tmp_path / "m.json", [tiny_context("m", tuple(uids))]), "dev")
    judge(store, RULES, {u: "correct" for u in uids[:40]})
    found = preview(store, BulkSelection("accept", ("rules",)))
    errors: list[str] = []

    def singles() -> None:
        other = Store(store.path)  # another writer of the same process, as a TUI worker
        for uid in uids[30:60]:  # 10 of them are in the batch too
            try:
                decide(other, uid, "reject", "bo", wait=uid.endswith("5"))
            except Exception as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=singles)
    thread.start()
    result = decide_bulk(store, found, "ana")
    thread.join()
    assert journal_for(store).wait_stored(timeout=60)  # 60 s only bounds a hang
    assert errors == []
    written = events(store)
    assert len({e[0] for e in written}) == len({e[1] for e in written}) == len(written)
    bo = [e[2] for e in written if e[4] == "bo"]
    ana = [e[2] for e in written if e[4] == "ana"]
    assert sorted(bo) == sorted(uids[30:60]) and len(ana) == result.decided
    # Where both decided a record, the batch either came first (both kept: a conflict) or
    # skipped it; every record decided by bo shows bo's decision or a recorded conflict.
    assert set(ana) <= set(uids[:40]) and result.decided + result.skipped == 40
    for uid in uids[30:40]:
        detail = record_detail(store, uid)
        assert detail is not None and (detail.status == "rejected" or detail.conflict)
