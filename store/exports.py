"""What an export reads: curated records (edited values win) with their contexts, page by page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from curator.domain import (
    BadOption,
    Context,
    Paragraph,
    QARecord,
    RecordFilter,
    answer_from_json,
)
from curator.store.db import Store
from curator.store.records import CURATED_VALUES_SQL, _where
from curator.store.row_select import select_list
from curator.store.verdicts import RECORD_HASH_SQL


@dataclass(frozen=True, slots=True, kw_only=True)
class CuratedRecord(QARecord):
    """A record an export writes (curated values), and why it is in the export."""

    status: str  # accepted | edited | unreviewed (only when included as judged correct)
    source: str  # "reviewed" or "judged:<judge>"


def panel_judges(spec: str) -> tuple[str, ...]:
    """ "rules+anthropic" -> ("rules", "anthropic"): the judges that must all agree."""
    names = tuple(dict.fromkeys(part.strip() for part in spec.split("+")))
    if not names or any(not n for n in names):
        raise BadOption(f"--include-judged-correct {spec!r}: expected JUDGE or JUDGE+JUDGE...")
    return names


@dataclass(frozen=True, slots=True)
class CuratedKey:
    """What choosing an export's records needs of one record (split, sampling, audit, counts):
    no question, answer or context, so the whole set of them stays small."""

    seq: int
    uid: str
    context_uid: str
    answer_type: str
    answer_from: str
    status: str
    source: str


def _curated_sql(
    filt: RecordFilter, include_judged_correct: str | None, columns: str
) -> tuple[str, list[Any]]:
    """The curated rows' query (in store order) with these columns, and its parameters."""
    filt.validate()
    clauses, params = _where(filt)
    chosen = "s.status IN ('accepted', 'edited')"
    extra: list[Any] = []
    if include_judged_correct:
        # A panel: every judge named must call the current version of the record correct.
        agree = " AND ".join(
            "EXISTS (SELECT 1 FROM latest_verdicts v WHERE v.record_uid = r.uid AND v.judge = ? "
            f"AND v.verdict = 'correct' AND v.record_hash = {RECORD_HASH_SQL})"
            for _ in panel_judges(include_judged_correct)
        )
        chosen = f"({chosen} OR (s.status IS NULL AND {agree}))"
        extra = list(panel_judges(include_judged_correct))
    where = " AND ".join([chosen, *clauses])
    sql = (
        f"SELECT {columns} "
        "FROM records r JOIN contexts c ON c.uid = r.context_uid "
        "LEFT JOIN record_state s ON s.record_uid = r.uid "
        f"WHERE {where} ORDER BY r.seq"
    )
    return sql, [*extra, *params]


#: A row of `curated_pages`' query, in order: the one definition of its fields' positions.
#: The query selects them in this order (`_curated_row_sql` writes its select list from it)
#: and the reader reads each at the position below, never at a number of its own, so a field
#: added or moved here moves the query and the reader together.
CURATED_ROW_FIELDS: Final = (
    "same_context",
    "seq",
    "uid",
    "context_uid",
    "split",
    "question",
    "answer_json",
    "answer_type",
    "answer_from",
    "derivation",
    "scale",
    "status",
    "table_json",
    "paragraphs_json",
)
#: Whether the row's context is the one of the row before (store order): only a first row of
#: a context carries its table and paragraphs.
SAME_CONTEXT: Final = CURATED_ROW_FIELDS.index("same_context")
SEQ: Final = CURATED_ROW_FIELDS.index("seq")
UID: Final = CURATED_ROW_FIELDS.index("uid")
CONTEXT_UID: Final = CURATED_ROW_FIELDS.index("context_uid")
SPLIT: Final = CURATED_ROW_FIELDS.index("split")
QUESTION: Final = CURATED_ROW_FIELDS.index("question")
#: The curated answer as JSON text (`answer_from_json` decodes it).
ANSWER_JSON: Final = CURATED_ROW_FIELDS.index("answer_json")
ANSWER_TYPE: Final = CURATED_ROW_FIELDS.index("answer_type")
ANSWER_FROM: Final = CURATED_ROW_FIELDS.index("answer_from")
DERIVATION: Final = CURATED_ROW_FIELDS.index("derivation")
SCALE: Final = CURATED_ROW_FIELDS.index("scale")
STATUS: Final = CURATED_ROW_FIELDS.index("status")
#: The context's table rows and paragraphs as JSON text; NULL unless `same_context` is false.
TABLE_JSON: Final = CURATED_ROW_FIELDS.index("table_json")
PARAGRAPHS_JSON: Final = CURATED_ROW_FIELDS.index("paragraphs_json")

#: Each field of a curated row as SQL: over the curated records' query (records r, contexts c,
#: record_state s), named there, and the contexts' columns over the outer query's join (t).
_CURATED_ROW_SQL = {
    "same_context": "lag(r.context_uid) OVER (ORDER BY r.seq) IS NOT DISTINCT FROM r.context_uid",
    "seq": "r.seq",
    "uid": "r.uid",
    "context_uid": "r.context_uid",
    "split": "r.split",
    "question": CURATED_VALUES_SQL["question"],
    "answer_json": CURATED_VALUES_SQL["answer_json"],
    "answer_type": "r.answer_type",
    "answer_from": "r.answer_from",
    "derivation": CURATED_VALUES_SQL["derivation"],
    "scale": CURATED_VALUES_SQL["scale"],
    "status": "coalesce(s.status, 'unreviewed')",
}
_CONTEXT_JSON_SQL = {
    "table_json": "to_json(t.table_rows)",
    "paragraphs_json": "to_json(t.paragraphs)",
}
_KEY_COLUMNS = (
    "r.seq, r.uid, r.context_uid, r.answer_type, r.answer_from, coalesce(s.status, 'unreviewed')"
)


def _check_judges(store: Store, include_judged_correct: str | None) -> None:
    with store.connection() as con:
        for judge in panel_judges(include_judged_correct) if include_judged_correct else ():
            if not con.execute(
                "SELECT 1 FROM verdicts WHERE judge = ? LIMIT 1", [judge]
            ).fetchall():
                raise BadOption(
                    f"--include-judged-correct: judge {judge!r} has no verdicts in this store "
                    "(run `curator judge --judge " + judge + "` first)"
                )


def _source(status: str, include_judged_correct: str | None) -> str:
    return "reviewed" if status != "unreviewed" else f"judged:{include_judged_correct}"


def curated_keys(
    store: Store,
    filt: RecordFilter = RecordFilter(),
    *,
    include_judged_correct: str | None = None,
) -> list[CuratedKey]:
    """The keys of `curated_records`, in store order (what an export splits and samples)."""
    sql, params = _curated_sql(filt, include_judged_correct, _KEY_COLUMNS)
    _check_judges(store, include_judged_correct)
    with store.connection() as con:
        rows = con.execute(sql, params).fetchall()
    return [
        CuratedKey(seq, uid, ctx, at, af, status, _source(status, include_judged_correct))
        for seq, uid, ctx, at, af, status in rows
    ]


def curated_pages(
    store: Store,
    filt: RecordFilter = RecordFilter(),
    *,
    include_judged_correct: str | None = None,
    page_size: int = 1000,
) -> Iterator[list[CuratedRecord]]:
    """`curated_records` a page at a time, from one streamed query: only one page of rows and
    the contexts it names are in memory at once, however many records the store holds."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    sql, params = _curated_row_sql(filt, include_judged_correct)
    _check_judges(store, include_judged_correct)
    # The fields' positions (`CURATED_ROW_FIELDS`) as locals: the loop indexes the rows as fast
    # as with literal numbers.
    same_at, seq_at, uid_at, context_at, split_at = SAME_CONTEXT, SEQ, UID, CONTEXT_UID, SPLIT
    question_at, answer_at, type_at, from_at = QUESTION, ANSWER_JSON, ANSWER_TYPE, ANSWER_FROM
    derivation_at, scale_at, status_at = DERIVATION, SCALE, STATUS
    table_at, paragraphs_at = TABLE_JSON, PARAGRAPHS_JSON
    table: tuple[tuple[str, ...], ...] = ()
    paragraphs: tuple[Paragraph, ...] = ()
    context: Context | None = None
    with store.connection() as con:
        cursor = con.execute(sql, params)
        while rows := cursor.fetchmany(page_size):
            page = []
            for row in rows:
                if not row[same_at]:
                    table = tuple(tuple(r) for r in json.loads(row[table_at]))
                    paragraphs = tuple(
                        Paragraph(p["uid"], p["order"], p["text"])
                        for p in json.loads(row[paragraphs_at])
                    )
                if (
                    context is None
                    or context.uid != row[context_at]
                    or context.split != row[split_at]
                ):
                    # One Context value per run of a context's questions, shared by them.
                    context = Context(row[context_at], row[split_at], table, paragraphs)
                page.append(
                    CuratedRecord(
                        seq=row[seq_at],
                        uid=row[uid_at],
                        context=context,
                        question=row[question_at],
                        answer=answer_from_json(row[answer_at]),
                        answer_type=row[type_at],
                        answer_from=row[from_at],
                        derivation=row[derivation_at],
                        scale=row[scale_at],
                        status=row[status_at],
                        source=_source(row[status_at], include_judged_correct),
                    )
                )
            yield page


def _curated_row_sql(
    filt: RecordFilter, include_judged_correct: str | None
) -> tuple[str, list[Any]]:
    """`curated_pages`' query and its parameters: the fields of `CURATED_ROW_FIELDS`, in that
    order (written from it when called), in store order.

    One pass: the review-state view is computed once, not once per page; its rows come a page
    at a time (DuckDB streams the result). A row says whether its context is the one of the row
    before (a context's questions are neighbours in store order); only such a first row carries
    its context's table and paragraphs, as JSON text (far faster to bring into Python than
    DuckDB's nested lists), so each is converted about once and only a page's are held.
    (Reading them per page on a second cursor scanned the contexts table once a page.)
    """
    named = ", ".join(f"{sql} AS {name}" for name, sql in _CURATED_ROW_SQL.items())
    inner, params = _curated_sql(filt, include_judged_correct, named)
    outer = {**{name: f"x.{name}" for name in _CURATED_ROW_SQL}, **_CONTEXT_JSON_SQL}
    columns = select_list(CURATED_ROW_FIELDS, outer, alias=True)
    sql = (
        f"SELECT {columns} FROM ({inner.removesuffix(' ORDER BY r.seq')}) x "
        "LEFT JOIN contexts t ON NOT x.same_context AND t.uid = x.context_uid ORDER BY x.seq"
    )
    return sql, params


def curated_records(
    store: Store,
    filt: RecordFilter = RecordFilter(),
    *,
    include_judged_correct: str | None = None,
    page_size: int = 5000,
) -> Iterator[CuratedRecord]:
    """Accepted and edited records (never rejected), plus, when asked, unreviewed records whose
    latest verdict from `include_judged_correct` is correct. In store order."""
    for page in curated_pages(
        store, filt, include_judged_correct=include_judged_correct, page_size=page_size
    ):
        yield from page


def judge_versions(store: Store) -> list[dict[str, Any]]:
    """Which judges (model, prompt) have verdicts in the store: recorded in export manifests."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT judge, model, prompt_hash, count(*) FROM verdicts GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    return [{"judge": j, "model": m, "prompt_hash": p, "verdicts": int(n)} for j, m, p, n in rows]
