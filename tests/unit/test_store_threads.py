"""Many threads of one process on one store file: the `python_arrow_scan` race, id collisions.

DuckDB's Python client shares one database instance per file among a process's connections.
When threads each opened and closed their own connection, one could be handed the instance while
another was creating or closing it, and `con.register(arrow)` failed with "Table Function with
name python_arrow_scan does not exist". The store now keeps one open database per file per
process and hands out cursors; these tests recreate the old condition (several threads, several
`Store` objects, Arrow inserts while others open and close) and demand zero failures.
"""

from __future__ import annotations

import threading
from pathlib import Path

from curator.domain import JudgeKey, NewVerdict
from curator.store import Store
from curator.store.importer import import_file
from curator.store.verdicts import append_verdicts, work_page
from tests.conftest import SAMPLE_DATA

ROUNDS = 40


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "threads.duckdb"
    import_file(Store.open(path, create=True), SAMPLE_DATA / "sample_train.json", "train")
    return path


def test_arrow_inserts_from_threads_while_others_open_and_close(tmp_path: Path) -> None:
    path = _store(tmp_path)
    items = work_page(Store(path), JudgeKey("t", "m", "p"), limit=50, rejudge=True)
    errors: list[str] = []

    def writer(n: int) -> None:
        store, key = Store(path), JudgeKey(f"judge-{n}", "m", "p")
        for i in range(ROUNDS):
            item = items[i % len(items)]
            try:
                append_verdicts(
                    store, key, "r", [NewVerdict(item.uid, item.record_hash, "correct")]
                )
            except Exception as exc:  # every failure is the bug, whatever its type
                errors.append(f"writer: {exc}")

    def reader() -> None:
        for _ in range(ROUNDS):
            try:
                with Store(path).connection() as con:
                    con.execute("SELECT count(*) FROM verdicts").fetchall()
            except Exception as exc:
                errors.append(f"reader: {exc}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(path).connection() as con:
        rows = con.execute("SELECT count(*), count(DISTINCT verdict_id) FROM verdicts").fetchall()
    # Every append stored, and ids never collided although three threads appended at once.
    assert rows == [(3 * ROUNDS, 3 * ROUNDS)]


def test_the_file_is_released_when_the_last_operation_ends(tmp_path: Path) -> None:
    import duckdb

    path = _store(tmp_path)
    store = Store(path)
    with store.connection() as con:
        con.execute("SELECT 1").fetchall()
    # Nobody in this process holds the file now: a plain connect with another configuration
    # (which DuckDB refuses while the instance is open) succeeds.
    other = duckdb.connect(str(path), read_only=True)
    other.close()
