"""The rows an export reads (`exports.CURATED_ROW_FIELDS`) and the rows of a record's detail
(`records.RECORD_FIELDS`, then `reviews.DETAIL_FIELDS`) each have one definition of their
fields' order: the query selects them in that order and the reader reads each field at the
position that definition gives it, also when the order changes, so a field added or moved
cannot shift the reader against the query (every field would silently take its neighbour's
value). Checked on the layouts themselves, on rows read from a store with edited, hostile and
rejected records, and against another reader of the same records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from curator.domain import Context, JudgeKey, Paragraph, RecordFilter
from curator.store import Store, exports, records, reviews
from curator.store.exports import CURATED_ROW_FIELDS, curated_records
from curator.store.importer import import_file
from curator.store.records import RECORD_COLUMNS, RECORD_FIELDS, record_from_row
from curator.store.reviews import (
    DETAIL_COLUMNS,
    DETAIL_FIELDS,
    RecordPanes,
    decide,
    decide_many,
    record_detail,
    record_details,
)
from curator.store.verdicts import record_hash_of, work_page
from tests.conftest import SAMPLE_DATA
from tests.hostile import RECORDS, edit_hostile

KEY = JudgeKey("rules", "v", "v")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Hostile and sample records, all accepted but one edited (hostile text, another scale),
    one edited as well as accepted later, and one rejected (not exported)."""
    store = Store.open(tmp_path_factory.mktemp("rows") / "s.duckdb", create=True)
    import_file(store, RECORDS, "train")
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    import_file(store, SAMPLE_DATA / "sample_train.json", "train")
    items = work_page(store, KEY, RecordFilter(), limit=100_000)
    edited = edit_hostile(store, KEY)[1].uid
    decide(store, items[5].uid, "edit", "bo", edited={"derivation": "1 + 2", "scale": "percent"})
    decide(store, items[6].uid, "reject", "bo")
    done = {edited, items[5].uid, items[6].uid}
    decide_many(store, [i.uid for i in items if i.uid not in done], "accept", "bo")
    return store


def _layouts(fields: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [fields, tuple(reversed(fields)), fields[3:] + fields[:3]]


def _positions(module: Any, fields: tuple[str, ...], prefix: str = "") -> dict[str, int]:
    return {name: getattr(module, prefix + name.upper()) for name in fields}


# -- the export's rows ------------------------------------------------------------------------


def test_export_rows_select_each_field_at_its_position(store: Store) -> None:
    assert _positions(exports, CURATED_ROW_FIELDS) == {
        name: i for i, name in enumerate(CURATED_ROW_FIELDS)
    }
    sql_of = {**exports._CURATED_ROW_SQL, **exports._CONTEXT_JSON_SQL}
    assert len(sql_of) == len(exports._CURATED_ROW_SQL) + len(exports._CONTEXT_JSON_SQL)
    assert set(sql_of) == set(CURATED_ROW_FIELDS)
    sql, params = exports._curated_row_sql(RecordFilter(), None)
    with store.connection() as con:
        cursor = con.execute(sql, params)
        assert [d[0] for d in cursor.description] == list(CURATED_ROW_FIELDS)
        assert all(len(row) == len(CURATED_ROW_FIELDS) for row in cursor.fetchall())


def test_export_rows_hold_the_values_the_record_detail_reads(store: Store) -> None:
    exported = list(curated_records(store))
    assert len(exported) > 100
    assert {r.status for r in exported} == {"accepted", "edited"}
    assert sum(r.status == "edited" for r in exported) == 2
    for got in exported:
        detail = record_detail(store, got.uid, seq=got.seq, panes=False)
        assert detail is not None
        assert (got.seq, got.uid, got.status, got.source) == (
            detail.seq,
            detail.uid,
            detail.status,
            "reviewed",
        )
        for name in ("question", "answer", "answer_type", "answer_from", "derivation", "scale"):
            assert getattr(got, name) == getattr(detail, name), name
        assert (got.context.uid, got.context.split) == (detail.context_uid, detail.split)
        assert got.context.table == detail.context.table
        assert got.context.paragraphs == detail.context.paragraphs


@pytest.mark.parametrize("layout", range(1, 3), ids=["reversed", "rotated"])
def test_export_reads_each_field_where_the_query_puts_it_in_any_layout(
    store: Store, layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The query and the reader both follow CURATED_ROW_FIELDS: another order of it exports the
    # same records; a reader (or a query) with positions of its own would not.
    expected = list(curated_records(store, page_size=7))
    fields = _layouts(CURATED_ROW_FIELDS)[layout]
    monkeypatch.setattr(exports, "CURATED_ROW_FIELDS", fields)
    for name in fields:
        monkeypatch.setattr(exports, name.upper(), fields.index(name))
    assert list(curated_records(store, page_size=7)) == expected


# -- a record's detail ------------------------------------------------------------------------


def test_detail_rows_select_each_field_at_its_position() -> None:
    assert _positions(records, RECORD_FIELDS, "R_") == {
        name: i for i, name in enumerate(RECORD_FIELDS)
    }
    assert list(records._RECORD_SQL) == list(RECORD_FIELDS)
    assert ", ".join(records._RECORD_SQL.values()) == RECORD_COLUMNS
    assert len(RECORD_FIELDS) == records.RECORD_COLUMN_COUNT
    assert _positions(reviews, DETAIL_FIELDS, "D_") == {
        name: len(RECORD_FIELDS) + i for i, name in enumerate(DETAIL_FIELDS)
    }
    assert list(reviews._DETAIL_SQL) == list(DETAIL_FIELDS)
    assert ", ".join([RECORD_COLUMNS, *reviews._DETAIL_SQL.values()]) == DETAIL_COLUMNS


#: One row's values, every one different, so a field read at another's position shows.
RECORD_VALUES: dict[str, Any] = {
    "seq": 41,
    "uid": "uid-1",
    "context_uid": "context-1",
    "split": "dev",
    "order": 3,
    "question": "What was the revenue in 2019?",
    "answer_json": json.dumps(["120.5"]),
    "answer_type": "span",
    "answer_from": "table",
    "derivation": "100 + 20.5",
    "scale": "thousand",
    "rel_paragraphs": ["2"],
    "req_comparison": False,
    "content_hash": "hash-1",
}
DETAIL_VALUES: dict[str, Any] = {
    "question": "What was the revenue in 2020?",
    "answer_json": json.dumps(["130"]),
    "derivation": "120 + 10",
    "scale": "million",
    "status": "edited",
    "edited_json": '{"scale": "million"}',
    "conflict": False,
}


@pytest.mark.parametrize("layout", range(3), ids=["as-defined", "reversed", "rotated"])
def test_record_and_detail_readers_read_each_field_at_its_position(
    layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_fields = _layouts(RECORD_FIELDS)[layout]
    detail_fields = _layouts(DETAIL_FIELDS)[layout]
    for name in record_fields:
        monkeypatch.setattr(records, "R_" + name.upper(), record_fields.index(name))
    for name in detail_fields:
        at = len(record_fields) + detail_fields.index(name)
        monkeypatch.setattr(reviews, "D_" + name.upper(), at)
    row = (
        *(RECORD_VALUES[name] for name in record_fields),
        *(DETAIL_VALUES[name] for name in detail_fields),
    )
    record = record_from_row(row)
    assert (record.seq, record.uid, record.context_uid, record.split, record.order) == (
        41,
        "uid-1",
        "context-1",
        "dev",
        3,
    )
    assert (record.question, record.answer, record.derivation, record.scale) == (
        RECORD_VALUES["question"],
        ["120.5"],
        "100 + 20.5",
        "thousand",
    )
    assert (record.answer_type, record.answer_from, record.rel_paragraphs) == (
        "span",
        "table",
        ("2",),
    )
    assert (record.req_comparison, record.content_hash) == (False, "hash-1")
    context = Context("context-1", "dev", (("a",),), (Paragraph("p", 1, "t"),))
    detail = reviews._detail(record, context, row, "h", RecordPanes((), ()), False)
    assert reviews._row_hash(record, row, 7) == record_hash_of("hash-1", '{"scale": "million"}', 7)
    assert (detail.question, detail.answer, detail.derivation, detail.scale) == (
        DETAIL_VALUES["question"],
        ["130"],
        "120 + 10",
        "million",
    )
    assert (detail.status, detail.conflict, detail.record, detail.seq) == (
        "edited",
        False,
        record,
        41,
    )


def test_details_read_one_by_one_and_together_agree_with_the_judges_work(store: Store) -> None:
    # The record hash is computed from the detail row's edit (`edited_json`): the one a judge's
    # work page computes in SQL, for edited and unedited records alike.
    items = work_page(store, KEY, RecordFilter(), rejudge=True, limit=100_000)
    together = record_details(store, [(i.uid, i.seq) for i in items])
    edited = 0
    for item, many in zip(items, together, strict=True):
        one = record_detail(store, item.uid, seq=item.seq)
        assert many is not None and one == many
        assert many.record_hash == item.record_hash
        for name in ("question", "answer", "answer_type", "answer_from", "derivation", "scale"):
            assert getattr(many, name) == getattr(item, name), name
        assert many.context.uid == item.context.uid and many.seq == item.seq
        edited += many.status == "edited"
        if many.status == "edited":
            # The detail's curated values, not the imported ones its record keeps.
            curated = (many.question, many.derivation, many.scale)
            assert curated != (many.record.question, many.record.derivation, many.record.scale)
    assert edited == 2
