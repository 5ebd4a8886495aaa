"""`curator check`: is the store whole? Every block readable, schema version, orphan rows.

DuckDB checksums each block and verifies the checksum when it reads the block, but a count or a
lookup reads only what it needs (`count(*)` reads no data block at all), so a file with corrupt
blocks can answer everyday queries. `check` therefore reads every column of every table in full
(hashing each value, so nothing is skipped), which makes DuckDB verify every data block; a
checksum failure or any unreadable block is reported as a corrupt store (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from curator.domain import StoreError
from curator.store.db import Store


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    problems: int
    detail: str


_COLLISION_ADVICE = (
    "events collide; the schema forbids this since version 7, so another program wrote to the "
    "store: stop every curator process, back up the file, and report the store to its maintainer"
)

_CHECKS = (
    (
        "records without a context",
        "SELECT count(*) FROM records r ANTI JOIN contexts c ON c.uid = r.context_uid",
        "",
    ),
    (
        "duplicate record uids",
        "SELECT count(*) FROM (SELECT uid FROM records GROUP BY uid HAVING count(*) > 1)",
        "",
    ),
    (
        "duplicate context uids",
        "SELECT count(*) FROM (SELECT uid FROM contexts GROUP BY uid HAVING count(*) > 1)",
        "",
    ),
    (
        "verdicts for unknown records",
        "SELECT count(*) FROM verdicts v ANTI JOIN records r ON r.uid = v.record_uid",
        "",
    ),
    (
        "review events for unknown records",
        "SELECT count(*) FROM review_events e ANTI JOIN records r ON r.uid = e.record_uid",
        "",
    ),
    (
        "undo events naming no event",
        "SELECT count(*) FROM review_events u WHERE "
        "u.action = 'undo' AND (u.undoes IS NULL OR NOT EXISTS (SELECT 1 FROM review_events e "
        "WHERE e.event_id = u.undoes))",
        "an undo reverts nothing; the record's state is unaffected, no action needed beyond "
        "checking the record's history",
    ),
    (
        "duplicate event ids",
        "SELECT count(*) FROM (SELECT event_id FROM review_events "
        "GROUP BY event_id HAVING count(*) > 1)",
        _COLLISION_ADVICE,
    ),
    (
        "duplicate event uids",
        "SELECT count(*) FROM (SELECT event_uid FROM review_events "
        "GROUP BY event_uid HAVING count(*) > 1)",
        _COLLISION_ADVICE,
    ),
    (
        "undo events reverting another record's event",
        "SELECT count(*) FROM review_events u JOIN review_events e ON e.event_id = u.undoes "
        "WHERE u.action = 'undo' AND e.record_uid <> u.record_uid",
        "an undo names an event of another record (ids collided before schema 7): that record "
        "shows as undecided; review it again (`curator list --status pending`) and decide it",
    ),
    (
        "undo events whose id and uid disagree",
        "SELECT count(*) FROM review_events u JOIN review_events e ON e.event_id = u.undoes "
        "WHERE u.action = 'undo' AND u.undoes_uid IS NOT NULL AND e.event_uid <> u.undoes_uid",
        _COLLISION_ADVICE,
    ),
    (
        "events undone more than once",
        "SELECT count(*) FROM (SELECT undoes FROM review_events WHERE action = 'undo' "
        "GROUP BY undoes HAVING count(*) > 1)",
        "two undos name one event: harmless for the record's state, but a sign that two "
        "sessions undid the same decision; check the record's history in `curator review`",
    ),
    (
        "duplicate verdict ids",
        "SELECT count(*) FROM (SELECT verdict_id FROM verdicts "
        "GROUP BY verdict_id HAVING count(*) > 1)",
        "",
    ),
    (
        "edit events without values",
        "SELECT count(*) FROM review_events WHERE action = 'edit' AND edited IS NULL",
        "",
    ),
    (
        "batch items of unknown batches",
        "SELECT count(*) FROM judge_batch_items i "
        "ANTI JOIN judge_batches b ON b.batch_id = i.batch_id",
        "",
    ),
    (
        "predictions for unknown records",
        "SELECT count(*) FROM predictions p ANTI JOIN records r ON r.uid = p.record_uid",
        "",
    ),
)


def check(store: Store) -> tuple[int, list[Finding], dict[str, int]]:
    """(schema version, findings with problems > 0 first, row counts per table).

    Raises StoreError (exit 3) when a block of the file cannot be read or fails its checksum.
    """
    version = store.schema_version()
    findings = []
    with store.connection() as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                "AND NOT temporary ORDER BY 1"
            ).fetchall()
        ]
        counts = {t: read_every_block(store, con, t) for t in tables}
        for name, sql, detail in _CHECKS:
            n = int(_run(store, con, sql, name)[0])
            findings.append(Finding(name, n, detail))
    findings.sort(key=lambda f: f.problems == 0)
    return version, findings, counts


def read_every_block(store: Store, con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Read every value of every column of `table` (so DuckDB verifies each block); row count."""
    quoted = '"' + table.replace('"', '""') + '"'
    row = _run(
        store, con, f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {quoted}", f"table {table}"
    )
    return int(row[0])


def _run(store: Store, con: duckdb.DuckDBPyConnection, sql: str, what: str) -> tuple[Any, ...]:
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"{store.path}: store is corrupt: {what}: {first}") from exc
    return tuple(rows[0])
