"""A work row's fields have one definition of their positions (`work_rows.WORK_ROW_FIELDS`):
the store's query selects them in that order, and the rules worker (which judges rows without
building a `WorkItem`) reads at each position the field `row_work_item` reads there, also when
the layout changes, so a field added or moved cannot shift one reader against the other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from curator import work_rows
from curator.domain import Context, JudgeKey, RecordFilter, WorkItem, answer_from_json
from curator.judges import rules, rules_worker
from curator.store import Store
from curator.store.importer import import_file
from curator.store.verdicts import _WORK_ROW_SQL, WORK_ROW_SELECT, work_page
from curator.store.work_rows import work_rows as read_work_rows
from tests.conftest import SAMPLE_DATA

KEY = JudgeKey("rules", "v", "v")
FIELDS = work_rows.WORK_ROW_FIELDS


def test_each_field_has_its_own_position_and_the_store_selects_them_in_that_order() -> None:
    positions = {name: getattr(work_rows, name.upper()) for name in FIELDS}
    assert positions == {name: i for i, name in enumerate(FIELDS)}
    assert list(_WORK_ROW_SQL) == list(FIELDS)
    assert ", ".join(_WORK_ROW_SQL.values()) == WORK_ROW_SELECT


def test_the_rows_read_hold_each_field_at_its_position(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb", create=True)
    import_file(store, SAMPLE_DATA / "sample_dev.json", "dev")
    items = work_page(store, KEY, RecordFilter(), limit=100_000)
    rows, _ = read_work_rows(store, KEY, RecordFilter(), limit=100_000)
    assert len(rows) == len(items) > 10
    for row, item in zip(rows, items, strict=True):
        assert len(row) == len(FIELDS)
        named = dict(zip(FIELDS, row, strict=True))
        assert answer_from_json(named.pop("answer_json")) == item.answer
        expected = {
            "seq": item.seq,
            "uid": item.uid,
            "record_hash": item.record_hash,
            "context_uid": item.context.uid,
            "question": item.question,
            "answer_type": item.answer_type,
            "answer_from": item.answer_from,
            "derivation": item.derivation,
            "scale": item.scale,
            "split": item.split,
        }
        assert named == expected


#: One row's values, every one different, so a field read at another's position shows.
VALUES: dict[str, Any] = {
    "seq": 41,
    "uid": "uid-1",
    "record_hash": "hash-1",
    "context_uid": "context-1",
    "question": "What was the revenue in 2019?",
    "answer_json": json.dumps(["120.5"]),
    "answer_type": "span",
    "answer_from": "table",
    "derivation": "100 + 20.5",
    "scale": "thousand",
    "split": "dev",
}
CONTEXTS = {
    "context-1": (
        json.dumps([["", "2019"], ["Revenue", "120.5"]]),
        json.dumps([{"uid": "p1", "order": 1, "text": "In thousands of dollars."}]),
    )
}
JUDGED_FIELDS = ("question", "answer", "answer_type", "answer_from", "derivation", "scale")


@pytest.mark.parametrize(
    "layout",
    [FIELDS, tuple(reversed(FIELDS)), FIELDS[3:] + FIELDS[:3]],
    ids=["as-defined", "reversed", "rotated"],
)
def test_the_rules_worker_reads_the_fields_row_work_item_reads(
    layout: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every reader of the positions sees the same layout (as when WORK_ROW_FIELDS changes); a
    # reader with a number of its own reads another field than `row_work_item` does.
    for module in (work_rows, rules_worker):
        for name in FIELDS:
            if hasattr(module, name.upper()):
                monkeypatch.setattr(module, name.upper(), layout.index(name))
    row = tuple(VALUES[name] for name in layout)
    table, paragraphs = work_rows.context_parts(*CONTEXTS["context-1"])
    item: WorkItem = work_rows.row_work_item(
        row, Context(uid="context-1", split="dev", table=table, paragraphs=paragraphs)
    )
    assert (item.seq, item.uid, item.record_hash, item.question) == (
        41,
        "uid-1",
        "hash-1",
        VALUES["question"],
    )
    assert (item.answer, item.derivation, item.scale) == (["120.5"], "100 + 20.5", "thousand")

    seen: list[dict[str, Any]] = []

    def recording(**kwargs: Any) -> rules.RuleVerdict:
        seen.append(kwargs)
        return rules.judge(**kwargs)

    monkeypatch.setattr(rules_worker, "judge", recording)
    judged = rules_worker.judge_rows([row], CONTEXTS)
    assert len(seen) == 1
    assert {k: seen[0][k] for k in JUDGED_FIELDS} == {k: getattr(item, k) for k in JUDGED_FIELDS}
    assert (seen[0]["table"], seen[0]["paragraphs"]) == (
        item.context.table,
        item.context.paragraphs,
    )
    expected = rules.verdict_for(item)
    assert [(v, reason, evidence) for v, reason, _, evidence in judged] == [
        (expected.verdict, expected.reason, expected.evidence)
    ]
