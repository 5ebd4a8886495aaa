"""Importing TAT-QA files: real data, idempotency, changes, and every kind of bad input."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from curator.domain import BadInput
from curator.store import Store
from curator.store.importer import import_file, import_files
from curator.store.records import get_record, stats
from tests.conftest import SAMPLE_DATA, tiny_context, write_json


def snapshot(path: Path) -> str:
    """A digest of every row of every table: equal digests mean the store did not change."""
    store = Store(path)
    digest = hashlib.sha256()
    with store.connection() as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:
            rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            digest.update(f"{table}:{rows!r}".encode())
    return digest.hexdigest()


@pytest.fixture
def store(store_path: Path) -> Store:
    return Store.open(store_path, create=True)


# -- real data ------------------------------------------------------------------------------


@pytest.mark.shared
def test_dev_file_imports_278_contexts_and_again_nothing_new(tatqa_dir: Path, store: Store) -> None:
    first = import_file(store, tatqa_dir / "tatqa_dataset_dev.json", "dev")
    assert (first.contexts, first.questions) == (278, 1668)
    assert (first.new_contexts, first.new_records) == (278, 1668)
    assert first.by_answer_type == {"span": 701, "multi-span": 217, "arithmetic": 718, "count": 32}
    before = snapshot(store.path)
    second = import_file(store, tatqa_dir / "tatqa_dataset_dev.json", "dev")
    assert (second.new_records, second.changed_records, second.unchanged_records) == (0, 0, 1668)
    assert second.new_contexts == 0 and second.changed_contexts == 0
    result = stats(store)
    assert (result.records, result.contexts) == (1668, 278)
    # Only the import log grew; no record, context or revision row was written.
    with store.connection() as con:
        revisions = con.execute("SELECT count(*) FROM record_revisions").fetchone()
    assert revisions == (0,)
    assert snapshot(store.path) != before  # the second import is logged


@pytest.mark.shared
def test_test_gold_file_with_extra_fields_imports(tatqa_dir: Path, store: Store) -> None:
    summary = import_file(store, tatqa_dir / "tatqa_dataset_test_gold.json", "test")
    assert (summary.contexts, summary.questions) == (277, 1663)


@pytest.mark.shared
def test_answer_json_types_survive_the_round_trip(tatqa_dir: Path, store: Store) -> None:
    import_file(store, tatqa_dir / "tatqa_dataset_dev.json", "dev")
    raw = json.loads((tatqa_dir / "tatqa_dataset_dev.json").read_text("utf-8"))
    checked = 0
    for ctx in raw[:40]:
        for q in ctx["questions"]:
            got = get_record(store, q["uid"])
            assert got is not None
            record, context = got
            assert record.answer == q["answer"]
            assert type(record.answer) is type(q["answer"])
            assert record.derivation == q["derivation"]
            assert list(record.rel_paragraphs) == q["rel_paragraphs"]
            assert [list(r) for r in context.table] == ctx["table"]["table"]
            checked += 1
    assert checked > 200


def test_sample_data_covers_every_answer_type_and_scale(store: Store) -> None:
    files = sorted(SAMPLE_DATA.glob("*.json"))
    summaries = import_files(store, [(f, f.stem) for f in files])
    assert sum(s.contexts for s in summaries) == 26
    assert sum(s.questions for s in summaries) == 152
    with store.connection() as con:
        types = {r[0] for r in con.execute("SELECT DISTINCT answer_type FROM records").fetchall()}
        scales = {r[0] for r in con.execute("SELECT DISTINCT scale FROM records").fetchall()}
        negatives = con.execute(
            "SELECT count(*) FROM records WHERE CAST(answer AS VARCHAR) LIKE '%(%)%'"
        ).fetchone()
    assert types == {"span", "multi-span", "arithmetic", "count"}
    assert scales == {"", "thousand", "million", "billion", "percent"}
    assert negatives is not None and negatives[0] > 0


def test_accounting_negatives_and_number_types_are_kept(tmp_path: Path, store: Store) -> None:
    ctx = tiny_context(q_uids=("q-span", "q-int", "q-float", "q-count"))
    ctx["questions"][0]["answer"] = ["(110)"]
    ctx["questions"][1].update(answer=-1310, answer_type="arithmetic", derivation="-110 - 1,200")
    ctx["questions"][2].update(answer=12.5, answer_type="arithmetic", scale="percent")
    ctx["questions"][3].update(answer="2", answer_type="count", derivation="2019##2018")
    import_file(store, write_json(tmp_path / "neg.json", [ctx]), "train")
    answers = {}
    for uid in ("q-span", "q-int", "q-float", "q-count"):
        got = get_record(store, uid)
        assert got is not None
        answers[uid] = got[0].answer
    assert answers == {"q-span": ["(110)"], "q-int": -1310, "q-float": 12.5, "q-count": "2"}
    assert isinstance(answers["q-int"], int) and isinstance(answers["q-float"], float)
    got = get_record(store, "q-span")
    assert got is not None and got[1].table[1] == ("Revenue", "$1,200", "(110)")


def test_identical_duplicates_in_a_file_are_skipped(tmp_path: Path, store: Store) -> None:
    ctx = tiny_context(q_uids=("q-1", "q-2"))
    summary = import_file(store, write_json(tmp_path / "d.json", [ctx, copy.deepcopy(ctx)]), "x")
    assert summary.questions == 2
    assert summary.duplicates_skipped == 2
    assert summary.contexts == 1 and summary.new_contexts == 1


def test_reimport_of_a_changed_record_keeps_history_and_says_what_differs(
    tmp_path: Path, store: Store
) -> None:
    path = write_json(tmp_path / "data.json", [tiny_context(q_uids=("q-1", "q-2"))])
    import_file(store, path, "train")
    with store.transaction() as con:
        con.execute(
            "INSERT INTO review_events (event_id, event_uid, record_uid, action, reviewer, "
            "created_at) VALUES (1, 'e1', 'q-1', 'accept', 'ana', now()::TIMESTAMP)"
        )
    changed = tiny_context(q_uids=("q-1", "q-2"))
    changed["questions"][0]["answer"] = ["(110)"]
    changed["questions"][0]["question"] = "What was revenue in 2018?"
    summary = import_file(store, write_json(path, [changed]), "train")
    assert (summary.changed_records, summary.unchanged_records, summary.new_records) == (1, 1, 0)
    assert summary.reviewed_changed == 1
    fields = {c.field: (c.old, c.new) for c in summary.changes if c.uid == "q-1"}
    assert fields["answer"] == ('["$1,200"]', '["(110)"]')
    assert fields["question"] == ("What was revenue in 2019?", "What was revenue in 2018?")
    got = get_record(store, "q-1")
    assert got is not None and got[0].answer == ["(110)"]
    with store.connection() as con:
        old = con.execute(
            "SELECT CAST(answer AS VARCHAR), revision FROM record_revisions WHERE uid = 'q-1'"
        ).fetchall()
        events = con.execute(
            "SELECT count(*) FROM review_events WHERE record_uid = 'q-1'"
        ).fetchone()
        revision = con.execute("SELECT revision FROM records WHERE uid = 'q-1'").fetchone()
    assert old == [('["$1,200"]', 1)]
    assert events == (1,)
    assert revision == (2,)


def test_moving_records_to_another_split_is_a_change(tmp_path: Path, store: Store) -> None:
    path = write_json(tmp_path / "data.json", [tiny_context()])
    import_file(store, path, "train")
    summary = import_file(store, path, "dev")
    assert summary.changed_records == 1 and summary.changed_contexts == 1
    assert stats(store).splits == {"dev": 1}


# -- bad input ------------------------------------------------------------------------------


def _q(**changes: Any) -> Callable[[list[Any]], None]:
    def mutate(data: list[Any]) -> None:
        data[0]["questions"][0].update(changes)

    return mutate


def _drop(key: str) -> Callable[[list[Any]], None]:
    def mutate(data: list[Any]) -> None:
        del data[0]["questions"][0][key]

    return mutate


BAD_STRUCTURES: list[tuple[str, Callable[[list[Any]], Any], str]] = [
    ("missing answer_type", _drop("answer_type"), "missing field 'answer_type'"),
    ("missing uid", _drop("uid"), "missing field 'uid'"),
    ("question is a number", _q(question=12), "field 'question' must be a string, found a number"),
    ("order is text", _q(order="1"), "field 'order' must be an integer, found a string"),
    (
        "order past 64 bits",
        _q(order=2**63),
        "field 'order' is 9223372036854775808; expected an integer from -9,223,372,036,854,775,808",
    ),
    (
        "paragraph order past 64 bits",
        lambda d: d[0]["paragraphs"][0].update(order=-(2**63) - 1),
        "paragraph #1: field 'order' is -9223372036854775809; expected an integer from",
    ),
    ("req_comparison is text", _q(req_comparison="no"), "must be true or false"),
    ("unknown answer type", _q(answer_type="table-span"), "field 'answer_type' is \"table-span\""),
    ("unknown scale", _q(scale="percentage"), "field 'scale' is \"percentage\""),
    ("unknown source", _q(answer_from="pdf"), "field 'answer_from' is \"pdf\""),
    ("span answer is a number", _q(answer=5), "field 'answer' of a span question must be"),
    ("span answer is empty", _q(answer=[]), "field 'answer' of a span question must be"),
    ("span answer has a null", _q(answer=["a", None]), "field 'answer' of a span question"),
    (
        "arithmetic answer is a list",
        _q(answer=["5"], answer_type="arithmetic"),
        "field 'answer' of an arithmetic question must be a number",
    ),
    (
        "arithmetic answer is words",
        _q(answer="five", answer_type="arithmetic"),
        "of an arithmetic question must be a number",
    ),
    ("count answer is a fraction", _q(answer=2.5, answer_type="count"), "must be a whole number"),
    ("rel_paragraphs holds numbers", _q(rel_paragraphs=[1]), "must be a list of strings"),
    ("derivation is null", _q(derivation=None), "missing field 'derivation'"),
    (
        "table cell is a number",
        lambda d: d[0]["table"].update(table=[["a", 1]]),
        "must be a list of rows, each a list of strings",
    ),
    ("table uid missing", lambda d: d[0]["table"].pop("uid"), "missing field 'uid'"),
    ("questions missing", lambda d: d[0].pop("questions"), "missing field 'questions'"),
    (
        "questions is an object",
        lambda d: d[0].update(questions={}),
        "field 'questions' must be a list, found an object",
    ),
    (
        "paragraph text is a list",
        lambda d: d[0]["paragraphs"][0].update(text=["x"]),
        "paragraph #1: field 'text' must be a string, found a list",
    ),
    ("context is a string", lambda d: d.append("oops"), "context #3: expected an object"),
    (
        "question is a string",
        lambda d: d[0]["questions"].append("q"),
        "question #2: expected an object",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [(m, e) for _, m, e in BAD_STRUCTURES],
    ids=[n for n, _, _ in BAD_STRUCTURES],
)
def test_bad_structure_is_refused_with_its_place_and_store_unchanged(
    tmp_path: Path, store: Store, mutate: Callable[[list[Any]], Any], expected: str
) -> None:
    import_file(store, write_json(tmp_path / "good.json", [tiny_context("ctx-0", ("q-0",))]), "t")
    before = snapshot(store.path)
    data = [tiny_context(), tiny_context("ctx-2", ("q-2",))]
    mutate(data)
    bad = write_json(tmp_path / "bad.json", data)
    with pytest.raises(BadInput) as info:
        import_file(store, bad, "train")
    message = str(info.value)
    assert message.startswith(str(bad) + ": ")
    assert "context #" in message
    assert expected in message
    assert "\n" not in message
    assert snapshot(store.path) == before


BAD_BYTES: list[tuple[str, bytes, str]] = [
    ("empty file", b"", "file is empty"),
    ("only whitespace", b"  \n\n", "file is empty"),
    ("empty list", b"[]", "the list of contexts is empty"),
    ("not json", b'[{"table": {"uid": "x" "table": []}}]', "line 1, column 24: invalid JSON"),
    ("truncated", b'[{"table": {"uid": "x"', "invalid JSON"),
    ("text", b"hello", "line 1, column 1: invalid JSON"),
    ("top-level object", b'{"table": {}}', "expected a JSON list of contexts, found an object"),
    ("newline-delimited", b'{"a": 1}\n{"a": 2}\n', "invalid JSON"),
    ("list of numbers", b"[1, 2]", "context #1: expected an object, found a number"),
    (
        "not utf-8",
        b'[\n{"table": {"uid": "caf\xe9", "table": []}, "paragraphs": [], "questions": []}]',
        "line 2, column 23: not UTF-8 text (byte 0xe9)",
    ),
    ("null element", b"[null]", "context #1"),
]


@pytest.mark.parametrize(
    ("content", "expected"), [(c, e) for _, c, e in BAD_BYTES], ids=[n for n, _, _ in BAD_BYTES]
)
def test_unparseable_files_are_refused_with_a_position(
    tmp_path: Path, store: Store, content: bytes, expected: str
) -> None:
    before = snapshot(store.path)
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(BadInput) as info:
        import_file(store, bad, "train")
    assert str(info.value).startswith(str(bad))
    assert expected in str(info.value)
    assert snapshot(store.path) == before


def test_duplicate_uid_with_different_content_is_refused(tmp_path: Path, store: Store) -> None:
    a = tiny_context("ctx-a", ("q-1",))
    b = tiny_context("ctx-b", ("q-1",))
    b["questions"][0]["answer"] = ["(110)"]
    with pytest.raises(BadInput) as info:
        import_file(store, write_json(tmp_path / "dup.json", [a, b]), "train")
    assert "uid 'q-1'" in str(info.value)
    assert "context #1 question #1 and context #2 question #1" in str(info.value)
    assert stats(store).records == 0


def test_duplicate_table_uid_with_different_content_is_refused(
    tmp_path: Path, store: Store
) -> None:
    a = tiny_context("ctx-a", ("q-1",))
    b = tiny_context("ctx-a", ("q-2",))
    b["paragraphs"][0]["text"] = "Revenue fell."
    with pytest.raises(BadInput, match=r"table uid 'ctx-a'.*contexts #1 and #2"):
        import_file(store, write_json(tmp_path / "dup.json", [a, b]), "train")


def test_a_bad_second_file_imports_nothing_at_all(tmp_path: Path, store: Store) -> None:
    good = write_json(tmp_path / "good.json", [tiny_context()])
    bad = tmp_path / "bad.json"
    bad.write_text("[{", "utf-8")
    before = snapshot(store.path)
    with pytest.raises(BadInput):
        import_files(store, [(good, "train"), (bad, "train")])
    assert snapshot(store.path) == before
    assert stats(store).records == 0


def test_missing_file_and_directory_are_bad_input(tmp_path: Path, store: Store) -> None:
    with pytest.raises(BadInput, match="no such file"):
        import_file(store, tmp_path / "nope.json", "train")
    with pytest.raises(BadInput, match="is a directory"):
        import_file(store, tmp_path, "train")
