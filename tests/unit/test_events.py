"""Review events: ids that cannot collide (enforced by the schema), undo naming exactly its
event, the migration that repairs stores written before, and `check` finding collisions."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from curator.store import Store
from curator.store.check import check
from curator.store.ids import new_event_uid
from curator.store.reviews import decide, undo
from tests.builders import import_sample_train, legacy_sample_store
from tests.templates import store_copy


@pytest.fixture
def sample(tmp_path: Path) -> Store:
    """sample_train.json imported: a copy of a store built once per process (tests/templates)."""
    return Store.open(store_copy("sample-train", import_sample_train, tmp_path / "events.duckdb"))


def _uids(store: Store, n: int) -> list[str]:
    with store.connection() as con:
        rows = con.execute("SELECT uid FROM records ORDER BY seq LIMIT ?", [n]).fetchall()
    return [r[0] for r in rows]


def test_uids_are_unique_and_ordered_within_a_process() -> None:
    made = [new_event_uid() for _ in range(5000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)


def test_parallel_decisions_of_one_process_never_share_an_id(sample: Store) -> None:
    records = _uids(sample, 40)
    acked: list[tuple[int, str, str]] = []
    errors: list[str] = []

    def reviewer(part: list[str]) -> None:
        store = Store(sample.path)  # as TUI workers do: their own Store object, one process
        for uid in part:
            try:
                event = decide(store, uid, "accept", "ana")
            except Exception as exc:
                errors.append(str(exc))
                continue
            acked.append((event.event_id, event.event_uid, uid))

    threads = [threading.Thread(target=reviewer, args=(records[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sample.connection() as con:
        stored = set(
            con.execute("SELECT event_id, event_uid, record_uid FROM review_events").fetchall()
        )
    assert stored == set(acked) and len(stored) == 40
    assert len({e for e, _, _ in stored}) == 40 and len({u for _, u, _ in stored}) == 40
    _, findings, _ = check(sample)
    assert sum(f.problems for f in findings) == 0


def test_the_schema_refuses_a_second_event_with_the_same_id(sample: Store) -> None:
    a, b = _uids(sample, 2)
    event = decide(sample, a, "accept", "ana")
    with pytest.raises(duckdb.ConstraintException), sample.transaction() as con:
        con.execute(
            "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
            "created_at) VALUES (?, 'other', ?, 'accept', 'bo', now()::TIMESTAMP)",
            [event.event_id, b],
        )
    with pytest.raises(duckdb.ConstraintException), sample.transaction() as con:
        con.execute(
            "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
            "created_at) VALUES (?, ?, ?, 'accept', 'bo', now()::TIMESTAMP)",
            [event.event_id + 100, event.event_uid, b],
        )


def test_undo_reverts_exactly_the_event_it_names(sample: Store) -> None:
    from curator.store.reviews import record_detail

    a, b = _uids(sample, 2)
    first = decide(sample, a, "accept", "ana")
    decide(sample, b, "reject", "ana", reason="wrong")
    reverted = undo(sample, None, "ana", event_uid=first.event_uid)
    assert reverted.undoes_uid == first.event_uid and reverted.undoes == first.event_id
    detail_a, detail_b = record_detail(sample, a), record_detail(sample, b)
    assert detail_a is not None and detail_b is not None
    assert (detail_a.status, detail_b.status) == ("pending", "rejected")
    assert [e.undone for e in detail_a.events] == [True, False]


def _legacy_store(path: Path) -> Store:
    """A store at the schema before unique events, with the collisions the old `max + 1` made."""
    return legacy_sample_store(path, "unique_events")


def test_the_migration_renumbers_collided_events_and_repoints_undos(tmp_path: Path) -> None:
    legacy = _legacy_store(tmp_path / "legacy.duckdb")
    a, b = _uids(legacy, 2)
    with legacy.transaction() as con:
        # Two writers took id 7 for different records; bo's undo of "7" meant his record, b.
        con.execute(
            "INSERT INTO review_events (event_id, record_uid, action, reviewer, created_at, "
            "undoes) VALUES (7, ?, 'accept', 'ana', now()::TIMESTAMP, NULL), "
            "(7, ?, 'accept', 'bo', now()::TIMESTAMP, NULL), "
            "(8, ?, 'undo', 'bo', now()::TIMESTAMP, 7)",
            [a, b, b],
        )
    store = Store.open(legacy.path)
    with store.connection() as con:
        rows = con.execute(
            "SELECT event_id, record_uid, action, undoes FROM review_events ORDER BY event_id"
        ).fetchall()
        states = dict(con.execute("SELECT record_uid, status FROM record_state").fetchall())
    assert [r[0] for r in rows] == [1, 2, 3]
    undo_row = rows[2]
    assert undo_row[2] == "undo" and rows[undo_row[3] - 1][1] == b
    assert states == {a: "accepted"}  # ana's acceptance is no longer lost
    _, findings, _ = check(store)
    assert sum(f.problems for f in findings) == 0


def test_check_says_what_to_do_about_an_undo_of_another_records_event(
    tmp_path: Path, run_cli: object
) -> None:
    legacy = _legacy_store(tmp_path / "legacy.duckdb")
    a, b = _uids(legacy, 2)
    with legacy.transaction() as con:
        # An old collision the migration cannot repair: the undo's own record has no event 7.
        con.execute(
            "INSERT INTO review_events (event_id, record_uid, action, reviewer, created_at, "
            "undoes) VALUES (7, ?, 'accept', 'ana', now()::TIMESTAMP, NULL), "
            "(8, ?, 'undo', 'bo', now()::TIMESTAMP, 7)",
            [a, b],
        )
    Store.open(legacy.path)
    result = run_cli("--db", legacy.path, "check")  # type: ignore[operator]
    assert result.code == 1
    assert "BAD undo events reverting another record's event: 1" in result.out
    assert "what to do: an undo names an event of another record" in result.out
