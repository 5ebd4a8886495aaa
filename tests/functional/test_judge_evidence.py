"""Rules verdicts carry their evidence into the store and onto the record screen, and a record
edited after an `incorrect` verdict is judged again in its edited form."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from curator.store import Store
from curator.store.reviews import decide, record_detail
from curator.store.verdicts import verdicts_for
from tests.conftest import CliResult, write_json

Run = Callable[..., CliResult]

TABLE = [
    ["", "2019", "2018"],
    ["", "$'000", "$'000"],
    ["Issued and paid up capital", "83,692", "66,128"],
    ["Contract for future issue of equity", "16,451", "-"],
    ["Total contributed equity", "100,143", "66,128"],
]


def _data(answer: list[str]) -> list[dict[str, object]]:
    return [
        {
            "table": {"uid": "t1", "table": TABLE},
            "paragraphs": [{"uid": "p1", "order": 1, "text": "Contributed equity."}],
            "questions": [
                {
                    "uid": "q1",
                    "order": 1,
                    "question": "What was the Issued and paid up capital in 2019?",
                    "answer": answer,
                    "derivation": "",
                    "answer_type": "span",
                    "answer_from": "table",
                    "rel_paragraphs": [],
                    "req_comparison": False,
                    "scale": "thousand",
                }
            ],
        }
    ]


def test_incorrect_verdict_names_the_cell_and_edit_is_rejudged(
    tmp_path: Path, run_cli: Run
) -> None:
    src = tmp_path / "d.json"
    write_json(src, _data(["66,128"]))
    db = tmp_path / "s.duckdb"
    assert run_cli("--db", db, "import", src, "--split", "dev").code == 0
    assert run_cli("--db", db, "judge", "--judge", "rules").code == 0
    store = Store(db)
    first = verdicts_for(store, "q1")[0]
    assert first.verdict == "incorrect"
    assert "'Issued and paid up capital'" in first.reason and "83,692" in first.reason
    detail = record_detail(store, "q1")
    assert detail is not None
    (rules,) = detail.judges
    cells = [e for e in rules.evidence if e["kind"] == "cell"]
    # The cell the question names (row 2, column 1) and where the wrong answer sits (column 2).
    assert (cells[0]["row"], cells[0]["col"]) == (2, 1)
    assert "2019" in cells[0]["text"] and "'83,692'" in cells[0]["text"]
    assert (cells[1]["row"], cells[1]["col"]) == (2, 2)

    decide(store, "q1", "edit", "ann", edited={"answer": ["83,692"]})
    assert run_cli("--db", db, "judge", "--judge", "rules").code == 0
    latest = verdicts_for(store, "q1")[0]
    assert latest.verdict == "correct", latest.reason
    detail = record_detail(store, "q1")
    assert detail is not None and detail.judges[0].current
    assert detail.judges[0].evidence[0]["row"] == 2


def test_stored_evidence_is_json_with_kinds(tmp_path: Path, run_cli: Run) -> None:
    src = tmp_path / "d.json"
    write_json(src, _data(["83,692"]))
    db = tmp_path / "s.duckdb"
    assert run_cli("--db", db, "import", src, "--split", "dev").code == 0
    assert run_cli("--db", db, "judge", "--judge", "rules").code == 0
    with Store(db).connection() as con:
        (text,) = con.execute("SELECT evidence FROM verdict_evidence").fetchone()  # type: ignore[misc]
    items = json.loads(text)
    assert items and {i["kind"] for i in items} <= {"cell", "sentence", "calculation", "list"}


def test_record_screen_table_highlights_cited_cells() -> None:
    from rich.text import Text

    from curator.screens.widgets.table_grid import EVIDENCE_STYLE, table_grid

    grid = table_grid(TABLE, "", ["66,128"], {(2, 1): "incorrect"})
    cited = grid.columns[1]._cells[2]
    assert isinstance(cited, Text) and cited.plain == "83,692"
    assert cited.style == EVIDENCE_STYLE["incorrect"]
    other = grid.columns[2]._cells[2]
    assert isinstance(other, Text) and other.style != EVIDENCE_STYLE["incorrect"]
