"""A batch pass's work, read in large columnar windows: what `--batch` spools requests from.

`verdicts.work_page` answers "the next N records needing a verdict" as `WorkItem`s: right for
a live pass, which judges a few hundred at a time, but a batch pass walks a million records in
one go and paid more for reading (a windowed query re-run per page, every row a Python tuple,
every context's nested lists converted per page) than for everything else. Here the store is
walked in windows of `window` records of store order (`seq` ranges, pruned by DuckDB's zone
maps): one query per window, fetched as Arrow columns and turned into Python lists column by
column, and each context of the window read once, as JSON text (the form
`curator.work_rows.work_items` builds from). Each window is read in one snapshot, so a context
re-imported meanwhile never pairs the records' hashes with its new content. The records, their
order and their values are `work_page`'s (tested on sample_data and the real TAT-QA files).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from curator.domain import JudgeKey, RecordFilter
from curator.store.db import Store
from curator.store.records import _where
from curator.store.verdicts import _FROM, WORK_ROW_SELECT, _pending_clause
from curator.work_rows import CONTEXT_UID

#: Records of store order one window covers (the filter and the pending test may keep fewer).
WINDOW = 32_768


@dataclass(frozen=True, slots=True)
class WorkColumns:
    """One window's records needing a verdict, column by column, in store order, with the
    contexts they refer to (uid -> (table rows JSON, paragraphs JSON)).

    Columns: the fields of a work row, in the order of `curator.work_rows.WORK_ROW_FIELDS`."""

    columns: tuple[list[Any], ...]
    contexts: dict[str, tuple[str, str]]
    #: The last seq the window covered (matched or not): where the next one starts.
    last_seq: int

    def __len__(self) -> int:
        return len(self.columns[0])


def _records_sql(where: str) -> str:
    return f"SELECT {WORK_ROW_SELECT} {_FROM} WHERE {where} ORDER BY r.seq"


_WINDOW_SQL = (
    "SELECT max(seq), count(*) FROM (SELECT seq FROM records WHERE seq > ? ORDER BY seq LIMIT ?)"
)
_CONTEXTS_SQL = (
    "SELECT uid, CAST(to_json(table_rows) AS VARCHAR), CAST(to_json(paragraphs) AS VARCHAR) "
    "FROM contexts WHERE uid IN (SELECT unnest(?))"
)


def work_columns(
    store: Store,
    key: JudgeKey,
    filt: RecordFilter = RecordFilter(),
    *,
    rejudge: bool = False,
    after_seq: int = 0,
    window: int = WINDOW,
) -> WorkColumns | None:
    """The records needing a verdict from `key` among the next `window` records of store
    order after `after_seq` (possibly none of them), or None past the end of the store."""
    filt.validate()
    clauses, params = _where(filt)
    pending, pending_params = _pending_clause(key, rejudge)
    sql = _records_sql(" AND ".join(["r.seq > ?", "r.seq <= ?", *clauses, pending]))
    with store.connection() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            found = con.execute(_WINDOW_SQL, [after_seq, max(1, window)]).fetchall()
            if not found or not found[0][1]:
                return None
            end = int(found[0][0])
            table = con.sql(sql, params=[after_seq, end, *params, *pending_params]).to_arrow_table()
            columns = tuple(column.to_pylist() for column in table.columns)
            uids = sorted(set(columns[CONTEXT_UID]))
            contexts = (
                {u: (t, p) for u, t, p in con.execute(_CONTEXTS_SQL, [uids]).fetchall()}
                if uids
                else {}
            )
        finally:
            con.execute("ROLLBACK")
    return WorkColumns(columns, contexts, end)


def iter_work_columns(
    store: Store,
    key: JudgeKey,
    filt: RecordFilter = RecordFilter(),
    *,
    rejudge: bool = False,
    window: int = WINDOW,
) -> Iterator[WorkColumns]:
    """Every window of the store in order (windows where nothing is pending included, so a
    consumer can stop at any window)."""
    after = 0
    while (
        page := work_columns(store, key, filt, rejudge=rejudge, after_seq=after, window=window)
    ) is not None:
        yield page
        after = page.last_seq
