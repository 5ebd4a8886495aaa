"""Review queries: the queue in any order, one record in full, and appending decisions.

Decisions are append-only events. Undo appends an event naming the one it reverts; an edit
carries the new field values and leaves the imported record untouched. A decision is written to
the process's journal first (see journal.py): durable when `decide` returns, and in the store
then too unless the caller (the TUI) chose not to wait for the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

import duckdb

from curator.domain import (
    AnswerValue,
    BadInput,
    Context,
    CuratorError,
    QARecord,
    Record,
    RecordFilter,
    ReviewEvent,
    answer_from_json,
)
from curator.editing import EDITED_FIELDS
from curator.store.db import Store
from curator.store.ids import new_event_uid
from curator.store.journal import fold, journal_for
from curator.store.records import (
    CURATED_VALUES_SQL,
    R_CONTEXT_UID,
    R_SEQ,
    R_UID,
    RECORD_COLUMN_COUNT,
    RECORD_COLUMNS,
    _latest_verdicts,
    _where,
    context_from_row,
    context_of,
    record_from_row,
)
from curator.store.row_select import dataclass_columns, select_list
from curator.store.verdicts import RECORD_HASH_SQL, record_hash_of

#: Each record's latest verdict per judge as one bit (incorrect 1, correct 2, uncertain 4; any
#: other verdict 0), OR-ed over its judges: one integer aggregate. (Booleans per verdict and a
#: count of distinct verdicts took two aggregations over every verdict, about three times longer.)
_LATEST_FLAGS = (
    "LEFT JOIN (SELECT record_uid, bit_or(b) AS b FROM (SELECT record_uid, "
    "arg_max(CASE verdict WHEN 'incorrect' THEN 1 WHEN 'correct' THEN 2 WHEN 'uncertain' THEN 4 "
    "ELSE 0 END, verdict_id) AS b FROM verdicts GROUP BY record_uid, judge) GROUP BY record_uid) "
    "lv ON lv.record_uid = r.uid"
)
#: Triage order: judged incorrect (no judge calls it correct), then judges disagree (a panel's
#: latest verdicts differ: two or more of correct, incorrect, uncertain), then uncertain, then
#: the rest (no verdict, or only correct ones).
_TRIAGE_RANK = (
    "CASE WHEN lv.b & 3 = 1 THEN 0 WHEN lv.b IN (3, 5, 6, 7) THEN 1 "
    "WHEN lv.b & 4 = 4 THEN 2 ELSE 3 END"
)


@dataclass(frozen=True, slots=True)
class QueueRow:
    seq: int
    rank: int
    uid: str
    status: str
    answer_type: str
    split: str
    question: str
    verdicts: dict[str, str] = field(default_factory=dict)
    #: The curated answer (the edit's when edited) and its scale, for the queue's answer column.
    answer: AnswerValue = ""
    scale: str = ""

    @property
    def key(self) -> tuple[int, int]:
        return self.rank, self.seq


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _ranked_view(filt: RecordFilter, sort: str) -> tuple[str, list[Any]]:
    """The view's records as narrow rows (`seq`, `rank`: its order) and their parameters: what
    a queue page and a queue position both count from. Store order needs no verdicts: the
    triage flags aggregate every verdict of the store."""
    filt.validate()
    if sort not in ("store", "triage"):
        raise CuratorError(f"unknown sort {sort!r}")
    clauses, params = _where(filt)
    rank, flags = (_TRIAGE_RANK, _LATEST_FLAGS) if sort == "triage" else ("0", "")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (
        f"SELECT r.seq, {rank} AS rank "
        f"FROM records r LEFT JOIN record_state s ON s.record_uid = r.uid {flags}{where}"
    )
    return sql, params


def queue_page(
    store: Store,
    filt: RecordFilter = RecordFilter(),
    *,
    sort: str = "store",
    after: tuple[int, int] | None = None,
    limit: int = 100,
    before: tuple[int, int] | None = None,
) -> list[QueueRow]:
    """A page of the queue after (or before) a (rank, seq) key, in the chosen order."""
    # The page's keys first, from narrow rows; then the page's own columns for those rows only
    # (computing the question of every record of a 1M store before the sort took seconds).
    keys, params = _ranked_view(filt, sort)
    if before is not None:
        key_clause, order = "(rank < ? OR (rank = ? AND seq < ?))", "rank DESC, seq DESC"
        key = [before[0], before[0], before[1]]
    else:
        start = after or (-1, 0)
        key_clause, order = "(rank > ? OR (rank = ? AND seq > ?))", "rank, seq"
        key = [start[0], start[0], start[1]]
    page = f"page AS (SELECT * FROM ({keys}) WHERE {key_clause} ORDER BY {order} LIMIT ?)"
    with store.connection() as con:
        out, _ = _page_rows(con, page, [*params, *key, limit], order)
    return out[::-1] if before is not None else out


#: A queue row's fields (`_page_rows`), in order: the one definition of their positions. The
#: query selects them in this order (its select list is written from it when called), then the
#: caller's extra columns, and the reader reads each at the position below, never at a number
#: of its own.
QUEUE_FIELDS: Final = (
    "seq",
    "rank",
    "uid",
    "status",
    "answer_type",
    "split",
    "question",
    "answer_json",
    "scale",
)
Q_SEQ: Final = QUEUE_FIELDS.index("seq")
#: The view's order: (rank, seq) is a row's key.
Q_RANK: Final = QUEUE_FIELDS.index("rank")
Q_UID: Final = QUEUE_FIELDS.index("uid")
Q_STATUS: Final = QUEUE_FIELDS.index("status")
Q_ANSWER_TYPE: Final = QUEUE_FIELDS.index("answer_type")
Q_SPLIT: Final = QUEUE_FIELDS.index("split")
Q_QUESTION: Final = QUEUE_FIELDS.index("question")
#: The curated answer as JSON text (`_answer_or_text` decodes it).
Q_ANSWER_JSON: Final = QUEUE_FIELDS.index("answer_json")
Q_SCALE: Final = QUEUE_FIELDS.index("scale")

#: Each field of a queue row as SQL over the page's keys p, records r and review state s.
_QUEUE_SQL = {
    "seq": "p.seq",
    "rank": "p.rank",
    "uid": "r.uid",
    "status": "coalesce(s.status, 'pending')",
    "answer_type": "r.answer_type",
    "split": "r.split",
    "question": CURATED_VALUES_SQL["question"],
    "answer_json": CURATED_VALUES_SQL["answer_json"],
    "scale": CURATED_VALUES_SQL["scale"],
}


def _page_rows(
    con: duckdb.DuckDBPyConnection, ctes: str, params: list[Any], order: str, extra: str = ""
) -> tuple[list[QueueRow], tuple[Any, ...]]:
    """The queue rows of a page whose keys a CTE `page` (seq, rank) among `ctes` selects, in
    `order`; and the values of the `extra` columns (", expr, ...") of its first row."""
    page_order = order.replace("rank", "p.rank").replace("seq", "p.seq")
    columns = select_list(QUEUE_FIELDS, _QUEUE_SQL, alias=True)
    sql = (
        f"WITH {ctes} SELECT {columns}{extra} "
        "FROM page p JOIN records r ON r.seq = p.seq "
        f"LEFT JOIN record_state s ON s.record_uid = r.uid ORDER BY {page_order}"
    )
    rows = con.execute(sql, params).fetchall()
    # The fields' positions (`QUEUE_FIELDS`) as locals: as fast as literal numbers.
    seq_at, rank_at, uid_at, status_at, type_at = Q_SEQ, Q_RANK, Q_UID, Q_STATUS, Q_ANSWER_TYPE
    split_at, question_at, answer_at, scale_at = Q_SPLIT, Q_QUESTION, Q_ANSWER_JSON, Q_SCALE
    verdicts = _latest_verdicts(con, [row[uid_at] for row in rows])
    out = [
        QueueRow(
            seq=row[seq_at],
            rank=row[rank_at],
            uid=row[uid_at],
            status=row[status_at],
            answer_type=row[type_at],
            split=row[split_at],
            question=row[question_at],
            verdicts=verdicts.get(row[uid_at], {}),
            answer=_answer_or_text(row[answer_at]),
            scale=row[scale_at] or "",
        )
        for row in rows
    ]
    return out, tuple(rows[0][len(QUEUE_FIELDS) :]) if rows else ()


def _answer_or_text(text: str | None) -> AnswerValue:
    """A stored answer's JSON back to its type; text that is not one is shown as it is."""
    if text is None:
        return ""
    try:
        return answer_from_json(text)
    except ValueError:
        return text


def queue_position(store: Store, filt: RecordFilter, *, sort: str, key: tuple[int, int]) -> int:
    """How many records of the view come before `key` in its order (the "23 / 710" of the
    record screen, for a queue that was opened in the middle of its view)."""
    inner, params = _ranked_view(filt, sort)
    sql = f"SELECT count(*) FROM ({inner}) WHERE rank < ? OR (rank = ? AND seq < ?)"
    with store.connection() as con:
        row = con.execute(sql, [*params, key[0], key[0], key[1]]).fetchone()
    return int(row[0]) if row else 0


def first_pending(
    store: Store, filt: RecordFilter = RecordFilter(), *, sort: str = "store"
) -> QueueRow | None:
    """Where a reviewer resumes: the first pending record of the view."""
    pending = replace(filt, statuses=("pending",))
    rows = queue_page(store, pending, sort=sort, limit=1)
    return rows[0] if rows else None


@dataclass(frozen=True, slots=True)
class ResumedPage:
    """Where a review session opens its view: the first page from the view's first pending
    record (`resumed`), or from the view's start when it has none."""

    rows: list[QueueRow]
    resumed: bool
    #: Records of the view before the first row (the "23" of "23 / 710").
    before: int


def resume_page(
    store: Store, filt: RecordFilter = RecordFilter(), *, sort: str = "store", limit: int = 100
) -> ResumedPage:
    """The page `queue_page(filt, after=first_pending(filt))` returns, from one scan of the
    view: its rows are ranked once (in triage order that is an aggregation of every verdict)
    and both the first pending record and the page are read from them.

    As with `first_pending`, "pending" ignores the view's own status filter: a view of accepted
    records opens at the first accepted record after the first pending one.
    """
    filt.validate()
    if sort not in ("store", "triage"):
        raise CuratorError(f"unknown sort {sort!r}")
    clauses, params = _where(replace(filt, statuses=()))
    in_view, view_params = "true", list[Any]()
    if filt.statuses:
        (in_view,), view_params = _where(RecordFilter(statuses=filt.statuses))
        clauses = [*clauses, f"({in_view} OR s.status IS NULL)"]
        params = [*params, *view_params]
    rank, flags = (_TRIAGE_RANK, _LATEST_FLAGS) if sort == "triage" else ("0", "")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    ctes = (
        f"v AS MATERIALIZED (SELECT r.seq, {rank} AS rank, s.status IS NULL AS pending, "
        f"{in_view} AS in_view FROM records r "
        f"LEFT JOIN record_state s ON s.record_uid = r.uid {flags}{where}), "
        "start AS (SELECT rank, seq FROM v WHERE pending ORDER BY rank, seq LIMIT 1), "
        "k AS (SELECT coalesce(max(rank), -1) AS rank, coalesce(max(seq), 0) AS seq, "
        "count(*) AS found FROM start), "
        "page AS (SELECT v.seq, v.rank FROM v, k WHERE v.in_view AND "
        "(v.rank > k.rank OR (v.rank = k.rank AND v.seq >= k.seq)) ORDER BY v.rank, v.seq LIMIT ?)"
    )
    extra = (
        ", (SELECT found FROM k), (SELECT count(*) FROM v, k WHERE v.in_view AND "
        "(v.rank < k.rank OR (v.rank = k.rank AND v.seq < k.seq)))"
    )
    with store.connection() as con:
        rows, first = _page_rows(con, ctes, [*view_params, *params, limit], "rank, seq", extra)
    if rows:
        found, before = first
        return ResumedPage(rows, bool(found), int(before))
    # No pending record, or nothing of the view from it on: the view from its start.
    return ResumedPage(queue_page(store, filt, sort=sort, limit=limit), False, 0)


# -- one record -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JudgeView:
    judge: str
    model: str
    verdict: str
    reason: str
    cost_usd: float
    created_at: Any
    current: bool  # judged this version of the record
    #: what the verdict rests on: {kind, text, row?, col?} (see curator.judges.rules.Evidence)
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordDetail(QARecord):
    """Everything the record screen shows: the record with its curated values and context,
    as imported (`record`), its review status, verdicts and history."""

    record: Record
    status: str
    record_hash: str
    judges: tuple[JudgeView, ...]
    events: tuple[ReviewEvent, ...]
    conflict: bool = False
    #: False for a record read without its panes (`panes=False`): `judges` and `events` are
    #: empty until `with_panes` fills them from `record_panes`.
    panes: bool = True

    def with_panes(self, panes: RecordPanes) -> RecordDetail:
        return replace(self, judges=panes.judges, events=panes.events, panes=True)


@dataclass(frozen=True, slots=True)
class RecordPanes:
    """What a record screen can draw after the record itself: verdicts and review history."""

    judges: tuple[JudgeView, ...]
    events: tuple[ReviewEvent, ...]


#: What a record's detail reads after its imported fields (`RECORD_FIELDS`), in order: the
#: one definition of their positions. `DETAIL_COLUMNS` selects them in this order (written from
#: it) and `_detail` reads each at the position below, never at a number of its own.
DETAIL_FIELDS: Final = (
    "question",
    "answer_json",
    "derivation",
    "scale",
    "status",
    "edited_json",
    "conflict",
)
#: The curated values (the live edit's when there is one).
D_QUESTION: Final = RECORD_COLUMN_COUNT + DETAIL_FIELDS.index("question")
D_ANSWER_JSON: Final = RECORD_COLUMN_COUNT + DETAIL_FIELDS.index("answer_json")
D_DERIVATION: Final = RECORD_COLUMN_COUNT + DETAIL_FIELDS.index("derivation")
D_SCALE: Final = RECORD_COLUMN_COUNT + DETAIL_FIELDS.index("scale")
D_STATUS: Final = RECORD_COLUMN_COUNT + DETAIL_FIELDS.index("status")
#: The live edit as JSON text (NULL when none): part of the record's hash.
D_EDITED_JSON: Final = RECORD_COLUMN_COUNT + DETAIL_FIELDS.index("edited_json")
D_CONFLICT: Final = RECORD_COLUMN_COUNT + DETAIL_FIELDS.index("conflict")

#: Each field of `DETAIL_FIELDS` as SQL over records r and its review state s.
_DETAIL_SQL = {
    "question": CURATED_VALUES_SQL["question"],
    "answer_json": CURATED_VALUES_SQL["answer_json"],
    "derivation": CURATED_VALUES_SQL["derivation"],
    "scale": CURATED_VALUES_SQL["scale"],
    "status": "coalesce(s.status, 'pending')",
    "edited_json": "CAST(s.edited AS VARCHAR)",
    "conflict": "coalesce(s.conflict, false)",
}
#: A detail row's select list: `RECORD_COLUMNS`, then `DETAIL_FIELDS` (a field named there
#: without SQL here fails on import).
DETAIL_COLUMNS = f"{RECORD_COLUMNS}, {select_list(DETAIL_FIELDS, _DETAIL_SQL)}"


def record_detail(
    store: Store, uid: str, *, seq: int | None = None, panes: bool = True
) -> RecordDetail | None:
    """One record in full. Pass `seq` when known: it finds the row without scanning uids.

    With `panes=False` only the record, its context and status are read (what a screen needs
    to show it and decide it); `record_panes` reads the judges' verdicts and the history.
    """
    with store.connection(about=(uid,)) as con:
        return _read_detail(con, uid, seq, panes)


def record_details(store: Store, wanted: list[tuple[str, int]]) -> list[RecordDetail | None]:
    """Several records in full (uid, seq), read in one turn on the store: what a review
    session reads ahead, without waiting for other processes' turns once per record.

    Four queries for all of them (records, contexts, verdicts, events), not four per record:
    a turn reads the 50-200 records a reviewer needs while others write in ~1 ms each."""
    if not wanted:
        return []
    uids = [uid for uid, _ in wanted]
    marks = ", ".join("?" * len(uids))
    seqs = [seq for _, seq in wanted]
    with store.connection(about=uids) as con:
        # Constant lists, not joined arrays: DuckDB pushes them into the scans (and the
        # uid into record_state's fold of events, as `_read_detail` does for one).
        rows = con.execute(
            f"SELECT {DETAIL_COLUMNS} FROM records r LEFT JOIN record_state s "
            f"ON s.record_uid = r.uid AND s.record_uid IN ({marks}) "
            f"WHERE r.seq BETWEEN ? AND ? AND r.uid IN ({marks})",
            [*uids, min(seqs), max(seqs), *uids],
        ).fetchall()
        found = {(row[R_UID], row[R_SEQ]): row for row in rows}
        contexts = (
            {
                c[0]: c[1:]
                for c in con.execute(
                    "SELECT uid, table_rows, paragraphs, source_file, revision FROM contexts "
                    f"WHERE uid IN ({', '.join('?' * len({r[R_CONTEXT_UID] for r in rows}))})",
                    sorted({r[R_CONTEXT_UID] for r in rows}),
                ).fetchall()
            }
            if rows
            else {}
        )
        judges: dict[str, list[Any]] = {}
        # Each judge view's row, then its record's uid.
        uid_at = len(JUDGE_VIEW_FIELDS)
        for j in con.execute(
            _latest_judges_sql(f"record_uid IN ({marks})", per_record=True), uids
        ).fetchall():
            judges.setdefault(j[uid_at], []).append(j)
        events: dict[str, list[ReviewEvent]] = {}
        for event in _events(con, f"e.record_uid IN ({marks})", uids):
            events.setdefault(event.record_uid, []).append(event)
    details: list[RecordDetail | None] = []
    for uid, seq in wanted:
        row = found.get((uid, seq))
        if row is None:
            details.append(None)
            continue
        record = record_from_row(row)
        table_rows, paragraphs, source_file, revision = contexts[record.context_uid]
        context = context_from_row(
            record.context_uid, record.split, table_rows, paragraphs, source_file
        )
        record_hash = _row_hash(record, row, int(revision))
        panes = RecordPanes(
            tuple(_judge_view(j, record_hash) for j in judges.get(uid, ())),
            tuple(events.get(uid, ())),
        )
        details.append(_detail(record, context, row, record_hash, panes, True))
    return details


def _read_detail(
    con: duckdb.DuckDBPyConnection, uid: str, seq: int | None, panes: bool
) -> RecordDetail | None:
    if seq is not None:
        where, key = "r.seq = ? AND r.uid = ?", [seq, uid]
    else:
        where, key = "r.uid = ?", [uid]
    # Two narrow lookups instead of a join: joining would read every context's table. The
    # uid in the join's condition lets DuckDB fold only this record's events into its state
    # (a few times faster than folding every event of the store).
    rows = con.execute(
        f"SELECT {DETAIL_COLUMNS} "
        "FROM records r LEFT JOIN record_state s ON s.record_uid = r.uid AND s.record_uid = ? "
        f"WHERE {where}",
        [uid, *key],
    ).fetchall()
    if not rows:
        return None
    row = rows[0]
    record = record_from_row(row)
    context, revision = context_of(con, record.context_uid, record.split)
    record_hash = _row_hash(record, row, revision)
    found = _panes(con, record.uid, record_hash) if panes else RecordPanes((), ())
    return _detail(record, context, row, record_hash, found, panes)


def _row_hash(record: Record, row: Any, context_revision: int) -> str:
    """The version hash of the record of a row of `DETAIL_COLUMNS` (`RECORD_HASH_SQL`)."""
    return record_hash_of(record.content_hash, row[D_EDITED_JSON], context_revision)


def _detail(
    record: Record,
    context: Context,
    row: Any,
    record_hash: str,
    found: RecordPanes,
    panes: bool,
) -> RecordDetail:
    """A RecordDetail from a row of `DETAIL_COLUMNS`."""
    return RecordDetail(
        record=record,
        uid=record.uid,
        seq=record.seq,
        answer_type=record.answer_type,
        answer_from=record.answer_from,
        context=context,
        question=row[D_QUESTION],
        answer=answer_from_json(row[D_ANSWER_JSON]),
        derivation=row[D_DERIVATION],
        scale=row[D_SCALE],
        status=row[D_STATUS],
        record_hash=record_hash,
        judges=found.judges,
        events=found.events,
        conflict=bool(row[D_CONFLICT]),
        panes=panes,
    )


def record_panes(store: Store, uid: str, record_hash: str) -> RecordPanes:
    """The judges' latest verdicts (`current` when they judged `record_hash`) and the review
    history of one record."""
    with store.connection(about=(uid,)) as con:
        return _panes(con, uid, record_hash)


def _panes(con: duckdb.DuckDBPyConnection, uid: str, record_hash: str) -> RecordPanes:
    judges = con.execute(_latest_judges_sql("record_uid = ?"), [uid]).fetchall()
    events = _events(con, "record_uid = ?", [uid])
    return RecordPanes(
        judges=tuple(_judge_view(j, record_hash) for j in judges), events=tuple(events)
    )


#: A judge's latest verdict on a record as `_judge_view` reads it, in order: the one definition
#: of its fields' positions in the rows of `_latest_judges_sql` (written from it when called),
#: which a record's panes and `record_details` both read.
JUDGE_VIEW_FIELDS: Final = (
    "judge",
    "model",
    "verdict",
    "reason",
    "cost_usd",
    "created_at",
    "record_hash",
    "evidence",
)
J_JUDGE: Final = JUDGE_VIEW_FIELDS.index("judge")
J_MODEL: Final = JUDGE_VIEW_FIELDS.index("model")
J_VERDICT: Final = JUDGE_VIEW_FIELDS.index("verdict")
J_REASON: Final = JUDGE_VIEW_FIELDS.index("reason")
J_COST_USD: Final = JUDGE_VIEW_FIELDS.index("cost_usd")
J_CREATED_AT: Final = JUDGE_VIEW_FIELDS.index("created_at")
#: The version of the record the verdict judged (`current` when it is the record's hash now).
J_RECORD_HASH: Final = JUDGE_VIEW_FIELDS.index("record_hash")
#: The verdict's evidence as JSON text ('' when it has none).
J_EVIDENCE: Final = JUDGE_VIEW_FIELDS.index("evidence")

#: Each field of a judge view as SQL over the latest verdicts v.
_JUDGE_VIEW_SQL = {
    "judge": "judge",
    "model": "model",
    "verdict": "verdict",
    "reason": "reason",
    "cost_usd": "cost_usd",
    "created_at": "created_at",
    "record_hash": "record_hash",
    "evidence": "coalesce((SELECT max(x.evidence) FROM verdict_evidence x "
    "WHERE x.verdict_id = v.verdict_id), '')",
}


def _latest_judges_sql(where: str, *, per_record: bool = False) -> str:
    """The latest verdict per judge (per record and judge with `per_record`, the record's uid
    selected after the judge view's fields) of the verdicts `where` selects, then the evidence
    of those only."""
    key, uid = ("record_uid, judge", ", record_uid") if per_record else ("judge", "")
    columns = select_list(JUDGE_VIEW_FIELDS, _JUDGE_VIEW_SQL)
    return (
        f"WITH v AS (SELECT verdict_id{uid}, judge, model, verdict, reason, cost_usd, "
        f"created_at, record_hash FROM verdicts WHERE {where} QUALIFY row_number() OVER "
        f"(PARTITION BY {key} ORDER BY verdict_id DESC) = 1) "
        f"SELECT {columns}{uid} FROM v ORDER BY {key}"
    )


def _judge_view(j: Any, record_hash: str) -> JudgeView:
    """A judge's latest verdict from a row of `JUDGE_VIEW_FIELDS`: `current` when it judged
    `record_hash`."""
    return JudgeView(
        judge=j[J_JUDGE],
        model=j[J_MODEL],
        verdict=j[J_VERDICT],
        reason=j[J_REASON],
        cost_usd=j[J_COST_USD],
        created_at=j[J_CREATED_AT],
        current=j[J_RECORD_HASH] == record_hash,
        evidence=_evidence(j[J_EVIDENCE]),
    )


def _evidence(text: str) -> tuple[dict[str, Any], ...]:
    """Stored evidence JSON as dicts; anything unreadable shows as no evidence, never a crash."""
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return ()
    return tuple(i for i in items if isinstance(i, dict)) if isinstance(items, list) else ()


#: A review event's row as `_events` reads it, in order: the one definition of its fields'
#: positions. The query selects them in this order (written from it when called) and the reader
#: reads each at the position below, never at a number of its own.
EVENT_FIELDS: Final = (
    "event_id",
    "record_uid",
    "action",
    "reviewer",
    "created_at",
    "reason",
    "note",
    "edited_json",
    "undoes",
    "blind",
    "undone",
    "event_uid",
    "undoes_uid",
)
E_EVENT_ID: Final = EVENT_FIELDS.index("event_id")
E_RECORD_UID: Final = EVENT_FIELDS.index("record_uid")
E_ACTION: Final = EVENT_FIELDS.index("action")
E_REVIEWER: Final = EVENT_FIELDS.index("reviewer")
E_CREATED_AT: Final = EVENT_FIELDS.index("created_at")
E_REASON: Final = EVENT_FIELDS.index("reason")
E_NOTE: Final = EVENT_FIELDS.index("note")
#: An edit's new values as JSON text (None for any other event).
E_EDITED_JSON: Final = EVENT_FIELDS.index("edited_json")
E_UNDOES: Final = EVENT_FIELDS.index("undoes")
E_BLIND: Final = EVENT_FIELDS.index("blind")
#: Whether a later undo reverts this event.
E_UNDONE: Final = EVENT_FIELDS.index("undone")
E_EVENT_UID: Final = EVENT_FIELDS.index("event_uid")
E_UNDOES_UID: Final = EVENT_FIELDS.index("undoes_uid")

#: Each field of an event's row as SQL over review_events e.
_EVENT_SQL: Final = {
    "event_id": "e.event_id",
    "record_uid": "e.record_uid",
    "action": "e.action",
    "reviewer": "e.reviewer",
    "created_at": "e.created_at",
    "reason": "e.reason",
    "note": "e.note",
    "edited_json": "CAST(e.edited AS VARCHAR)",
    "undoes": "e.undoes",
    "blind": "e.blind",
    "undone": "EXISTS (SELECT 1 FROM review_events u WHERE u.action = 'undo' "
    "AND u.undoes = e.event_id)",
    "event_uid": "e.event_uid",
    "undoes_uid": "e.undoes_uid",
}


def _events(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[ReviewEvent]:
    columns = select_list(EVENT_FIELDS, _EVENT_SQL)
    rows = con.execute(
        f"SELECT {columns} FROM review_events e WHERE {where} ORDER BY e.event_id", params
    ).fetchall()
    # The fields' positions (`EVENT_FIELDS`) as locals: as fast as literal numbers.
    id_at, uid_at, action_at, reviewer_at = E_EVENT_ID, E_RECORD_UID, E_ACTION, E_REVIEWER
    when_at, reason_at, note_at, edited_at = E_CREATED_AT, E_REASON, E_NOTE, E_EDITED_JSON
    undoes_at, blind_at = E_UNDOES, E_BLIND
    undone_at, event_uid_at, undoes_uid_at = E_UNDONE, E_EVENT_UID, E_UNDOES_UID
    return [
        ReviewEvent(
            event_id=r[id_at],
            record_uid=r[uid_at],
            action=r[action_at],
            reviewer=r[reviewer_at],
            created_at=r[when_at],
            reason=r[reason_at],
            note=r[note_at],
            edited=json.loads(r[edited_at]) if r[edited_at] else None,
            undoes=r[undoes_at],
            blind=bool(r[blind_at]),
            undone=bool(r[undone_at]),
            event_uid=r[event_uid_at],
            undoes_uid=r[undoes_uid_at],
        )
        for r in rows
    ]


# -- decisions ------------------------------------------------------------------------------

#: What a reviewer can decide about a record; "flag" (for discussion) is a status until decided.
DECISIONS = ("accept", "reject", "edit", "flag")
#: Longest note stored; a note is a comment, not a document.
NOTE_CHARS = 4000
EDITABLE_FIELDS = EDITED_FIELDS


def decide(
    store: Store,
    uid: str,
    action: str,
    reviewer: str,
    *,
    reason: str = "",
    note: str = "",
    edited: dict[str, Any] | None = None,
    blind: bool = False,
    record_hash: str | None = None,
    wait: bool = True,
) -> ReviewEvent:
    """Append one decision to this process's journal (durable when this returns).

    With `wait` (the default) the decision is also in the store when this returns, and the
    event carries its store id. Without it (the TUI) nothing waits for the store: the journal's
    folder stores it in the background; pass the `record_hash` the reviewer saw, so that no
    store read is needed either.
    """
    if action not in DECISIONS:
        raise CuratorError(f"unknown decision {action!r}")
    if action == "edit":
        if not edited or set(edited) - set(EDITABLE_FIELDS):
            raise CuratorError(f"an edit carries some of {', '.join(EDITABLE_FIELDS)}")
    elif edited:
        raise CuratorError("only an edit carries new values")
    if record_hash is None:
        record_hash = _record_hash(store, uid)
    event = ReviewEvent(
        0,
        uid,
        action,
        reviewer,
        _now(),
        reason,
        note,
        edited,
        None,
        blind,
        event_uid=new_event_uid(),
    )
    return _journal(store, event, record_hash, wait)


def add_note(
    store: Store,
    uid: str,
    reviewer: str,
    text: str,
    *,
    record_hash: str | None = None,
    wait: bool = True,
) -> ReviewEvent:
    """Append a reviewer's note on a record to its history, through the journal like a decision
    (durable when this returns, safe with many writers). A note changes no status."""
    text = text.strip()
    if not text:
        raise BadInput("note", "text", "a note needs some text")
    if len(text) > NOTE_CHARS:
        raise BadInput(
            "note", "text", f"a note is at most {NOTE_CHARS:,} characters (this one: {len(text):,})"
        )
    if record_hash is None:
        try:
            record_hash = _record_hash(store, uid)
        except CuratorError as exc:
            raise BadInput("note", "uid", str(exc)) from exc
    event = ReviewEvent(0, uid, "note", reviewer, _now(), note=text, event_uid=new_event_uid())
    return _journal(store, event, record_hash, wait)


def _record_hash(store: Store, uid: str) -> str:
    """The version hash of a record as it stands (raises when there is no such record)."""
    with store.connection() as con:
        found = con.execute(
            f"SELECT {RECORD_HASH_SQL} FROM records r JOIN contexts c ON c.uid = r.context_uid "
            "LEFT JOIN record_state s ON s.record_uid = r.uid WHERE r.uid = ?",
            [uid],
        ).fetchall()
    if not found:
        raise CuratorError(f"no record with uid {uid!r}")
    return str(found[0][0])


def _journal(store: Store, event: ReviewEvent, record_hash: str, wait: bool) -> ReviewEvent:
    journal = journal_for(store)
    journal.append(
        {
            "event_uid": event.event_uid,
            "record_uid": event.record_uid,
            "action": event.action,
            "reviewer": event.reviewer,
            "created_at": event.created_at.isoformat(),
            "reason": event.reason,
            "note": event.note,
            "edited": event.edited,
            "undoes_uid": event.undoes_uid,
            "blind": event.blind,
            "record_hash": record_hash,
        }
    )
    if not wait:
        return event
    fold(store, journal)
    with store.connection() as con:
        found = con.execute(
            "SELECT event_id, undoes FROM review_events WHERE event_uid = ?", [event.event_uid]
        ).fetchall()
    if not found:
        raise CuratorError(f"event {event.event_uid} was journaled but not stored")
    return replace(event, event_id=int(found[0][0]), undoes=found[0][1])


def decide_many(
    store: Store, uids: list[str], action: str, reviewer: str, *, reason: str = ""
) -> int:
    """The same accept or reject for many records as one batch in one transaction (tests,
    benchmarks). Each record still gets its own event, with its version hash, exactly as
    single decisions; see store/bulk.py for bulk decisions by a judge panel's verdict."""
    from curator.store.bulk import decide_uids

    return decide_uids(store, uids, action, reviewer, reason=reason)


def undo(
    store: Store,
    event_id: int | None,
    reviewer: str,
    *,
    event_uid: str | None = None,
    record_uid: str | None = None,
    wait: bool = True,
) -> ReviewEvent:
    """Revert one live decision, named by its id or (exactly) its uid, with an undo event.

    Without `wait` (the TUI undoing a decision of its own session, which it knows is live) the
    undo goes to the journal at once; give `event_uid` and `record_uid`.
    """
    if not wait:
        if event_uid is None or record_uid is None:
            raise CuratorError("an undo without waiting names the event's uid and record")
        event = ReviewEvent(
            0,
            record_uid,
            "undo",
            reviewer,
            _now(),
            event_uid=new_event_uid(),
            undoes_uid=event_uid,
        )
        return _journal(store, event, "", wait=False)
    with store.connection() as con:
        if event_uid is not None:
            found = _events(con, "e.event_uid = ?", [event_uid])
        else:
            found = _events(con, "e.event_id = ?", [event_id])
    name = event_uid if event_uid is not None else event_id
    if not found:
        raise CuratorError(f"no review event {name}")
    target = found[0]
    if target.action == "undo":
        raise CuratorError("an undo cannot be undone; decide the record again instead")
    if target.undone:
        raise CuratorError(f"event {name} is already undone")
    event = ReviewEvent(
        0,
        target.record_uid,
        "undo",
        reviewer,
        _now(),
        event_uid=new_event_uid(),
        undoes_uid=target.event_uid,
    )
    return _journal(store, event, "", wait=True)


def recent_decisions(store: Store, reviewer: str, limit: int = 50) -> list[ReviewEvent]:
    """A reviewer's live decisions, newest first (what `u` and the undo history offer)."""
    with store.connection() as con:
        events = _events(
            con,
            "e.reviewer = ? AND e.action NOT IN ('undo', 'note') AND NOT EXISTS "
            "(SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id)",
            [reviewer],
        )
    return events[::-1][:limit]


def curated_questions(store: Store, uids: list[str]) -> dict[str, str]:
    """Each record's question as curated (an edit's when edited): what the undo picker shows
    beside a decision, so a reviewer recognises the record without knowing its uid."""
    if not uids:
        return {}
    with store.connection() as con:
        rows = con.execute(
            f"SELECT r.uid, {CURATED_VALUES_SQL['question']} FROM records r "
            "LEFT JOIN record_state s ON s.record_uid = r.uid "
            "WHERE r.uid IN (SELECT unnest(?::VARCHAR[]))",
            [uids],
        ).fetchall()
    return {str(uid): str(question) for uid, question in rows}


# -- progress, sessions, agreement -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    reviewed: int
    by_reviewer: int


def progress(store: Store, reviewer: str, filt: RecordFilter = RecordFilter()) -> Progress:
    clauses, params = _where(filt)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with store.connection() as con:
        row = con.execute(
            # A flagged record waits for a decision: not reviewed yet.
            "SELECT count(*), count(*) FILTER (WHERE s.status <> 'flagged'), "
            "count(*) FILTER (WHERE s.reviewer = ? AND s.status <> 'flagged') "
            f"FROM records r LEFT JOIN record_state s ON s.record_uid = r.uid{where}",
            [reviewer, *params],
        ).fetchall()[0]
    return Progress(int(row[0]), int(row[1]), int(row[2]))


def save_session(store: Store, reviewer: str, state: dict[str, Any]) -> None:
    with store.transaction() as con:
        con.execute("DELETE FROM review_sessions WHERE reviewer = ?", [reviewer])
        con.execute(
            "INSERT INTO review_sessions VALUES (?, ?, ?)", [reviewer, json.dumps(state), _now()]
        )


def load_session(store: Store, reviewer: str) -> dict[str, Any]:
    with store.connection() as con:
        rows = con.execute(
            "SELECT CAST(state AS VARCHAR) FROM review_sessions WHERE reviewer = ?", [reviewer]
        ).fetchall()
    return dict(json.loads(rows[0][0])) if rows else {}


@dataclass(frozen=True, slots=True)
class AgreementCounts:
    """Judge verdict against the human decision, per judge and answer type.

    Human label: accepted means the record was right; rejected means it was not; edited means
    it was not only when the edit changed a value the judge vouched for (answer, scale,
    derivation), see `curator.agreement.human_label`.
    Only judge verdicts correct/incorrect enter the matrix; the rest are counted as abstained.
    """

    cells: dict[tuple[str, str, str, str], int]  # (judge, answer_type, human, judge_verdict)
    abstained: dict[str, int]


def agreement_counts(store: Store) -> AgreementCounts:
    """An edited record counts as `incorrect` only when the edit changed the value of its
    answer, scale or derivation against the imported record (`curator.agreement.human_label`);
    a reworded question or a re-rounded answer counts as `correct`."""
    from curator.agreement import human_label

    with store.connection() as con:
        rows = con.execute(
            "SELECT v.judge, r.answer_type, "
            "CASE WHEN s.status = 'accepted' THEN 'correct' ELSE 'incorrect' END AS human, "
            "v.verdict, count(*) FROM latest_verdicts v JOIN records r ON r.uid = v.record_uid "
            "JOIN record_state s ON s.record_uid = v.record_uid "
            "WHERE s.status NOT IN ('edited', 'flagged') "
            "GROUP BY ALL"
        ).fetchall()
        edits = con.execute(
            "SELECT v.judge, r.answer_type, v.verdict, CAST(r.answer AS VARCHAR), r.scale, "
            "r.derivation, CAST(s.edited AS VARCHAR), count(*) FROM latest_verdicts v "
            "JOIN records r ON r.uid = v.record_uid "
            "JOIN record_state s ON s.record_uid = v.record_uid WHERE s.status = 'edited' "
            "GROUP BY ALL"
        ).fetchall()
    for judge, answer_type, verdict, answer, scale, derivation, edited, n in edits:
        before = {"answer": answer_from_json(answer), "scale": scale, "derivation": derivation}
        human = human_label("edit", before, json.loads(edited) if edited else None)
        rows.append((judge, answer_type, human, verdict, n))
    cells: dict[tuple[str, str, str, str], int] = {}
    abstained: dict[str, int] = {}
    for judge, answer_type, human, verdict, n in rows:
        if verdict in ("correct", "incorrect"):
            key = (judge, answer_type, human, verdict)
            cells[key] = cells.get(key, 0) + int(n)
        else:
            abstained[judge] = abstained.get(judge, 0) + int(n)
    return AgreementCounts(cells, abstained)


@dataclass(frozen=True, slots=True)
class ReviewerActivity:
    reviewer: str
    decisions: int
    accepted: int
    rejected: int
    edited: int
    undos: int
    first: Any
    last: Any


#: Each field of `ReviewerActivity` as SQL over review_events grouped by reviewer: the select
#: list is written from the dataclass's fields (`row_select.dataclass_columns`), so
#: `ReviewerActivity(*row)` reads each one.
_ACTIVITY_SQL: Final = {
    "reviewer": "reviewer",
    "decisions": "count(*) FILTER (WHERE action NOT IN ('undo', 'note'))",
    "accepted": "count(*) FILTER (WHERE action = 'accept')",
    "rejected": "count(*) FILTER (WHERE action = 'reject')",
    "edited": "count(*) FILTER (WHERE action = 'edit')",
    "undos": "count(*) FILTER (WHERE action = 'undo')",
    "first": "min(created_at)",
    "last": "max(created_at)",
}


def reviewer_activity(store: Store) -> list[ReviewerActivity]:
    """Each reviewer's decisions by kind, undos and first and last event, most decisions
    first."""
    columns = dataclass_columns(ReviewerActivity, _ACTIVITY_SQL)
    with store.connection() as con:
        rows = con.execute(
            f"SELECT {columns} FROM review_events GROUP BY reviewer "
            'ORDER BY "decisions" DESC, "reviewer"'
        ).fetchall()
    return [ReviewerActivity(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class Changes:
    """What other processes wrote since the last look (new events and verdicts)."""

    events: list[tuple[int, str, str, str]]  # event id, record uid, reviewer, action
    verdict_uids: list[str]
    last_event: int
    last_verdict: int
    statuses: dict[str, str]
    #: The store's latest import (0: none): records another process imported change counts.
    last_import: int = 0


def changes_since(store: Store, last_event: int, last_verdict: int) -> Changes:
    """New events and verdicts after the given ids, and the current status of those records."""
    with store.connection() as con:
        events = con.execute(
            "SELECT event_id, record_uid, reviewer, action FROM review_events "
            "WHERE event_id > ? ORDER BY event_id",
            [last_event],
        ).fetchall()
        verdicts = con.execute(
            "SELECT verdict_id, record_uid FROM verdicts WHERE verdict_id > ? ORDER BY verdict_id",
            [last_verdict],
        ).fetchall()
        imported = con.execute("SELECT coalesce(max(import_id), 0) FROM imports").fetchone()
        uids = sorted({e[1] for e in events})
        statuses = (
            dict(
                con.execute(
                    "SELECT record_uid, status FROM record_state "
                    "WHERE record_uid IN (SELECT unnest(?::VARCHAR[]))",
                    [uids],
                ).fetchall()
            )
            if uids
            else {}
        )
    return Changes(
        events=[(int(e[0]), e[1], e[2], e[3]) for e in events],
        verdict_uids=sorted({v[1] for v in verdicts}),
        last_event=max([last_event, *(int(e[0]) for e in events)]),
        last_verdict=max([last_verdict, *(int(v[0]) for v in verdicts)]),
        statuses={u: statuses.get(u, "pending") for u in uids},
        last_import=int(imported[0]) if imported else 0,
    )


def reviewer_pair_counts(store: Store) -> dict[tuple[str, str], dict[tuple[str, str], int]]:
    """For each pair of reviewers, how their latest live decisions on shared records compare.

    Labels: accept = correct; reject or edit = incorrect (the record needed fixing).
    """
    with store.connection() as con:
        rows = con.execute(
            "WITH live AS (SELECT * FROM review_events e WHERE e.action IN ('accept', 'reject', "
            "'edit') AND NOT EXISTS "
            "(SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id)), "
            "latest AS (SELECT record_uid, reviewer, CASE arg_max(action, event_id) "
            "WHEN 'accept' THEN 'correct' ELSE 'incorrect' END AS label FROM live GROUP BY ALL) "
            "SELECT a.reviewer, b.reviewer, a.label, b.label, count(*) FROM latest a "
            "JOIN latest b ON a.record_uid = b.record_uid AND a.reviewer < b.reviewer "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    out: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
    for ra, rb, la, lb, n in rows:
        out.setdefault((ra, rb), {})[(la, lb)] = int(n)
    return out
