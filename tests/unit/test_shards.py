"""Work shards: every record in exactly one shard, the same one as always (md5 of its uid), now
read from each record's stored md5 halves instead of hashing every uid per query."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from curator.domain import RecordFilter
from curator.store import Store
from curator.store.db import bundled_migrations
from curator.store.importer import import_file
from curator.store.records import count, iter_all
from curator.store.shards import shard_clause
from tests.conftest import tiny_context, write_json

#: Uids of several shapes (the real data's are uuids; some files use other ids).
UIDS = (
    [f"00{i:02d}a1b2-0000-4000-8000-{i:012d}" for i in range(40)]
    + [f"q-{i}" for i in range(30)]
    + ["ünïcode-uid", "x" * 200, "1", ""]
)


def md5_number(uid: str) -> int:
    """DuckDB's md5_number(uid): the md5 digest of the UTF-8 uid as a little-endian integer."""
    return int.from_bytes(hashlib.md5(uid.encode("utf-8")).digest(), "little")


def in_shard(uid: str, k: int, n: int, overlap: float = 0.0) -> bool:
    """The assignment `--shard K/N --overlap F` has always made, by its definition."""
    number = md5_number(uid)
    if number % n == k - 1:
        return True
    share = round(overlap * 10000) if overlap > 0 and n > 1 else 0
    return number % n == (k - 2) % n and (number // n) % 10000 < share


def _store(tmp_path: Path, uids: list[str]) -> Store:
    store = Store.open(tmp_path / "shards.duckdb", create=True)
    contexts = [tiny_context(f"ctx-{c}", tuple(uids[c::5])) for c in range(5)]
    import_file(
        store, write_json(tmp_path / "dev.json", [c for c in contexts if c["questions"]]), "dev"
    )
    return store


def _members(store: Store, k: int, n: int, overlap: float = 0.0) -> set[str]:
    return {row.uid for row in iter_all(store, RecordFilter(shard=(k, n), overlap=overlap))}


SHARDINGS = [(1, 1, 0.0), (1, 2, 0.0), (2, 2, 0.1), (3, 3, 0.25), (2, 7, 0.5), (5, 12, 0.99)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    uids = [u for u in UIDS if u]  # TAT-QA uids are never empty
    return _store(tmp_path_factory.mktemp("shards"), uids)


@pytest.mark.parametrize(("k", "n", "overlap"), SHARDINGS)
def test_a_shard_holds_the_records_its_md5_assigns(
    store: Store, k: int, n: int, overlap: float
) -> None:
    uids = [u for u in UIDS if u]
    assert _members(store, k, n, overlap) == {u for u in uids if in_shard(u, k, n, overlap)}
    assert count(store, RecordFilter(shard=(k, n), overlap=overlap)) == len(
        _members(store, k, n, overlap)
    )


@pytest.mark.parametrize("n", [1, 2, 3, 7, 12])
def test_the_shards_of_n_partition_the_store(store: Store, n: int) -> None:
    shards = [_members(store, k, n) for k in range(1, n + 1)]
    assert sum(len(s) for s in shards) == len(set().union(*shards)) == count(store)


def test_an_import_stores_each_records_md5_halves(store: Store) -> None:
    with store.connection() as con:
        rows = con.execute("SELECT uid, uid_md5_hi, uid_md5_lo FROM records").fetchall()
    assert len(rows) == len([u for u in UIDS if u])
    for uid, hi, lo in rows:
        assert (hi << 64) + lo == md5_number(uid)


def test_a_shard_reads_the_stored_halves_not_the_uid(store: Store) -> None:
    """The clause computes from the stored numbers (what makes it cheap): change a record's
    stored halves and its shard follows them."""
    victim = next(u for u in UIDS if u and in_shard(u, 1, 2))
    other = next(u for u in UIDS if u and in_shard(u, 2, 2))
    with store.transaction() as con:
        halves = "SELECT uid_md5_hi, uid_md5_lo FROM records WHERE uid = ?"
        before = con.execute(halves, [victim]).fetchall()[0]
        theirs = con.execute(halves, [other]).fetchall()[0]
        con.execute(
            "UPDATE records SET uid_md5_hi = ?, uid_md5_lo = ? WHERE uid = ?", [*theirs, victim]
        )
    try:
        assert victim in _members(store, 2, 2) and victim not in _members(store, 1, 2)
    finally:
        with store.transaction() as con:
            con.execute(
                "UPDATE records SET uid_md5_hi = ?, uid_md5_lo = ? WHERE uid = ?",
                [*before, victim],
            )
    assert victim in _members(store, 1, 2)


def test_a_record_without_halves_still_gets_its_shard(tmp_path: Path) -> None:
    uids = [f"q-{i}" for i in range(12)]
    store = _store(tmp_path, uids)
    with store.transaction() as con:
        con.execute("UPDATE records SET uid_md5_hi = NULL, uid_md5_lo = NULL WHERE uid < 'q-5'")
    for k, n, overlap in SHARDINGS:
        assert _members(store, k, n, overlap) == {u for u in uids if in_shard(u, k, n, overlap)}


def test_huge_shard_counts_use_the_exact_formula(store: Store) -> None:
    """Beyond 64-bit arithmetic (N * 10000 >= 2**32) the clause is the 128-bit definition."""
    uids = [u for u in UIDS if u]
    n = 500_000
    assert "uid_md5_hi" not in shard_clause(1, n, 0.5)
    found = set().union(
        *(_members(store, k, n, 0.5) for k in {md5_number(u) % n + 1 for u in uids})
    )
    assert found >= set(uids)


def test_migrating_an_older_store_fills_the_halves(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    before = tuple(m for m in bundled_migrations() if m.name < "0013")
    old = Store.open(path, create=True, migrations=before)
    uids = ["a-1", "b-2", "ünï-3", "0042a1b2-0000-4000-8000-000000000042"]
    with old.transaction() as con:
        for seq, uid in enumerate(uids, start=1):
            con.execute(
                "INSERT INTO records VALUES (?, ?, 'ctx', 'dev', 1, 'q?', '\"a\"', 'span', "
                "'table', '', '', [], false, 'h', 1, 1)",
                [seq, uid],
            )
    old.close()
    store = Store.open(path)
    with store.connection() as con:
        rows = con.execute("SELECT uid, uid_md5_hi, uid_md5_lo FROM records").fetchall()
    assert {uid: (hi << 64) + lo for uid, hi, lo in rows} == {u: md5_number(u) for u in uids}
    for k, n, overlap in SHARDINGS:
        assert _members(store, k, n, overlap) == {u for u in uids if in_shard(u, k, n, overlap)}
