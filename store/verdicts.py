"""Judge work and verdicts: which records still need a verdict, and appending verdicts.

A record needs a verdict from a judge when no stored verdict has the same judge, model, prompt
hash and record hash. The record hash covers the imported content, the live edit and the
context's revision, so an edited or re-imported record is judged again while an unchanged one is
never requested twice. Verdicts with `error` (the call failed) or `unparsed` (the reply had no
readable judgement, or was cut off) do not count as done: the next pass asks again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import duckdb

from curator.domain import (
    Context,
    JudgeKey,
    NewVerdict,
    Paragraph,
    RecordFilter,
    WorkItem,
)
from curator.faults import fault_point
from curator.store.db import Store
from curator.store.records import CURATED_VALUES_SQL, _where
from curator.store.row_select import dataclass_columns, select_list
from curator.work_rows import CONTEXT_UID, SPLIT, WORK_ROW_FIELDS, row_work_item

#: Identifies one version of a record as a judge sees it (curated values, context revision).
RECORD_HASH_SQL = (
    "md5(r.content_hash || '|' || coalesce(CAST(s.edited AS VARCHAR), '') || '|' || "
    "CAST(c.revision AS VARCHAR))"
)


def record_hash_of(content_hash: str, edited_json: str | None, context_revision: int) -> str:
    """RECORD_HASH_SQL computed in Python, for lookups that fetch the parts separately."""
    text = f"{content_hash}|{edited_json or ''}|{context_revision}"
    return hashlib.md5(text.encode("utf-8")).hexdigest()


_FROM = (
    "FROM records r JOIN contexts c ON c.uid = r.context_uid "
    "LEFT JOIN record_state s ON s.record_uid = r.uid"
)

#: Each field of a work row as SQL over `_FROM`; `WORK_ROW_SELECT` puts them in the order of
#: `curator.work_rows.WORK_ROW_FIELDS`, the positions every reader of the rows uses.
_WORK_ROW_SQL = {
    "seq": "r.seq",
    "uid": "r.uid",
    "record_hash": RECORD_HASH_SQL,
    "context_uid": "r.context_uid",
    "question": CURATED_VALUES_SQL["question"],
    "answer_json": CURATED_VALUES_SQL["answer_json"],
    "answer_type": "r.answer_type",
    "answer_from": "r.answer_from",
    "derivation": CURATED_VALUES_SQL["derivation"],
    "scale": CURATED_VALUES_SQL["scale"],
    "split": "r.split",
}
#: The select list of a work row (a field named there without SQL here fails on import).
WORK_ROW_SELECT = ", ".join(_WORK_ROW_SQL[name] for name in WORK_ROW_FIELDS)


def _pending_clause(key: JudgeKey, rejudge: bool) -> tuple[str, list[Any]]:
    if rejudge:
        return "TRUE", []
    return (
        "NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.record_uid = r.uid AND v.judge = ? "
        f"AND v.model = ? AND v.prompt_hash = ? AND v.record_hash = {RECORD_HASH_SQL} "
        "AND v.verdict NOT IN ('error', 'unparsed'))",
        [key.judge, key.model, key.prompt_hash],
    )


def last_seq(store: Store) -> int:
    """The newest record's place in store order: a pass started now covers records up to it."""
    with store.connection() as con:
        found = con.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()
    return int(found[0]) if found else 0


def count_work(
    store: Store,
    key: JudgeKey,
    filt: RecordFilter = RecordFilter(),
    *,
    rejudge: bool = False,
    upto_seq: int | None = None,
) -> int:
    pending, pending_params = _pending_clause(key, rejudge)
    return count_pending(store, filt, pending, pending_params, upto_seq=upto_seq)


def count_pending(
    store: Store,
    filt: RecordFilter,
    pending: str,
    pending_params: list[Any],
    *,
    upto_seq: int | None = None,
) -> int:
    """How many records match `filt` and the `pending` condition (records r, contexts c)."""
    filt.validate()
    clauses, params = _where(filt)
    if upto_seq is not None:
        clauses, params = [*clauses, "r.seq <= ?"], [*params, upto_seq]
    where = " AND ".join([*clauses, pending])
    with store.connection() as con:
        row = con.execute(f"SELECT count(*) {_FROM} WHERE {where}", [*params, *pending_params])
        found = row.fetchone()
    return int(found[0]) if found else 0


def work_page(
    store: Store,
    key: JudgeKey,
    filt: RecordFilter = RecordFilter(),
    *,
    after_seq: int = 0,
    limit: int = 200,
    rejudge: bool = False,
    upto_seq: int | None = None,
) -> list[WorkItem]:
    """The next records (in store order, so a context's questions come together) to judge."""
    pending, pending_params = _pending_clause(key, rejudge)
    return pending_page(
        store, filt, pending, pending_params, after_seq=after_seq, limit=limit, upto_seq=upto_seq
    )


#: Fewest records a page query looks at first (doubling while the filter leaves too few of
#: them), so that a page costs the same at the start and at the end of a million-record store.
PAGE_WINDOW = 64
_MAX_WINDOW = 1 << 17


def page_rows(
    store: Store,
    filt: RecordFilter,
    pending: str,
    pending_params: list[Any],
    contexts_sql: str,
    *,
    after_seq: int,
    limit: int,
    upto_seq: int | None,
) -> tuple[list[Any], list[Any]]:
    """The rows of a work page (`curator.work_rows.WORK_ROW_FIELDS`) and its contexts as
    `contexts_sql` (given the context uids) reads them: `pending_page` and
    `work_rows.work_rows` read the same records, each context in the form its caller builds
    from.

    The page is read window by window of store order (`seq` ranges, which DuckDB prunes by
    its zone maps) rather than as "the first `limit` matches after `after_seq`", which made
    DuckDB join and filter the whole rest of the store for every page.
    """
    filt.validate()
    clauses, params = _where(filt)
    where = " AND ".join(["r.seq > ?", "r.seq <= ?", *clauses, pending])
    sql = f"SELECT {WORK_ROW_SELECT} {_FROM} WHERE {where} ORDER BY r.seq"
    upto = "AND seq <= ?" if upto_seq is not None else ""
    window_sql = (
        f"SELECT max(seq), count(*) FROM (SELECT seq FROM records WHERE seq > ? {upto} "
        "ORDER BY seq LIMIT ?)"
    )
    rows: list[Any] = []
    window = max(limit, PAGE_WINDOW)
    after = after_seq
    with store.connection() as con:
        # One snapshot for every read of the page, so a context re-imported meanwhile cannot
        # pair the records' hashes (old revision) with its new content.
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
                    break  # the end of the store (or of the pass's scope)
                window = min(window * 2, _MAX_WINDOW)
            del rows[limit:]
            # Each context once per page, shared by its records: a context's questions come
            # together, so reading and converting it per record cost several times the records.
            uids = sorted({row[CONTEXT_UID] for row in rows})
            contexts = con.execute(contexts_sql, [uids]).fetchall() if uids else []
        finally:
            con.execute("ROLLBACK")
    return rows, contexts


def pending_page(
    store: Store,
    filt: RecordFilter,
    pending: str,
    pending_params: list[Any],
    *,
    after_seq: int = 0,
    limit: int = 200,
    upto_seq: int | None = None,
) -> list[WorkItem]:
    """Records matching `filt` and the `pending` condition, as work items, in store order.

    `upto_seq` fixes a pass's scope: records imported after it started wait for the next pass.
    """
    rows, contexts_found = page_rows(
        store,
        filt,
        pending,
        pending_params,
        "SELECT uid, table_rows, paragraphs FROM contexts WHERE uid IN (SELECT unnest(?))",
        after_seq=after_seq,
        limit=limit,
        upto_seq=upto_seq,
    )
    contents = {
        uid: (
            tuple(tuple(cells) for cells in table),
            tuple(Paragraph(p["uid"], p["order"], p["text"]) for p in paragraphs),
        )
        for uid, table, paragraphs in contexts_found
    }
    # One Context per context and split, shared by its records.
    contexts: dict[tuple[str, str], Context] = {}
    for row in rows:
        key = (row[CONTEXT_UID], row[SPLIT])
        if key not in contexts:
            table_cells, paras = contents[key[0]]
            contexts[key] = Context(uid=key[0], split=key[1], table=table_cells, paragraphs=paras)
    return [row_work_item(row, contexts[(row[CONTEXT_UID], row[SPLIT])]) for row in rows]


def work_item(store: Store, uid: str) -> WorkItem | None:
    """One record as a judge sees it (for judging a single record from the TUI)."""
    with store.connection() as con:
        found = con.execute("SELECT seq FROM records WHERE uid = ?", [uid]).fetchall()
    if not found:
        return None
    items = work_page(store, JudgeKey("", "", ""), after_seq=found[0][0] - 1, limit=1, rejudge=True)
    return items[0] if items and items[0].uid == uid else None


def verdict_on_version(store: Store, key: JudgeKey, uid: str, record_hash: str) -> str | None:
    """The verdict already stored for this judge key on this version of the record (None when
    there is none, or only `error`s and `unparsed`s, which are retried): judging it again would
    only repeat it."""
    with store.connection() as con:
        found = con.execute(
            "SELECT verdict FROM verdicts WHERE record_uid = ? AND judge = ? AND model = ? "
            "AND prompt_hash = ? AND record_hash = ? AND verdict NOT IN ('error', 'unparsed') "
            "ORDER BY verdict_id DESC LIMIT 1",
            [uid, key.judge, key.model, key.prompt_hash, record_hash],
        ).fetchall()
    return str(found[0][0]) if found else None


def append_verdicts(store: Store, key: JudgeKey, run_id: str, verdicts: list[NewVerdict]) -> None:
    """Append verdicts in one short transaction (all or none)."""
    if not verdicts:
        return
    with store.transaction() as con:
        _insert_verdicts(con, key, run_id, verdicts)


def _insert_verdicts(
    con: duckdb.DuckDBPyConnection, key: JudgeKey, run_id: str, verdicts: list[NewVerdict]
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    first = (
        int(con.execute("SELECT coalesce(max(verdict_id), 0) FROM verdicts").fetchall()[0][0]) + 1
    )
    n = len(verdicts)
    # One columnar insert: each column travels as one list parameter and `unnest` zips them
    # back into rows (executemany costs a round trip per row). No pyarrow: its first array
    # imports pandas when that is installed, most of a second holding the GIL, which stalled
    # every model call in flight at a judge pass's first flush.
    con.execute(
        "INSERT INTO verdicts BY NAME SELECT "
        "unnest($1::BIGINT[]) AS verdict_id, unnest($2::VARCHAR[]) AS record_uid, "
        "$3::VARCHAR AS run_id, $4::VARCHAR AS judge, $5::VARCHAR AS model, "
        "$6::VARCHAR AS prompt_hash, unnest($7::VARCHAR[]) AS record_hash, "
        "unnest($8::VARCHAR[]) AS verdict, unnest($9::VARCHAR[]) AS reason, "
        "unnest($10::VARCHAR[]) AS raw_output, unnest($11::BIGINT[]) AS input_tokens, "
        "unnest($12::BIGINT[]) AS output_tokens, unnest($13::BIGINT[]) AS cache_read_tokens, "
        "unnest($14::BIGINT[]) AS cache_write_tokens, unnest($15::DOUBLE[]) AS cost_usd, "
        "unnest($16::DOUBLE[]) AS latency_ms, unnest($17::INTEGER[]) AS attempts, "
        "unnest($18::VARCHAR[]) AS error, $19::TIMESTAMP AS created_at",
        [
            list(range(first, first + n)),
            [v.record_uid for v in verdicts],
            run_id,
            key.judge,
            key.model,
            key.prompt_hash,
            [v.record_hash for v in verdicts],
            [v.verdict for v in verdicts],
            [v.reason for v in verdicts],
            [v.raw_output for v in verdicts],
            [v.input_tokens for v in verdicts],
            [v.output_tokens for v in verdicts],
            [v.cache_read_tokens for v in verdicts],
            [v.cache_write_tokens for v in verdicts],
            [float(v.cost_usd) for v in verdicts],
            [float(v.latency_ms) for v in verdicts],
            [v.attempts for v in verdicts],
            [v.error for v in verdicts],
            now,
        ],
    )
    fault_point("verdicts-write")  # the crash tests' kill in the middle of a write
    cited = [(first + i, v.evidence) for i, v in enumerate(verdicts) if v.evidence]
    if cited:
        con.execute(
            "INSERT INTO verdict_evidence BY NAME SELECT unnest($1::BIGINT[]) AS verdict_id, "
            "unnest($2::VARCHAR[]) AS evidence",
            [[i for i, _ in cited], [e for _, e in cited]],
        )


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    verdict_id: int
    record_uid: str
    judge: str
    model: str
    verdict: str
    reason: str
    cost_usd: float
    input_tokens: int
    output_tokens: int
    created_at: datetime


#: Each field of `StoredVerdict` as SQL over `verdicts`: the select list is written from the
#: dataclass's fields (`row_select.dataclass_columns`), so `StoredVerdict(*row)` reads each one.
_STORED_VERDICT_SQL: Final = {
    "verdict_id": "verdict_id",
    "record_uid": "record_uid",
    "judge": "judge",
    "model": "model",
    "verdict": "verdict",
    "reason": "reason",
    "cost_usd": "cost_usd",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "created_at": "created_at",
}


def verdicts_for(store: Store, uid: str) -> list[StoredVerdict]:
    """Every verdict of one record, newest first (for the record screen and tests)."""
    columns = dataclass_columns(StoredVerdict, _STORED_VERDICT_SQL)
    with store.connection() as con:
        rows = con.execute(
            f"SELECT {columns} FROM verdicts WHERE record_uid = ? ORDER BY verdict_id DESC",
            [uid],
        ).fetchall()
    return [StoredVerdict(*row) for row in rows]


def run_summary(store: Store, run_id: str) -> dict[str, Any]:
    """Counts by verdict and totals for one pass."""
    with store.connection() as con:
        by_verdict = dict(
            con.execute(
                "SELECT verdict, count(*) FROM verdicts WHERE run_id = ? GROUP BY verdict",
                [run_id],
            ).fetchall()
        )
        totals = con.execute(
            "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(input_tokens), 0), "
            "coalesce(sum(output_tokens), 0), coalesce(sum(cache_read_tokens), 0) "
            "FROM verdicts WHERE run_id = ?",
            [run_id],
        ).fetchone()
    assert totals is not None
    return {
        "verdicts": {k: int(v) for k, v in by_verdict.items()},
        "cost_usd": float(totals[0]),
        "input_tokens": int(totals[1]),
        "output_tokens": int(totals[2]),
        "cache_read_tokens": int(totals[3]),
    }


def uids_in_run(store: Store, run_id: str, uids: list[str]) -> set[str]:
    """Which of `uids` already have a verdict of pass `run_id` (a pass judges a record once):
    the answers of a killed pass's journal that were stored before it died."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT DISTINCT record_uid FROM verdicts WHERE run_id = ? "
            "AND record_uid IN (SELECT unnest(?::VARCHAR[]))",
            [run_id, uids],
        ).fetchall()
    return {str(r[0]) for r in rows}


def first_error(store: Store, run_id: str) -> str:
    """The message of one failed call of a pass ('' when none failed), for the CLI's error."""
    with store.connection() as con:
        row = con.execute(
            "SELECT error FROM verdicts WHERE run_id = ? AND verdict = 'error' LIMIT 1", [run_id]
        ).fetchone()
    return str(row[0]) if row and row[0] else ""


# -- batches --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchRecord:
    batch_id: str
    provider: str
    judge: str
    model: str
    prompt_hash: str
    run_id: str
    status: str
    details: dict[str, Any]


def save_batch(store: Store, batch: BatchRecord, items: list[tuple[str, str, str]]) -> None:
    """Remember a batch (an intent to submit, or a submitted one) and which record version each
    custom id stands for, in one transaction."""
    import pyarrow as pa  # loaded when needed: `curator review` starts without it

    now = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction() as con:
        con.execute(
            "INSERT INTO judge_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                batch.batch_id,
                batch.provider,
                batch.judge,
                batch.model,
                batch.prompt_hash,
                batch.run_id,
                batch.status,
                json.dumps(batch.details),
                now,
            ],
        )
        # One columnar insert: a chunk holds up to 100,000 items.
        rows = pa.table(
            {
                "batch_id": [batch.batch_id] * len(items),
                "custom_id": [cid for cid, _, _ in items],
                "record_uid": [uid for _, uid, _ in items],
                "record_hash": [rhash for _, _, rhash in items],
            }
        )
        con.register("incoming_batch_items", rows)
        try:
            con.execute("INSERT INTO judge_batch_items BY NAME SELECT * FROM incoming_batch_items")
        finally:
            con.unregister("incoming_batch_items")


def update_batch(store: Store, batch_id: str, status: str, details: dict[str, Any]) -> None:
    """A batch's new status and details (e.g. the provider's id once it accepted the batch)."""
    with store.transaction() as con:
        con.execute(
            "UPDATE judge_batches SET status = ?, details = ? WHERE batch_id = ?",
            [status, json.dumps(details), batch_id],
        )


def drop_batch(store: Store, batch_id: str) -> None:
    """Forget an intent that was never submitted: its records need a verdict again."""
    with store.transaction() as con:
        con.execute("DELETE FROM judge_batch_items WHERE batch_id = ?", [batch_id])
        con.execute("DELETE FROM judge_batches WHERE batch_id = ?", [batch_id])


def known_provider_ids(store: Store, provider: str) -> set[str]:
    """Every provider batch / job id this store has recorded (to tell ours from others')."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT coalesce(json_extract_string(details, '$.provider_id'), batch_id) "
            "FROM judge_batches WHERE provider = ?",
            [provider],
        ).fetchall()
    return {r[0] for r in rows}


#: A batch's row as `open_batches` reads it, in order: the one definition of its fields'
#: positions. The query selects them in this order (written from it when called) and the
#: reader reads each at the position below, never at a number of its own.
BATCH_FIELDS: Final = (
    "batch_id",
    "provider",
    "judge",
    "model",
    "prompt_hash",
    "run_id",
    "status",
    "details_json",
)
B_BATCH_ID: Final = BATCH_FIELDS.index("batch_id")
B_PROVIDER: Final = BATCH_FIELDS.index("provider")
B_JUDGE: Final = BATCH_FIELDS.index("judge")
B_MODEL: Final = BATCH_FIELDS.index("model")
B_PROMPT_HASH: Final = BATCH_FIELDS.index("prompt_hash")
B_RUN_ID: Final = BATCH_FIELDS.index("run_id")
B_STATUS: Final = BATCH_FIELDS.index("status")
#: The batch's details as JSON text.
B_DETAILS_JSON: Final = BATCH_FIELDS.index("details_json")

#: Each field of a batch's row as SQL over `judge_batches`.
_BATCH_SQL = {
    "batch_id": "batch_id",
    "provider": "provider",
    "judge": "judge",
    "model": "model",
    "prompt_hash": "prompt_hash",
    "run_id": "run_id",
    "status": "status",
    "details_json": "CAST(details AS VARCHAR)",
}


def open_batches(store: Store, provider: str, key: JudgeKey) -> list[BatchRecord]:
    """Submitted batches whose results have not been collected yet."""
    columns = select_list(BATCH_FIELDS, _BATCH_SQL)
    with store.connection() as con:
        rows = con.execute(
            f"SELECT {columns} FROM judge_batches WHERE provider = ? AND judge = ? "
            "AND model = ? AND prompt_hash = ? AND collected_at IS NULL ORDER BY submitted_at",
            [provider, key.judge, key.model, key.prompt_hash],
        ).fetchall()
    return [
        BatchRecord(
            batch_id=row[B_BATCH_ID],
            provider=row[B_PROVIDER],
            judge=row[B_JUDGE],
            model=row[B_MODEL],
            prompt_hash=row[B_PROMPT_HASH],
            run_id=row[B_RUN_ID],
            status=row[B_STATUS],
            details=json.loads(row[B_DETAILS_JSON] or "{}"),
        )
        for row in rows
    ]


def intent_bodies(store: Store) -> set[str]:
    """The body file names that recorded, not yet submitted chunks (of any judge) still need."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT CAST(details AS VARCHAR) FROM judge_batches WHERE status = 'intent'"
        ).fetchall()
    return {str(json.loads(row[0] or "{}").get("body", "")) for row in rows} - {""}


def batch_items(store: Store, batch_id: str) -> dict[str, tuple[str, str]]:
    """custom id -> (record uid, record hash) for one batch."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT custom_id, record_uid, record_hash FROM judge_batch_items WHERE batch_id = ?",
            [batch_id],
        ).fetchall()
    return {cid: (uid, rhash) for cid, uid, rhash in rows}


def count_batch_work(
    store: Store,
    provider: str,
    key: JudgeKey,
    filt: RecordFilter = RecordFilter(),
    *,
    rejudge: bool = False,
) -> int:
    """Records that need a verdict from this judge and are in no batch still open."""
    pending, params = _pending_clause(key, rejudge)
    in_open_batch = (
        "NOT EXISTS (SELECT 1 FROM judge_batch_items i JOIN judge_batches b USING (batch_id) "
        "WHERE i.record_uid = r.uid AND b.collected_at IS NULL AND b.provider = ? "
        "AND b.judge = ? AND b.model = ? AND b.prompt_hash = ?)"
    )
    return count_pending(
        store,
        filt,
        f"{pending} AND {in_open_batch}",
        [*params, provider, key.judge, key.model, key.prompt_hash],
    )


def pending_in_batches(store: Store, provider: str, key: JudgeKey) -> set[str]:
    """Record uids already submitted in a batch not yet collected (not to be submitted again)."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT DISTINCT i.record_uid FROM judge_batch_items i JOIN judge_batches b "
            "USING (batch_id) WHERE b.collected_at IS NULL AND b.provider = ? AND b.judge = ? "
            "AND b.model = ? AND b.prompt_hash = ?",
            [provider, key.judge, key.model, key.prompt_hash],
        ).fetchall()
    return {r[0] for r in rows}


def collect_batch(
    store: Store, key: JudgeKey, batch_id: str, run_id: str, verdicts: list[NewVerdict]
) -> None:
    """Store a batch's verdicts and mark it collected, in one transaction (all or none: a
    collection stopped half way is done again from the start, never stored twice)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction() as con:
        for start in range(0, len(verdicts), 20_000):
            _insert_verdicts(con, key, run_id, verdicts[start : start + 20_000])
        con.execute(
            "UPDATE judge_batches SET collected_at = ?, status = 'collected' WHERE batch_id = ?",
            [now, batch_id],
        )


def set_batch_status(store: Store, batch_id: str, status: str) -> None:
    with store.transaction() as con:
        con.execute("UPDATE judge_batches SET status = ? WHERE batch_id = ?", [status, batch_id])
