"""Record queries: keyset pages, counts and summary statistics.

Listings page over `records.seq` (assigned in file order at import, never reused) with
`seq > last_seen`, so a page costs the same at the start and the end of a million-row store and
never shifts when other rows are decided meanwhile. Values shown are the curated ones: a live edit
overrides the imported question, answer, derivation and scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb

from curator.domain import (
    Context,
    Paragraph,
    Record,
    RecordFilter,
    RecordRow,
    answer_from_json,
)
from curator.store.db import Store
from curator.store.leaks import has_twin_sql
from curator.store.row_select import select_list
from curator.store.shards import shard_clause

#: The curated value of each editable field: the live edit when there is one, else the import.
_CURATED = {
    "question": "coalesce(json_extract_string(s.edited, '$.question'), r.question)",
    "answer": "coalesce(json_extract(s.edited, '$.answer'), r.answer)",
    "derivation": "coalesce(json_extract_string(s.edited, '$.derivation'), r.derivation)",
    "scale": "coalesce(json_extract_string(s.edited, '$.scale'), r.scale)",
}
#: The curated values as a row reads them (the answer as JSON text, `answer_from_json` decodes
#: it), over records r and its review state s: the one definition of "a record's value after
#: its latest edit" that a judge's work rows (`verdicts`), the export's rows (`exports`), a
#: record's detail and the queue (`reviews`) and the listing (`page`) select.
CURATED_VALUES_SQL: Final = {
    "question": _CURATED["question"],
    "answer_json": f"CAST({_CURATED['answer']} AS VARCHAR)",
    "derivation": _CURATED["derivation"],
    "scale": _CURATED["scale"],
}


def _where(filt: RecordFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def among(column: str, values: tuple[str, ...]) -> None:
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)

    if filt.statuses:
        status_clauses = []
        named = [s for s in filt.statuses if s != "pending"]
        if "pending" in filt.statuses:
            status_clauses.append("s.status IS NULL")
        if named:
            status_clauses.append(f"s.status IN ({', '.join('?' for _ in named)})")
            params.extend(named)
        clauses.append("(" + " OR ".join(status_clauses) + ")")
    if filt.verdicts:
        verdict_clauses = []
        named = [v for v in filt.verdicts if v != "none"]
        if "none" in filt.verdicts:
            verdict_clauses.append(
                "NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.record_uid = r.uid)"
            )
        if named:
            verdict_clauses.append(
                "EXISTS (SELECT 1 FROM latest_verdicts v WHERE v.record_uid = r.uid AND "
                f"v.verdict IN ({', '.join('?' for _ in named)}))"
            )
            params.extend(named)
        clauses.append("(" + " OR ".join(verdict_clauses) + ")")
    if filt.disagree:
        clauses.append(
            "r.uid IN (SELECT record_uid FROM latest_verdicts "
            "WHERE verdict IN ('correct', 'incorrect', 'uncertain') GROUP BY record_uid "
            "HAVING count(DISTINCT verdict) > 1)"
        )
    if filt.conflicts:
        clauses.append("coalesce(s.conflict, false)")
    if filt.audit:
        clauses.append("r.uid IN (SELECT record_uid FROM audit_items)")
    if filt.near_duplicates:
        clauses.append(has_twin_sql("r.context_uid"))
    if filt.shard is not None:
        clauses.append(shard_clause(*filt.shard, filt.overlap))
    if filt.search.strip():
        clauses.append(
            f"({CURATED_VALUES_SQL['question']} ILIKE ? ESCAPE '\\' OR "
            f"{CURATED_VALUES_SQL['answer_json']} ILIKE ? ESCAPE '\\')"
        )
        pattern = "%" + filt.search.strip().replace("%", "\\%").replace("_", "\\_") + "%"
        params.extend([pattern, pattern])
    among("r.answer_type", filt.answer_types)
    among("r.answer_from", filt.answer_sources)
    if filt.uids:
        by_uid = "r.uid IN (SELECT unnest(?::VARCHAR[]))"
        if filt.splits:
            clauses.append(f"(r.split IN ({', '.join('?' for _ in filt.splits)}) OR {by_uid})")
            params.extend(filt.splits)
        else:
            clauses.append(by_uid)
        params.append(list(filt.uids))
    else:
        among("r.split", filt.splits)
    return clauses, params


_FROM = "FROM records r LEFT JOIN record_state s ON s.record_uid = r.uid"

#: A listing row's fields (`page`), in order: the one definition of their positions. The query
#: selects them in this order (its select list is written from it when called) and the reader
#: reads each at the position below, never at a number of its own.
LISTING_FIELDS: Final = (
    "seq",
    "uid",
    "split",
    "context_uid",
    "question",
    "answer_json",
    "answer_type",
    "answer_from",
    "scale",
    "status",
)
L_SEQ: Final = LISTING_FIELDS.index("seq")
L_UID: Final = LISTING_FIELDS.index("uid")
L_SPLIT: Final = LISTING_FIELDS.index("split")
L_CONTEXT_UID: Final = LISTING_FIELDS.index("context_uid")
L_QUESTION: Final = LISTING_FIELDS.index("question")
#: The curated answer as JSON text (`answer_from_json` decodes it).
L_ANSWER_JSON: Final = LISTING_FIELDS.index("answer_json")
L_ANSWER_TYPE: Final = LISTING_FIELDS.index("answer_type")
L_ANSWER_FROM: Final = LISTING_FIELDS.index("answer_from")
L_SCALE: Final = LISTING_FIELDS.index("scale")
L_STATUS: Final = LISTING_FIELDS.index("status")

#: Each field of a listing row as SQL over `_FROM`.
_LISTING_SQL = {
    "seq": "r.seq",
    "uid": "r.uid",
    "split": "r.split",
    "context_uid": "r.context_uid",
    "question": CURATED_VALUES_SQL["question"],
    "answer_json": CURATED_VALUES_SQL["answer_json"],
    "answer_type": "r.answer_type",
    "answer_from": "r.answer_from",
    "scale": CURATED_VALUES_SQL["scale"],
    "status": "coalesce(s.status, 'pending')",
}


def page(
    store: Store,
    filt: RecordFilter = RecordFilter(),
    *,
    after_seq: int = 0,
    limit: int = 50,
) -> list[RecordRow]:
    """The next `limit` records after `after_seq` in stable order, with status and verdicts."""
    filt.validate()
    clauses, params = _where(filt)
    where = " AND ".join(["r.seq > ?", *clauses])
    columns = select_list(LISTING_FIELDS, _LISTING_SQL)
    sql = f"SELECT {columns} {_FROM} WHERE {where} ORDER BY r.seq LIMIT ?"
    # The fields' positions (`LISTING_FIELDS`) as locals: the rows are indexed as fast as with
    # literal numbers (`curator list` reads a million of them).
    seq_at, uid_at, split_at, context_at = L_SEQ, L_UID, L_SPLIT, L_CONTEXT_UID
    question_at, answer_at, type_at, from_at = (
        L_QUESTION,
        L_ANSWER_JSON,
        L_ANSWER_TYPE,
        L_ANSWER_FROM,
    )
    scale_at, status_at = L_SCALE, L_STATUS
    with store.connection() as con:
        rows = con.execute(sql, [after_seq, *params, limit]).fetchall()
        verdicts = _latest_verdicts(con, [row[uid_at] for row in rows])
    return [
        RecordRow(
            seq=row[seq_at],
            uid=row[uid_at],
            split=row[split_at],
            context_uid=row[context_at],
            question=row[question_at],
            answer=answer_from_json(row[answer_at]),
            answer_type=row[type_at],
            answer_from=row[from_at],
            scale=row[scale_at],
            status=row[status_at],
            verdicts=verdicts.get(row[uid_at], {}),
        )
        for row in rows
    ]


def iter_all(
    store: Store,
    filt: RecordFilter = RecordFilter(),
    *,
    limit: int | None = None,
    page_size: int = 1000,
) -> Any:
    """Every matching record, fetched page by page (bounded memory for any store size)."""
    after = 0
    remaining = limit
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        rows = page(store, filt, after_seq=after, limit=size)
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        if remaining is not None:
            remaining -= len(rows)


def count(store: Store, filt: RecordFilter = RecordFilter()) -> int:
    filt.validate()
    clauses, params = _where(filt)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with store.connection() as con:
        row = con.execute(f"SELECT count(*) {_FROM}{where}", params).fetchone()
    return int(row[0]) if row else 0


def _latest_verdicts(con: duckdb.DuckDBPyConnection, uids: list[str]) -> dict[str, dict[str, str]]:
    if not uids:
        return {}
    rows = con.execute(
        # Filter before aggregating: the view would aggregate every verdict in the store first.
        "SELECT record_uid, judge, arg_max(verdict, verdict_id) FROM verdicts "
        "WHERE record_uid IN (SELECT unnest(?::VARCHAR[])) GROUP BY record_uid, judge "
        "ORDER BY judge",
        [uids],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for uid, judge, verdict in rows:
        out.setdefault(uid, {})[judge] = verdict
    return out


#: A record's imported fields, in order: the one definition of their positions in a row
#: selected with `RECORD_COLUMNS` (written from it), which `record_from_row` reads at the
#: positions below, never at numbers of its own. Rows that select more after them
#: (`curator.store.reviews.DETAIL_FIELDS`) place those after `RECORD_COLUMN_COUNT`.
RECORD_FIELDS: Final = (
    "seq",
    "uid",
    "context_uid",
    "split",
    "order",
    "question",
    "answer_json",
    "answer_type",
    "answer_from",
    "derivation",
    "scale",
    "rel_paragraphs",
    "req_comparison",
    "content_hash",
)
R_SEQ: Final = RECORD_FIELDS.index("seq")
R_UID: Final = RECORD_FIELDS.index("uid")
R_CONTEXT_UID: Final = RECORD_FIELDS.index("context_uid")
R_SPLIT: Final = RECORD_FIELDS.index("split")
R_ORDER: Final = RECORD_FIELDS.index("order")
R_QUESTION: Final = RECORD_FIELDS.index("question")
R_ANSWER_JSON: Final = RECORD_FIELDS.index("answer_json")
R_ANSWER_TYPE: Final = RECORD_FIELDS.index("answer_type")
R_ANSWER_FROM: Final = RECORD_FIELDS.index("answer_from")
R_DERIVATION: Final = RECORD_FIELDS.index("derivation")
R_SCALE: Final = RECORD_FIELDS.index("scale")
R_REL_PARAGRAPHS: Final = RECORD_FIELDS.index("rel_paragraphs")
R_REQ_COMPARISON: Final = RECORD_FIELDS.index("req_comparison")
R_CONTENT_HASH: Final = RECORD_FIELDS.index("content_hash")

#: Each imported field as SQL over `records r`.
_RECORD_SQL = {
    "seq": "r.seq",
    "uid": "r.uid",
    "context_uid": "r.context_uid",
    "split": "r.split",
    "order": "r.q_order",
    "question": "r.question",
    "answer_json": "CAST(r.answer AS VARCHAR)",
    "answer_type": "r.answer_type",
    "answer_from": "r.answer_from",
    "derivation": "r.derivation",
    "scale": "r.scale",
    "rel_paragraphs": "r.rel_paragraphs",
    "req_comparison": "r.req_comparison",
    "content_hash": "r.content_hash",
}
#: The select list of `RECORD_FIELDS` (a field named there without SQL here fails on import).
RECORD_COLUMNS = select_list(RECORD_FIELDS, _RECORD_SQL)
RECORD_COLUMN_COUNT = len(RECORD_FIELDS)


def record_from_row(row: Sequence[Any]) -> Record:
    """A Record from the first RECORD_COLUMN_COUNT values of a row selected with RECORD_COLUMNS."""
    return Record(
        seq=row[R_SEQ],
        uid=row[R_UID],
        context_uid=row[R_CONTEXT_UID],
        split=row[R_SPLIT],
        order=row[R_ORDER],
        question=row[R_QUESTION],
        answer=answer_from_json(row[R_ANSWER_JSON]),
        answer_type=row[R_ANSWER_TYPE],
        answer_from=row[R_ANSWER_FROM],
        derivation=row[R_DERIVATION],
        scale=row[R_SCALE],
        rel_paragraphs=tuple(row[R_REL_PARAGRAPHS]),
        req_comparison=bool(row[R_REQ_COMPARISON]),
        content_hash=row[R_CONTENT_HASH],
    )


def context_of(con: duckdb.DuckDBPyConnection, uid: str, split: str) -> tuple[Context, int]:
    """A context by uid (an index lookup), and its revision."""
    table_rows, paragraphs, source_file, revision = con.execute(
        "SELECT table_rows, paragraphs, source_file, revision FROM contexts WHERE uid = ?", [uid]
    ).fetchall()[0]
    return context_from_row(uid, split, table_rows, paragraphs, source_file), int(revision)


def context_from_row(
    uid: str, split: str, table_rows: Any, paragraphs: Any, source_file: str
) -> Context:
    """A Context from its columns (table_rows, paragraphs, source_file) as DuckDB returns them."""
    return Context(
        uid=uid,
        split=split,
        table=tuple(tuple(cells) for cells in table_rows),
        paragraphs=tuple(Paragraph(p["uid"], p["order"], p["text"]) for p in paragraphs),
        source_file=source_file,
    )


def get_record(store: Store, uid: str) -> tuple[Record, Context] | None:
    """One record as imported, with its context; None when the uid is unknown."""
    with store.connection() as con:
        rows = con.execute(
            f"SELECT {RECORD_COLUMNS} FROM records r WHERE r.uid = ?", [uid]
        ).fetchall()
        if not rows:
            return None
        record = record_from_row(rows[0])
        context, _ = context_of(con, record.context_uid, record.split)
    return record, context


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts for `curator stats`, the demo summary and the stats screen."""

    records: int
    contexts: int
    splits: dict[str, int]
    answer_types: dict[str, int]
    answer_sources: dict[str, int]
    statuses: dict[str, int]
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    imports: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "contexts": self.contexts,
            "imports": self.imports,
            "splits": dict(self.splits),
            "answer_types": dict(self.answer_types),
            "answer_sources": dict(self.answer_sources),
            "statuses": dict(self.statuses),
            "verdicts": {judge: dict(v) for judge, v in self.verdicts.items()},
        }


def stats(store: Store) -> StoreStats:
    from curator.domain import ANSWER_SOURCES, ANSWER_TYPES, REVIEW_STATUSES

    with store.connection() as con:

        def grouped(sql: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in con.execute(sql).fetchall()}

        totals = con.execute(
            "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM contexts), "
            "(SELECT count(*) FROM imports)"
        ).fetchone()
        assert totals is not None
        splits = grouped("SELECT split, count(*) FROM records GROUP BY split ORDER BY split")
        types = grouped("SELECT answer_type, count(*) FROM records GROUP BY answer_type")
        sources = grouped("SELECT answer_from, count(*) FROM records GROUP BY answer_from")
        statuses = grouped(f"SELECT coalesce(s.status, 'pending'), count(*) {_FROM} GROUP BY 1")
        verdict_rows = con.execute(
            "SELECT judge, verdict, count(*) FROM latest_verdicts v "
            "JOIN records r ON r.uid = v.record_uid GROUP BY judge, verdict ORDER BY judge, verdict"
        ).fetchall()
    verdicts: dict[str, dict[str, int]] = {}
    for judge, verdict, n in verdict_rows:
        verdicts.setdefault(judge, {})[verdict] = int(n)
    return StoreStats(
        records=int(totals[0]),
        contexts=int(totals[1]),
        imports=int(totals[2]),
        splits=splits,
        answer_types={t: types.get(t, 0) for t in ANSWER_TYPES},
        answer_sources={s: sources.get(s, 0) for s in ANSWER_SOURCES},
        statuses={s: statuses.get(s, 0) for s in REVIEW_STATUSES},
        verdicts=verdicts,
    )
