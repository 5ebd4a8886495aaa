"""Notes and flags in the store: a note is history, never a decision; a flag is a status until
someone decides the record, undoable, filterable, and never exported or counted as a verdict."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from curator.domain import CuratorError, RecordFilter
from curator.judges.factory import JudgeChoice, make_judge
from curator.settings import Config
from curator.store import Store
from curator.store.exports import curated_records
from curator.store.records import count, stats
from curator.store.reviews import (
    Progress,
    add_note,
    agreement_counts,
    decide,
    progress,
    recent_decisions,
    record_detail,
    reviewer_pair_counts,
    undo,
)
from curator.store.verdicts import append_verdicts, work_item
from tests.builders import import_sample_train, legacy_sample_store
from tests.templates import store_copy


@pytest.fixture
def sample(tmp_path: Path) -> Store:
    """sample_train.json imported: a copy of a store built once per process (tests/templates)."""
    return Store.open(store_copy("sample-train", import_sample_train, tmp_path / "notes.duckdb"))


def _uids(store: Store, n: int) -> list[str]:
    with store.connection() as con:
        rows = con.execute("SELECT uid FROM records ORDER BY seq LIMIT ?", [n]).fetchall()
    return [r[0] for r in rows]


def _status(store: Store, uid: str) -> str:
    detail = record_detail(store, uid)
    assert detail is not None
    return detail.status


def test_a_note_is_in_the_history_and_changes_no_status(sample: Store) -> None:
    a, b = _uids(sample, 2)
    decide(sample, a, "accept", "ana")
    event = add_note(sample, a, "bo", "  figures checked against the 10-K  ")
    assert event.event_id > 0 and event.action == "note"
    detail = record_detail(sample, a)
    assert detail is not None
    assert detail.status == "accepted"  # the note after the accept is not a decision
    notes = [e for e in detail.events if e.action == "note"]
    assert [(n.reviewer, n.note) for n in notes] == [("bo", "figures checked against the 10-K")]
    add_note(sample, b, "bo", "ask the team about the scale")
    assert _status(sample, b) == "pending"
    # Not offered to undo, not a conflict, not a decision of its author.
    assert recent_decisions(sample, "bo") == []
    assert count(sample, RecordFilter(conflicts=True)) == 0


def test_a_note_needs_text_and_a_record(sample: Store) -> None:
    (a,) = _uids(sample, 1)
    with pytest.raises(CuratorError, match="needs some text"):
        add_note(sample, a, "ana", "   ")
    with pytest.raises(CuratorError, match="no record"):
        add_note(sample, "no-such-uid", "ana", "hello")
    with pytest.raises(CuratorError, match="at most"):
        add_note(sample, a, "ana", "x" * 5000)


def test_a_flag_is_a_status_until_decided_and_undoable(sample: Store) -> None:
    a, b, c = _uids(sample, 3)
    decide(sample, a, "accept", "ana")
    flag = decide(sample, a, "flag", "ana", reason="is the scale right?")
    decide(sample, b, "flag", "ana")
    assert _status(sample, a) == "flagged"
    assert count(sample, RecordFilter(statuses=("flagged",))) == 2
    assert stats(sample).statuses["flagged"] == 2
    # Flagged is not reviewed yet: progress counts only the decided.
    assert progress(sample, "ana") == Progress(total=count(sample), reviewed=0, by_reviewer=0)
    # Flagged records are not accepted: export leaves them out.
    exported = {r.uid for r in curated_records(sample)}
    assert a not in exported and b not in exported
    # The flag is a decision of its reviewer: undo brings back the accept.
    assert [e.action for e in recent_decisions(sample, "ana")] == ["flag", "flag", "accept"]
    undo(sample, flag.event_id, "ana")
    assert _status(sample, a) == "accepted"
    assert a in {r.uid for r in curated_records(sample)}
    # Deciding a flagged record ends the flag.
    decide(sample, b, "reject", "bo", reason="duplicate")
    assert _status(sample, b) == "rejected"
    assert count(sample, RecordFilter(statuses=("flagged",))) == 0
    # A flag by one reviewer against another's accept is no conflict.
    decide(sample, c, "accept", "ana")
    decide(sample, c, "flag", "bo")
    assert _status(sample, c) == "flagged"
    assert count(sample, RecordFilter(conflicts=True)) == 0


def test_flags_and_notes_are_no_verdicts_for_agreement(sample: Store) -> None:
    a, b = _uids(sample, 2)
    judge = make_judge(JudgeChoice("rules"), Config())
    items = [work_item(sample, u) for u in (a, b)]
    verdicts = [asyncio.run(judge.run(item)) for item in items if item is not None]
    append_verdicts(sample, judge.key, "test", verdicts)
    decide(sample, a, "flag", "ana")
    decide(sample, b, "accept", "ana")
    decide(sample, b, "accept", "bo")
    add_note(sample, b, "bo", "fine")
    counts = agreement_counts(sample)
    assert sum(counts.cells.values()) + sum(counts.abstained.values()) == 1  # b only
    pairs = reviewer_pair_counts(sample)
    assert pairs == {("ana", "bo"): {("correct", "correct"): 1}}


def test_stores_from_before_notes_migrate_with_their_events(tmp_path: Path) -> None:
    from curator.store.db import bundled_migrations

    path = tmp_path / "old.duckdb"
    store = legacy_sample_store(path, "notes_flags")
    assert store.schema_version() == 11
    a, b = _uids(store, 2)
    decide(store, a, "accept", "ana")
    edit = decide(store, b, "edit", "ana", edited={"question": "What now?"})
    store.close()
    migrated = Store.open(path)
    assert migrated.schema_version() == bundled_migrations()[-1].version
    assert _status(migrated, a) == "accepted"
    detail = record_detail(migrated, b)
    assert detail is not None and detail.status == "edited" and detail.question == "What now?"
    assert [e.event_uid for e in detail.events] == [edit.event_uid]
    add_note(migrated, a, "ana", "after the migration")
    assert _status(migrated, a) == "accepted"
