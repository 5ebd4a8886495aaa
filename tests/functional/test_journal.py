"""Decisions through the journal: durable at once, stored without waiting for anyone's turn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curator.screens.app import CuratorApp
from curator.store import Store
from curator.store.journal import FOLD_GATHER_S, fold, journal_dir, journal_for
from curator.store.reviews import decide, record_detail, undo
from tests.builders import hold_store, import_sample_train, release, write_transactions
from tests.conftest import ROOT
from tests.templates import store_copy

JOURNALER = """
import sys
from curator.store import Store
from curator.store.reviews import decide
store = Store(sys.argv[1])
for uid, rhash in zip(sys.argv[2::2], sys.argv[3::2]):
    event = decide(store, uid, "accept", "killed", record_hash=rhash, wait=False)
    print("ack", event.event_uid, flush=True)
print("all", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """sample_train.json imported: a copy of a store built once per process (tests/templates)."""
    return store_copy("sample-train", import_sample_train, tmp_path / "journal.duckdb")


def _hashes(db: Path, n: int) -> list[tuple[str, str]]:
    out = []
    with Store(db).connection() as con:
        uids = [
            r[0]
            for r in con.execute("SELECT uid FROM records ORDER BY seq LIMIT ?", [n]).fetchall()
        ]
    for uid in uids:
        detail = record_detail(Store(db), uid)
        assert detail is not None
        out.append((uid, detail.record_hash))
    return out


def _stored(db: Path) -> dict[str, tuple[str, str]]:
    with Store(db, lock_timeout=30).connection() as con:
        rows = con.execute("SELECT event_uid, record_uid, action FROM review_events").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_decision_is_acknowledged_while_another_process_holds_the_store(db: Path) -> None:
    records = _hashes(db, 5)
    store = Store(db, lock_timeout=30)
    holder = hold_store(db)
    try:
        events = [
            decide(store, uid, "accept", "ana", record_hash=rhash, wait=False)
            for uid, rhash in records
        ]
        # All five acknowledged (durable in the journal) while the file was still taken.
        assert holder.poll() is None
        journal = journal_for(store)
        assert journal.unsaved == 5
        lines = b"".join(p.read_bytes() for p in journal_dir(db).glob("*.jsonl"))
        assert all(e.event_uid.encode() in lines for e in events)
    finally:
        release(holder)
    assert journal.wait_stored(timeout=60)
    stored = _stored(db)
    assert {e.event_uid: (e.record_uid, "accept") for e in events}.items() <= stored.items()
    # Stored in the order they were made, with consecutive ids.
    with store.connection() as con:
        order = [
            r[0]
            for r in con.execute("SELECT event_uid FROM review_events ORDER BY event_id").fetchall()
        ]
    assert order == [e.event_uid for e in events]


def test_an_undo_through_the_journal_names_exactly_its_event(db: Path) -> None:
    (a, ha), (b, hb) = _hashes(db, 2)
    store = Store(db)
    first = decide(store, a, "reject", "ana", reason="wrong", record_hash=ha, wait=False)
    decide(store, b, "accept", "ana", record_hash=hb, wait=False)
    reverted = undo(store, None, "ana", event_uid=first.event_uid, record_uid=a, wait=False)
    assert journal_for(store).wait_stored(timeout=60)
    da, db_ = record_detail(store, a), record_detail(store, b)
    assert da is not None and db_ is not None
    assert (da.status, db_.status) == ("pending", "accepted")
    assert [(e.event_uid, e.undoes_uid) for e in da.events][-1] == (
        reverted.event_uid,
        first.event_uid,
    )


def test_a_killed_process_s_journaled_decisions_are_stored_by_the_next_open(db: Path) -> None:
    records = _hashes(db, 4)
    holder = hold_store(db)  # nobody can store anything: the decisions live only in the journal
    args = [x for pair in records for x in pair]
    proc = subprocess.Popen(
        [sys.executable, "-c", JOURNALER, str(db), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    acked = []
    for line in proc.stdout:
        if line.startswith("all"):
            break
        acked.append(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)  # killed: only bounds a hang
    release(holder)
    assert len(acked) == 4
    Store.open(db)  # opening stores what the dead process journaled, and removes its journal
    stored = _stored(db)
    assert set(acked) <= set(stored)
    assert not any(p.stat().st_size for p in journal_dir(db).glob("*.jsonl"))


SESSION_JOURNALER = """
import sys
from curator.store import Store
from curator.store.reviews import decide
store = Store(sys.argv[1])
store.open_session()
for uid, rhash in zip(sys.argv[2::2], sys.argv[3::2]):
    event = decide(store, uid, "accept", "quitter", record_hash=rhash, wait=False)
    print("ack", event.event_uid, flush=True)
store.close()
print("closed", flush=True)
"""


def test_a_closed_session_s_decisions_are_stored_while_its_process_lives(db: Path) -> None:
    """`Store.close` ends a session's hold on the file, not the process's journal: decisions
    still waiting for a turn are neither dropped nor waited for, and the folder stores them."""
    records = _hashes(db, 3)
    store = Store(db, lock_timeout=30)
    store.open_session()
    holder = hold_store(db)
    try:
        events = [
            decide(store, uid, "accept", "ana", record_hash=rhash, wait=False)
            for uid, rhash in records
        ]
        store.close()
        journal = journal_for(store)
        assert journal.unsaved == 3
    finally:
        release(holder)
    assert journal.wait_stored(timeout=60)
    stored = _stored(db)
    assert {e.event_uid: (e.record_uid, "accept") for e in events}.items() <= stored.items()


def test_a_session_closed_and_exited_before_its_decisions_were_stored_loses_none(
    db: Path,
) -> None:
    """A process that closes its session and exits normally while the store is taken (a
    reviewer quitting at once) leaves its acknowledged decisions in its journal, and the next
    open stores them."""
    records = _hashes(db, 3)
    holder = hold_store(db)
    try:
        done = subprocess.run(
            [sys.executable, "-c", SESSION_JOURNALER, str(db), *(x for p in records for x in p)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,  # only bounds a hang
        )
    finally:
        release(holder)
    assert done.returncode == 0, done.stderr
    acked = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("ack")]
    assert len(acked) == 3 and done.stdout.rstrip().endswith("closed")
    lines = b"".join(p.read_bytes() for p in journal_dir(db).glob("*.jsonl"))
    assert all(uid.encode() in lines for uid in acked)
    assert not set(acked) & set(_stored(db))  # nothing was stored: the store was taken
    Store.open(db)
    assert set(acked) <= set(_stored(db))
    assert not any(p.stat().st_size for p in journal_dir(db).glob("*.jsonl"))


def _journal_files(db: Path) -> list[str]:
    folder = journal_dir(db)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_curator_note_leaves_no_journal_file(db: Path) -> None:
    """A process that wrote a decision and closed cleanly removes its journal once everything
    in it is stored: users saw one empty file per `curator note` accumulate in the folder."""
    ((uid, _),) = _hashes(db, 1)
    done = subprocess.run(
        [sys.executable, "-m", "curator", "--db", str(db), "note", uid, "look again", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CURATOR_CONFIG": os.devnull},
        timeout=120,  # only bounds a hang
    )
    assert done.returncode == 0, done.stderr
    assert journal_dir(db).is_dir()  # the note went through the journal
    assert _journal_files(db) == []
    assert _stored(db)[json.loads(done.stdout)["event_uid"]] == (uid, "note")


async def test_a_review_session_closing_leaves_no_journal_file(tmp_path: Path) -> None:
    from tests.functional.test_review_tui import current_uid, events, make_store, settle

    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        uid = current_uid(app)
        await pilot.press("a")
        await settle(app, pilot)
        assert journal_dir(store.path).is_dir()
        await pilot.press("q")
        await pilot.pause()
    assert [(e[1], e[2]) for e in events(store)] == [(uid, "accept")]
    assert _journal_files(store.path) == []


def test_a_journal_holding_a_decision_not_stored_is_never_removed(db: Path) -> None:
    """Neither asked to (`remove_if_stored`, what a closing review session does) nor when its
    process closes it at exit (`close`): the line is the decision's only copy."""
    (uid, rhash), *_ = _hashes(db, 1)
    store = Store(db, lock_timeout=30)
    journal = journal_for(store)
    holder = hold_store(db)  # the decision cannot be stored
    try:
        event = decide(store, uid, "accept", "ana", record_hash=rhash, wait=False)
        assert journal.path is not None
        path = journal.path
        assert not journal.remove_if_stored()
        journal.close()
        assert event.event_uid.encode() in path.read_bytes()
    finally:
        release(holder)
    assert _journal_files(db) == [path.name]
    Store.open(db)  # the next open stores it, and removes the journal its owner let go
    assert _stored(db)[event.event_uid] == (uid, "accept")
    assert _journal_files(db) == []
    # The same journal again: a new decision starts a new file, which goes once stored.
    (uid2, rhash2), *_ = _hashes(db, 2)[1:]
    decide(store, uid2, "reject", "ana", record_hash=rhash2)
    assert journal.path is not None and journal.path != path
    assert journal.path.stat().st_size == 0  # stored, and emptied by its owner
    assert journal.remove_if_stored()
    assert _journal_files(db) == []


def test_a_forked_child_never_removes_its_parent_s_journal(db: Path) -> None:
    """A child forked after the journal was opened inherits it: exiting, it must not remove
    the file its parent still writes to (the parent's next decision would live only in an
    unlinked file)."""
    ((uid, rhash),) = _hashes(db, 1)
    journal = journal_for(Store(db))
    decide(Store(db), uid, "accept", "ana", record_hash=rhash)  # stored; the file stays open
    path = journal.path
    assert path is not None and path.exists()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os._exit(1 if journal.remove_if_stored() else 0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert path.exists()
    assert journal.remove_if_stored() and not path.exists()


def test_the_folder_takes_no_empty_turn_when_its_decisions_were_stored_meanwhile(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision's folder gathers for FOLD_GATHER_S before its turn on the store; when this
    process stored the decision meanwhile (a read of the record, an open, a quit fold), the
    folder found nothing to do but still took a write transaction: every other process waited
    for nothing (and a test counting this process's transactions saw one it did not make)."""
    ((uid, rhash),) = _hashes(db, 1)
    store = Store(db)
    decide(store, uid, "accept", "ana", record_hash=rhash, wait=False)
    journal = journal_for(store)
    assert journal.unsaved == 1
    assert fold(store) == 1  # stored here, while the folder still gathers
    taken = write_transactions(monkeypatch, only=db)
    time.sleep(FOLD_GATHER_S + 0.5)
    assert journal.unsaved == 0 and taken == []
    assert list(_stored(db).values()) == [(uid, "accept")]
