"""The rows an export reads (`exports.CURATED_ROW_FIELDS`), the rows of a record's detail
(`records.RECORD_FIELDS`, then `reviews.DETAIL_FIELDS`), of the listing
(`records.LISTING_FIELDS`), of the queue (`reviews.QUEUE_FIELDS`), of a judge's latest verdict
(`reviews.JUDGE_VIEW_FIELDS`), of open batches (`verdicts.BATCH_FIELDS`) and of a record's
history (`reviews.EVENT_FIELDS`) each have one
definition of their fields' order: the query selects them in that order and the reader reads
each field at the position that definition gives it, also when the order changes, so a field
added or moved cannot shift the reader against the query (every field would silently take its
neighbour's value). Checked on the layouts themselves, on rows read from a store with edited,
hostile and rejected records, and against another reader of the same records. And a record's
value after its latest edit (`records.CURATED_VALUES_SQL`) is the same for the judge, the
export and the record screen. Rows read straight into a dataclass (`StoredVerdict`,
`ReviewerActivity`) are selected in the dataclass's own field order, also when it changes."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from curator.domain import Context, JudgeKey, NewVerdict, Paragraph, RecordFilter, RecordRow
from curator.store import Store, exports, records, reviews, verdicts
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
from curator.store.verdicts import append_verdicts, record_hash_of, work_item, work_page
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


# -- the listing, the queue, a judge's latest verdict, open batches ---------------------------


def _permuted(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, prefix: str, layout: int
) -> None:
    """`module.<name>` in another order, each position constant (`prefix` + FIELD) with it."""
    fields = _layouts(getattr(module, name))[layout]
    monkeypatch.setattr(module, name, fields)
    for field in fields:
        monkeypatch.setattr(module, prefix + field.upper(), fields.index(field))


@pytest.fixture(scope="module")
def judged(store: Store) -> Store:
    """The store with two judges' verdicts (the latest of each counts), one citing evidence."""
    items = work_page(store, KEY, RecordFilter(), rejudge=True, limit=100_000)
    evidence = json.dumps([{"kind": "table", "text": "1,200", "row": 1, "col": 2}])
    append_verdicts(
        store, KEY, "r1", [NewVerdict(i.uid, i.record_hash, "incorrect") for i in items]
    )
    other = JudgeKey("panel", "m-2", "p-2")
    append_verdicts(
        store,
        other,
        "r2",
        [
            NewVerdict(i.uid, "old-hash", "correct", "looks right", cost_usd=0.25 * n)
            for n, i in enumerate(items[::3])
        ],
    )
    latest = [
        NewVerdict(i.uid, i.record_hash, "uncertain", "why", evidence=evidence) for i in items[::2]
    ]
    append_verdicts(store, KEY, "r3", latest)
    return store


def test_listing_queue_judge_and_batch_rows_select_each_field_at_its_position() -> None:
    for module, fields, prefix, sql in (
        (records, records.LISTING_FIELDS, "L_", records._LISTING_SQL),
        (reviews, reviews.QUEUE_FIELDS, "Q_", reviews._QUEUE_SQL),
        (reviews, reviews.JUDGE_VIEW_FIELDS, "J_", reviews._JUDGE_VIEW_SQL),
        (verdicts, verdicts.BATCH_FIELDS, "B_", verdicts._BATCH_SQL),
    ):
        assert _positions(module, fields, prefix) == {name: i for i, name in enumerate(fields)}
        assert set(sql) == set(fields)


@pytest.mark.parametrize("layout", range(1, 3), ids=["reversed", "rotated"])
def test_listing_reads_each_field_where_the_query_puts_it_in_any_layout(
    judged: Store, layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = records.page(judged, limit=100_000)
    searched = records.page(judged, RecordFilter(search="edited"), limit=100_000)
    _permuted(monkeypatch, records, "LISTING_FIELDS", "L_", layout)
    assert records.page(judged, limit=100_000) == expected
    assert records.page(judged, RecordFilter(search="edited"), limit=100_000) == searched


def test_listing_and_queue_rows_hold_the_values_the_record_detail_reads(judged: Store) -> None:
    listed = records.page(judged, limit=100_000)
    queued = reviews.queue_page(judged, sort="triage", limit=100_000)
    assert len(listed) == len(queued) > 100
    assert {r.status for r in listed} == {"accepted", "edited", "rejected"}
    details = record_details(judged, [(r.uid, r.seq) for r in listed])
    by_uid = {d.uid: d for d in details if d is not None}
    assert len(by_uid) == len(listed)
    rows: list[RecordRow | reviews.QueueRow] = [*listed, *queued]
    for row in rows:
        detail = by_uid[row.uid]
        assert (row.seq, row.split, row.status) == (detail.seq, detail.split, detail.status)
        assert (row.question, row.answer, row.scale) == (
            detail.question,
            detail.answer,
            detail.scale,
        )
        assert row.answer_type == detail.answer_type
        latest = {j.judge: j.verdict for j in detail.judges}
        assert row.verdicts == latest
    for row in listed:
        detail = by_uid[row.uid]
        assert (row.context_uid, row.answer_from) == (detail.context_uid, detail.answer_from)
    # Triage order: judged incorrect (rank 0) first, then the disagreements (rank 1).
    assert [r.rank for r in queued] == sorted(r.rank for r in queued)
    assert {r.rank for r in queued} == {0, 1, 2}


@pytest.mark.parametrize("layout", range(1, 3), ids=["reversed", "rotated"])
def test_queue_reads_each_field_where_the_query_puts_it_in_any_layout(
    judged: Store, layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page's own columns and, after them, the extra columns of `resume_page`.
    expected = reviews.queue_page(judged, sort="triage", limit=100_000)
    before = reviews.queue_page(judged, sort="store", before=(0, expected[40].seq), limit=7)
    view = RecordFilter(statuses=("edited", "rejected"))
    resumed = reviews.resume_page(judged, view, sort="triage", limit=5)
    assert resumed.rows and len(before) == 7
    _permuted(monkeypatch, reviews, "QUEUE_FIELDS", "Q_", layout)
    assert reviews.queue_page(judged, sort="triage", limit=100_000) == expected
    assert reviews.queue_page(judged, sort="store", before=(0, expected[40].seq), limit=7) == before
    assert reviews.resume_page(judged, view, sort="triage", limit=5) == resumed


@pytest.mark.parametrize("layout", range(1, 3), ids=["reversed", "rotated"])
def test_judge_views_read_each_field_where_the_query_puts_it_in_any_layout(
    judged: Store, layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One layout for both queries: a record's panes and several records read together.
    items = work_page(judged, KEY, RecordFilter(), rejudge=True, limit=12)
    wanted = [(i.uid, i.seq) for i in items]
    expected = record_details(judged, wanted)
    one_by_one = [record_detail(judged, uid, seq=seq) for uid, seq in wanted]
    assert one_by_one == expected
    views = [j for d in expected if d is not None for j in d.judges]
    assert {(j.judge, j.model, j.verdict) for j in views} == {
        ("rules", "v", "uncertain"),
        ("rules", "v", "incorrect"),
        ("panel", "m-2", "correct"),
    }
    assert {j.current for j in views if j.judge == "rules"} == {True}
    assert {(j.current, j.reason) for j in views if j.judge == "panel"} == {(False, "looks right")}
    assert {j.cost_usd for j in views if j.judge == "panel"} > {0.0}
    assert all(isinstance(j.created_at, datetime) for j in views)
    cited = [j.evidence for j in views if j.verdict == "uncertain"]
    assert cited and all(
        e == ({"kind": "table", "text": "1,200", "row": 1, "col": 2},) for e in cited
    )
    _permuted(monkeypatch, reviews, "JUDGE_VIEW_FIELDS", "J_", layout)
    assert record_details(judged, wanted) == expected
    assert [record_detail(judged, uid, seq=seq) for uid, seq in wanted] == expected


@pytest.mark.parametrize("layout", range(3), ids=["as-defined", "reversed", "rotated"])
def test_open_batches_read_each_field_where_the_query_puts_it_in_any_layout(
    tmp_path: Path, layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(tmp_path / "b.duckdb", create=True)
    key = JudgeKey("anthropic", "model-1", "prompt-1")
    saved = [
        verdicts.BatchRecord(
            f"batch-{n}",
            "anthropic",
            key.judge,
            key.model,
            key.prompt_hash,
            f"run-{n}",
            status,
            {"provider_id": f"msgbatch_{n}"},
        )
        for n, status in enumerate(("intent", "submitted"))
    ]
    for batch in saved:
        verdicts.save_batch(store, batch, [(f"c-{batch.batch_id}", "uid", "hash")])
    verdicts.save_batch(
        store, verdicts.BatchRecord("other", "anthropic", "x", "m", "p", "run", "submitted", {}), []
    )
    _permuted(monkeypatch, verdicts, "BATCH_FIELDS", "B_", layout)
    assert verdicts.open_batches(store, "anthropic", key) == saved


# -- a record's value after its latest edit -------------------------------------------------


def test_judge_export_and_detail_read_the_same_edited_values(tmp_path: Path) -> None:
    """One definition of the curated values (`records.CURATED_VALUES_SQL`): the judge's prompt,
    the exported line and the record screen all show the edit, not the import."""
    from curator.export.run import ExportOptions, export
    from curator.prompts import judge_prompt, render_answer

    store = Store.open(tmp_path / "e.duckdb", create=True)
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    items = work_page(store, KEY, RecordFilter(), limit=100_000)
    target = items[4]
    question = "What was the edited total in 2019?"
    edit: dict[str, Any] = {
        "question": question,
        "answer": ["4321.5"],
        "derivation": "4000 + 321.5",
        "scale": "million",
    }
    assert all(getattr(target, name) != value for name, value in edit.items())
    decide(store, target.uid, "edit", "ana", edited=edit)
    decide_many(store, [i.uid for i in items if i.uid != target.uid], "accept", "ana")
    judged = work_item(store, target.uid)
    (exported,) = [r for r in curated_records(store) if r.uid == target.uid]
    detail = record_detail(store, target.uid)
    assert judged is not None and detail is not None
    for reader in (judged, exported, detail):
        values = {name: getattr(reader, name) for name in edit}
        assert values == edit, type(reader).__name__
    assert detail.record.question == target.question  # the import is kept, not shown
    prompt = judge_prompt(
        table=judged.context.table,
        paragraphs=judged.context.paragraphs,
        question=judged.question,
        answer=judged.answer,
        scale=judged.scale,
    )
    assert question in prompt.user and target.question not in prompt.user
    assert render_answer(["4321.5"], "million") in prompt.user
    out = tmp_path / "out"
    export(store, out, ExportOptions(target="openai-chat", rationale=True))
    lines = {
        uid: line
        for name in ("train", "validation")
        for uid, line in zip(
            (out / f"{name}.uids.txt").read_text("utf-8").split(),
            (out / f"{name}.jsonl").read_text("utf-8").splitlines(),
            strict=True,
        )
    }
    line = lines[target.uid]
    assert question in line and target.question not in line
    assert "4321.5 million" in line and "4000 + 321.5" in line


# -- a record's history, its verdicts, reviewers' activity -----------------------------------


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Records with every kind of event, each field of each event a value of its own: an
    accept with a note, a blind accept, a reject with a reason, an edit, an undo (and the
    event it undoes), a note; two reviewers; verdicts with costs and token counts."""
    store = Store.open(tmp_path_factory.mktemp("events") / "s.duckdb", create=True)
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    items = work_page(store, KEY, RecordFilter(), rejudge=True, limit=100_000)
    a, b, c = items[0].uid, items[1].uid, items[2].uid
    decide(store, a, "accept", "ana", note="checked the table")
    decide(store, a, "reject", "bo", reason="wrong scale", note="see row 3")
    decide(store, b, "edit", "ana", edited={"scale": "percent"}, reason="scale")
    undone = decide(store, b, "accept", "ana", blind=True)
    reviews.undo(store, undone.event_id, "ana")
    reviews.add_note(store, c, "bo", "ask the team")
    decide_many(store, [i.uid for i in items[3:8]], "accept", "bo")
    append_verdicts(
        store,
        KEY,
        "r1",
        [
            NewVerdict(i.uid, i.record_hash, "incorrect", "why", input_tokens=11 + n,
                       output_tokens=3 + n, cost_usd=0.5 + n)
            for n, i in enumerate(items[:3])
        ],
    )  # fmt: skip
    append_verdicts(
        store, JudgeKey("panel", "m-2", "p-2"), "r2", [NewVerdict(a, "h", "correct", "ok")]
    )
    return store


def _history(store: Store) -> list[Any]:
    """Every way the history is read: a record's panes, several records' together, and each
    reviewer's live decisions."""
    wanted = [(i.uid, i.seq) for i in work_page(store, KEY, RecordFilter(), rejudge=True, limit=8)]
    details = record_details(store, wanted)
    one_by_one = [record_detail(store, uid) for uid, _ in wanted]
    return [
        [d.events if d else None for d in details],
        [d.events if d else None for d in one_by_one],
        reviews.recent_decisions(store, "ana"),
        reviews.recent_decisions(store, "bo"),
    ]


def test_event_rows_select_each_field_at_its_position() -> None:
    assert _positions(reviews, reviews.EVENT_FIELDS, "E_") == {
        name: i for i, name in enumerate(reviews.EVENT_FIELDS)
    }
    assert set(reviews._EVENT_SQL) == set(reviews.EVENT_FIELDS)


def test_history_rows_hold_each_events_own_values(reviewed: Store) -> None:
    uids = [item.uid for item in work_page(reviewed, KEY, RecordFilter(), rejudge=True, limit=3)]
    found = [record_detail(reviewed, uid) for uid in uids]
    assert all(d is not None for d in found)
    a, b, c = (d.events for d in found if d is not None)
    assert [(e.action, e.reviewer, e.reason, e.note, e.edited) for e in a] == [
        ("accept", "ana", "", "checked the table", None),
        ("reject", "bo", "wrong scale", "see row 3", None),
    ]
    edit, blind, undo = b
    assert (edit.action, edit.edited, edit.reason, edit.blind) == (
        "edit",
        {"scale": "percent"},
        "scale",
        False,
    )
    assert (blind.action, blind.blind, blind.undone, blind.undoes) == ("accept", True, True, None)
    assert (undo.action, undo.undoes, undo.undoes_uid, undo.undone) == (
        "undo",
        blind.event_id,
        blind.event_uid,
        False,
    )
    assert [(e.action, e.reviewer, e.note) for e in c] == [("note", "bo", "ask the team")]
    every = [*a, *b, *c]
    assert all(e.record_uid == uid for e, uid in zip(a, [uids[0]] * 2, strict=True))
    assert len({e.event_id for e in every}) == len({e.event_uid for e in every}) == len(every)
    assert [e.event_id for e in every] == sorted(e.event_id for e in every)
    assert all(isinstance(e.created_at, datetime) and e.event_uid for e in every)
    # `recent_decisions`: live ones only, newest first (the undone accept and the undo are not).
    ana = reviews.recent_decisions(reviewed, "ana")
    assert [(e.record_uid, e.action) for e in ana] == [(uids[1], "edit"), (uids[0], "accept")]


@pytest.mark.parametrize("layout", range(1, 3), ids=["reversed", "rotated"])
def test_history_reads_each_field_where_the_query_puts_it_in_any_layout(
    reviewed: Store, layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _history(reviewed)
    assert sum(len(events) for events in expected[0] if events) >= 10
    _permuted(monkeypatch, reviews, "EVENT_FIELDS", "E_", layout)
    assert _history(reviewed) == expected


def _reordered(cls: Any, layout: int) -> Any:
    """`cls` with its fields in another order (same names and types): a dataclass the query
    must follow for `cls(*row)` to read each field right."""
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    names = _layouts(tuple(fields))[layout]
    return dataclasses.make_dataclass(cls.__name__, [(n, fields[n]) for n in names], frozen=True)


def test_verdicts_and_activity_select_their_dataclass_fields(reviewed: Store) -> None:
    for cls, sql in (
        (verdicts.StoredVerdict, verdicts._STORED_VERDICT_SQL),
        (reviews.ReviewerActivity, reviews._ACTIVITY_SQL),
    ):
        assert list(sql) == [f.name for f in dataclasses.fields(cls)], cls.__name__
    a = work_page(reviewed, KEY, RecordFilter(), rejudge=True, limit=1)[0].uid
    got = verdicts.verdicts_for(reviewed, a)
    assert [(v.judge, v.model, v.verdict, v.reason) for v in got] == [
        ("panel", "m-2", "correct", "ok"),
        ("rules", "v", "incorrect", "why"),
    ]
    assert [(v.input_tokens, v.output_tokens, v.cost_usd) for v in got] == [(0, 0, 0), (11, 3, 0.5)]
    assert {v.record_uid for v in got} == {a} and got[0].verdict_id > got[1].verdict_id
    assert all(isinstance(v.created_at, datetime) for v in got)
    activity = {r.reviewer: r for r in reviews.reviewer_activity(reviewed)}
    ana, bo = activity["ana"], activity["bo"]
    assert [r.reviewer for r in reviews.reviewer_activity(reviewed)] == ["bo", "ana"]
    assert (ana.decisions, ana.accepted, ana.rejected, ana.edited, ana.undos) == (3, 2, 0, 1, 1)
    assert (bo.decisions, bo.accepted, bo.rejected, bo.edited, bo.undos) == (6, 5, 1, 0, 0)
    assert isinstance(ana.first, datetime) and ana.first < ana.last


@pytest.mark.parametrize("layout", range(1, 3), ids=["reversed", "rotated"])
def test_verdicts_and_activity_follow_their_dataclass_in_any_order(
    reviewed: Store, layout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `StoredVerdict(*row)` and `ReviewerActivity(*row)` read each value into the field at its
    # position: the select list is written from the dataclass, so another order reads the same.
    uids = [item.uid for item in work_page(reviewed, KEY, RecordFilter(), rejudge=True, limit=3)]
    expected = [dataclasses.asdict(v) for uid in uids for v in verdicts.verdicts_for(reviewed, uid)]
    activity = [dataclasses.asdict(r) for r in reviews.reviewer_activity(reviewed)]
    assert len(expected) == 4 and len(activity) == 2
    monkeypatch.setattr(verdicts, "StoredVerdict", _reordered(verdicts.StoredVerdict, layout))
    monkeypatch.setattr(reviews, "ReviewerActivity", _reordered(reviews.ReviewerActivity, layout))
    got = [verdicts.verdicts_for(reviewed, uid) for uid in uids]
    assert all(type(v) is verdicts.StoredVerdict for vs in got for v in vs)
    assert [dataclasses.asdict(v) for vs in got for v in vs] == expected
    assert [dataclasses.asdict(r) for r in reviews.reviewer_activity(reviewed)] == activity


def test_reviewers_with_as_many_decisions_are_listed_by_name(tmp_path: Path) -> None:
    """Most decisions first, and between equals by name: the same order on every run (the stats
    screen and `curator stats` list it)."""
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    names = ("zed", "amy", "mo", "kai", "bea", "lu", "ines")
    items = work_page(store, KEY, RecordFilter(), rejudge=True, limit=len(names))
    for reviewer, item in zip(names, items, strict=True):
        decide(store, item.uid, "accept", reviewer)
    decide(store, items[0].uid, "reject", "mo")
    expected = ["mo", *sorted(n for n in names if n != "mo")]
    assert [r.reviewer for r in reviews.reviewer_activity(store)] == expected
