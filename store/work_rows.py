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
from curator.store.verdicts import _pending_clause, page_rows

#: One record of work: the fields of `curator.work_rows.WORK_ROW_FIELDS`, in that order.
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
    pending, pending_params = _pending_clause(key, rejudge)
    rows, found_contexts = page_rows(
        store,
        filt,
        pending,
        pending_params,
        "SELECT uid, CAST(to_json(table_rows) AS VARCHAR), CAST(to_json(paragraphs) AS VARCHAR) "
        "FROM contexts WHERE uid IN (SELECT unnest(?))",
        after_seq=after_seq,
        limit=limit,
        upto_seq=upto_seq,
    )
    return rows, {uid: (table, paragraphs) for uid, table, paragraphs in found_contexts}
