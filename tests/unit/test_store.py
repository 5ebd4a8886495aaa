"""The store file: schema versions, migrations, refusing what it cannot open."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from curator.domain import RecordFilter, StoreError
from curator.store import Store
from curator.store.db import Migration, bundled_migrations
from curator.store.importer import import_file
from curator.store.records import count, iter_all, page
from tests.builders import write_transactions
from tests.conftest import tiny_context, write_json


def test_new_store_is_at_the_latest_schema(store_path: Path) -> None:
    store = Store.open(store_path, create=True)
    assert store.schema_version() == bundled_migrations()[-1].version >= 1


def test_opening_a_missing_store_without_create_is_a_clear_error(store_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here"):
        Store.open(store_path)
    assert not store_path.exists()


def test_an_older_store_is_migrated_on_open(store_path: Path) -> None:
    v1 = bundled_migrations()
    Store.open(store_path, create=True, migrations=v1)
    extra = Migration(len(v1) + 1, "9999_test.sql", "CREATE TABLE added_later (x INTEGER);")
    store = Store.open(store_path, migrations=(*v1, extra))
    assert store.schema_version() == len(v1) + 1
    with store.connection() as con:
        assert con.execute("SELECT count(*) FROM added_later").fetchone() == (0,)
        versions = con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    assert [v[0] for v in versions] == list(range(1, len(v1) + 2))


def test_a_newer_store_is_refused(store_path: Path) -> None:
    store = Store.open(store_path, create=True)
    with store.transaction() as con:
        con.execute("INSERT INTO schema_version VALUES (999, 'future', now()::TIMESTAMP)")
    with pytest.raises(StoreError, match="schema version 999, newer than this curator"):
        Store.open(store_path)


def test_opening_reads_the_version_without_a_write_transaction(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = bundled_migrations()
    taken = write_transactions(monkeypatch, only=store_path)
    Store.open(store_path, create=True, migrations=v1)
    assert taken == [store_path]  # creating is migrating: in one write transaction
    taken.clear()
    Store.open(store_path, migrations=v1)
    Store.open(store_path, migrations=v1, read_only=True)
    assert taken == []  # a current store is only read
    extra = Migration(len(v1) + 1, "9999_test.sql", "CREATE TABLE added_later (x INTEGER);")
    assert Store.open(store_path, migrations=(*v1, extra)).schema_version() == len(v1) + 1
    assert taken == [store_path]  # an older one is migrated in one
    taken.clear()
    with pytest.raises(StoreError, match=f"schema version {len(v1) + 1}, newer than this"):
        Store.open(store_path, migrations=v1)
    assert taken == []  # a newer one is refused without one


class _RolledBack(Exception):
    """Ends a test's write transaction without committing it."""


def test_a_store_opens_while_another_thread_of_the_process_writes(
    store_path: Path,
) -> None:
    """Opening waits for no write transaction of the process (a review session's flush, a
    pass's verdicts): only the version is read, and a cursor reads beside a writer."""
    store = Store.open(store_path, create=True)
    started, opened = threading.Event(), threading.Event()
    writing: list[bool] = []

    def write() -> None:
        with contextlib.suppress(_RolledBack), store.transaction() as con:
            con.execute("INSERT INTO schema_version VALUES (0, 'uncommitted', now()::TIMESTAMP)")
            writing.append(True)
            started.set()
            opened.wait(10)  # a regression: the open waits for this, then fails below
            writing.append(False)
            raise _RolledBack

    writer = threading.Thread(target=write)
    writer.start()
    assert started.wait(30)
    try:
        again = Store.open(store_path)
        assert writing == [True]  # opened while the other thread's transaction was open
        assert again.schema_version() == bundled_migrations()[-1].version
    finally:
        opened.set()
        writer.join()
    assert writing == [True, False]


def test_a_foreign_duckdb_file_is_refused(store_path: Path) -> None:
    con = duckdb.connect(str(store_path))
    con.execute("CREATE TABLE something (x INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not a curator store"):
        Store.open(store_path)


def test_a_file_that_is_not_duckdb_is_refused(store_path: Path) -> None:
    store_path.write_text("hello", "utf-8")
    with pytest.raises(StoreError, match="not a curator store: it has no DuckDB header"):
        Store.open(store_path)


def test_keyset_pages_walk_every_record_once_in_order(tmp_path: Path, store_path: Path) -> None:
    store = Store.open(store_path, create=True)
    contexts = [tiny_context(f"c{i}", tuple(f"c{i}-q{j}" for j in range(7))) for i in range(9)]
    import_file(store, write_json(tmp_path / "many.json", contexts), "train")
    seen: list[str] = []
    after = 0
    while rows := page(store, after_seq=after, limit=10):
        seen += [r.uid for r in rows]
        after = rows[-1].seq
    expected = [f"c{i}-q{j}" for i in range(9) for j in range(7)]
    assert seen == expected
    assert [r.uid for r in iter_all(store, limit=15, page_size=4)] == expected[:15]
    assert count(store) == 63


def test_filters_by_status_and_verdict(tmp_path: Path, store_path: Path) -> None:
    store = Store.open(store_path, create=True)
    ctx = tiny_context("c", ("a", "b", "c"))
    ctx["questions"][2].update(answer=5, answer_type="arithmetic")
    import_file(store, write_json(tmp_path / "f.json", [ctx]), "train")
    with store.transaction() as con:
        con.execute(
            "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
            "created_at) VALUES "
            "(1, 'e1', 'a', 'reject', 'ana', now()::TIMESTAMP), "
            "(2, 'e2', 'b', 'accept', 'ana', now()::TIMESTAMP), "
            "(3, 'e3', 'b', 'undo', 'ana', now()::TIMESTAMP)"
        )
        con.execute("UPDATE review_events SET undoes = 2 WHERE event_id = 3")
        con.execute(
            "INSERT INTO verdicts (verdict_id, record_uid, run_id, judge, model, prompt_hash, "
            "record_hash, verdict, created_at) VALUES "
            "(1, 'a', 'r1', 'rules', '-', 'p', 'h', 'correct', now()::TIMESTAMP),"
            "(2, 'a', 'r2', 'rules', '-', 'p', 'h', 'incorrect', now()::TIMESTAMP)"
        )

    def uids(**kw: Any) -> list[str]:
        return [r.uid for r in page(store, RecordFilter(**kw))]

    assert uids(statuses=("rejected",)) == ["a"]
    assert uids(statuses=("pending",)) == ["b", "c"]  # b's accept was undone
    assert uids(verdicts=("incorrect",)) == ["a"]
    assert uids(verdicts=("correct",)) == []  # only the latest verdict per judge counts
    assert uids(verdicts=("none",)) == ["b", "c"]
    assert uids(answer_types=("arithmetic",)) == ["c"]
    rows = page(store)
    assert rows[0].verdicts == {"rules": "incorrect"} and rows[0].status == "rejected"
    with pytest.raises(Exception, match="unknown status"):
        page(store, RecordFilter(statuses=("done",)))


def test_filter_by_uids_alone_and_with_splits(tmp_path: Path, store_path: Path) -> None:
    """RecordFilter.uids (an export file's records, `--from-manifest --split validation`):
    alone it keeps exactly those records; with splits, a record of either matches; the
    other clauses still apply to both."""
    store = Store.open(store_path, create=True)
    import_file(store, write_json(tmp_path / "t.json", [tiny_context("t", ("t1", "t2"))]), "train")
    ctx = tiny_context("d", ("d1", "d2", "d3"))
    ctx["questions"][2].update(answer=5, answer_type="arithmetic")
    import_file(store, write_json(tmp_path / "d.json", [ctx]), "dev")

    def uids(**kw: Any) -> list[str]:
        filt = RecordFilter(**kw)
        assert count(store, filt) == len(page(store, filt))
        return [r.uid for r in page(store, filt)]

    assert uids(uids=("d3", "t1")) == ["t1", "d3"]
    assert uids(uids=("d3",), splits=("train",)) == ["t1", "t2", "d3"]
    assert uids(uids=("d3", "t1"), answer_types=("arithmetic",)) == ["d3"]
    assert uids(splits=("dev",)) == ["d1", "d2", "d3"]
    store.close()
