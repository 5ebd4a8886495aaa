"""Judge work as plain values: what a rules pass hands its worker processes.

`verdicts.work_page` builds a `WorkItem` (and a `Context` from DuckDB's nested lists) per
record: right for a pass that judges in its own process, wasted in one that only hands records
to other processes, where building and pickling those objects cost the pass's process more CPU
than reading. Here a page is the records as tuples of strings and numbers and each context's
table and paragraphs as JSON text (DuckDB renders it; converting nested lists to Python objects
cost several times more), which pickle in a fraction of the time; the worker that judges a chunk
builds the objects (`curator.work_rows.work_items`), so the same records come out.
"""

from __future__ import annotations

from typing import Any

from curator.domain import JudgeKey, RecordFilter
from curator.store.db import Store
from curator.store.records import _CURATED, _where
from curator.store.verdicts import (
    _FROM,
    _MAX_WINDOW,
    PAGE_WINDOW,
    RECORD_HASH_SQL,
    _pending_clause,
)

#: One record of work: (seq, uid, record hash, context uid, question, answer JSON, answer type,
#: answer from, derivation, scale, split), the fields `curator.work_rows.work_items` reads.
WorkRow = tuple[Any, ...]


def work_rows(
    store: Store,
    key: JudgeKey,
    filt: RecordFilter = RecordFilter(),
    *,
    after_seq: int = 0,
    limit: int = 16384,
    rejudge: bool = False,
    upto_seq: int | None = None,
) -> tuple[list[WorkRow], dict[str, tuple[str, str]]]:
    """The next records needing a verdict from `key`, in store order, and the contexts they
    refer to (context uid -> (table rows JSON, paragraphs JSON)): the records of
    `verdicts.work_page`, read in one turn on the file and one snapshot."""
    filt.validate()
    pending, pending_params = _pending_clause(key, rejudge)
    clauses, params = _where(filt)
    where = " AND ".join(["r.seq > ?", "r.seq <= ?", *clauses, pending])
    sql = (
        f"SELECT r.seq, r.uid, {RECORD_HASH_SQL}, r.context_uid, {_CURATED['question']}, "
        f"CAST({_CURATED['answer']} AS VARCHAR), r.answer_type, r.answer_from, "
        f"{_CURATED['derivation']}, {_CURATED['scale']}, r.split "
        f"{_FROM} WHERE {where} ORDER BY r.seq"
    )
    upto = "AND seq <= ?" if upto_seq is not None else ""
    window_sql = (
        f"SELECT max(seq), count(*) FROM (SELECT seq FROM records WHERE seq > ? {upto} "
        "ORDER BY seq LIMIT ?)"
    )
    rows: list[WorkRow] = []
    window = max(limit, PAGE_WINDOW)
    after = after_seq
    with store.connection() as con:
        # One snapshot for the records and their contexts (see `verdicts.pending_page`).
        con.execute("BEGIN TRANSACTION")
        try:
            while len(rows) < limit:
                bounds = [after, upto_seq] if upto_seq is not None else [after]
                found = con.execute(window_sql, [*bounds, window]).fetchone()
                if not found or not found[1]:
                    break
                end, seen = int(found[0]), int(found[1])
                rows += con.execute(sql, [after, end, *params, *pending_params]).fetchall()
                after = end
                if seen < window:
                    break
                window = min(window * 2, _MAX_WINDOW)
            del rows[limit:]
            uids = sorted({row[3] for row in rows})
            found_contexts = (
                con.execute(
                    "SELECT uid, CAST(to_json(table_rows) AS VARCHAR), "
                    "CAST(to_json(paragraphs) AS VARCHAR) FROM contexts "
                    "WHERE uid IN (SELECT unnest(?))",
                    [uids],
                ).fetchall()
                if uids
                else []
            )
        finally:
            con.execute("ROLLBACK")
    return rows, {uid: (table, paragraphs) for uid, table, paragraphs in found_contexts}
