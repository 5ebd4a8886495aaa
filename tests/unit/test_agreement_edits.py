"""Judge-vs-human agreement: an edit is a judge error only when it changed the value of the
answer, the scale or the derivation (not a reworded question, not a re-rounded number)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from curator.agreement import edit_changes_value, human_label
from curator.domain import JudgeKey, NewVerdict
from curator.store import Store
from curator.store.importer import import_file
from curator.store.reviews import agreement_counts, decide
from curator.store.verdicts import append_verdicts, work_item
from tests.conftest import tiny_context, write_json

BEFORE: dict[str, Any] = {"answer": 9336.36, "scale": "thousand", "derivation": "1,027 * 9.091"}


@pytest.mark.parametrize(
    ("edited", "changed"),
    [
        ({"question": "What was the total, in thousands?"}, False),
        ({"answer": 9336}, False),  # 9336.36 at the rounding of 9336
        ({"answer": 9336.4}, False),
        ({"answer": "9,336.36"}, False),
        ({"answer": 9337}, True),
        ({"answer": 9336.46}, True),
        ({"answer": 933.636}, True),
        ({"scale": "million"}, True),
        ({"scale": ""}, True),
        ({"derivation": "1027*9.091"}, False),  # same value written differently
        ({"derivation": "9.091 × 1,027"}, False),
        ({"derivation": "1,027 * 9.1"}, True),
        ({"derivation": "not arithmetic"}, True),
        ({"question": "Reworded?", "answer": 9336, "derivation": "1027 * 9.091"}, False),
    ],
)
def test_which_edits_change_a_value(edited: dict[str, Any], changed: bool) -> None:
    assert edit_changes_value(BEFORE, edited) is changed
    assert human_label("edit", BEFORE, edited) == ("incorrect" if changed else "correct")


def test_spans_compare_as_a_set_of_values() -> None:
    before = {"answer": ["Copper", "$1,200"], "scale": "", "derivation": ""}
    assert not edit_changes_value(before, {"answer": ["1200", "copper"]})
    assert edit_changes_value(before, {"answer": ["Copper"]})
    assert edit_changes_value(before, {"answer": ["Zinc", "$1,200"]})


def test_accept_and_reject_labels() -> None:
    assert human_label("accept", BEFORE, None) == "correct"
    assert human_label("reject", BEFORE, None) == "incorrect"
    assert human_label("edit", BEFORE, None) == "incorrect"


def test_the_stats_matrix_counts_value_edits_only(tmp_path: Path) -> None:
    uids = ("q1", "q2", "q3", "q4")
    ctx = tiny_context("c", uids)
    for q in ctx["questions"]:
        q.update(answer=9336.36, answer_type="arithmetic", derivation="1,027 * 9.091")
    store = Store.open(tmp_path / "a.duckdb", create=True)
    import_file(store, write_json(tmp_path / "f.json", [ctx]), "dev")
    verdicts = []
    for uid in uids:
        item = work_item(store, uid)
        assert item is not None
        verdicts.append(NewVerdict(uid, item.record_hash, "correct"))
    append_verdicts(store, JudgeKey("rules", "rules-v1", "p"), "t", verdicts)
    decide(store, "q1", "edit", "ana", edited={"question": "Total, in thousands?"})
    decide(store, "q2", "edit", "ana", edited={"answer": 9336})
    decide(store, "q3", "edit", "ana", edited={"answer": 9400})
    decide(store, "q4", "accept", "ana")
    cells = agreement_counts(store).cells
    assert cells == {
        ("rules", "arithmetic", "correct", "correct"): 3,
        ("rules", "arithmetic", "incorrect", "correct"): 1,
    }
