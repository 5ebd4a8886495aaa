"""Audited exports: a stratified sample of judge-accepted records is queued for review, and the
manifest carries the error estimate with a 95% interval once they are reviewed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from curator.domain import RecordFilter
from curator.export.audit import allocate, wilson
from curator.screens.app import filter_from_state
from curator.store import Store
from curator.store.reviews import decide, queue_page
from tests.builders import export_args
from tests.conftest import SAMPLE_DATA, CliResult

Run = Callable[..., CliResult]


def test_wilson_and_allocation() -> None:
    lo, hi = wilson(0, 50)  # type: ignore[misc]
    assert lo == 0.0 and 0.05 < hi < 0.09
    lo, hi = wilson(3, 10)  # type: ignore[misc]
    assert lo == pytest.approx(0.1078, abs=1e-3) and hi == pytest.approx(0.6032, abs=1e-3)
    assert wilson(0, 0) is None
    assert allocate({"span": 60, "arithmetic": 30, "count": 10}, 10) == {
        "span": 6,
        "arithmetic": 3,
        "count": 1,
    }
    assert sum(allocate({"a": 5, "b": 5, "c": 5}, 7).values()) == 7
    assert allocate({"a": 2}, 10) == {"a": 2}


def _export(run_cli: Run, db: Path, out: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    result = run_cli("--db", db, *export_args(out, "rules", *extra))
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def test_audit_sample_review_and_manifest_estimate(tmp_path: Path, run_cli: Run) -> None:
    db = tmp_path / "audit.duckdb"
    for name in ("sample_train.json", "sample_dev.json"):
        assert run_cli("--db", db, "import", SAMPLE_DATA / name).code == 0
    assert run_cli("--db", db, "judge", "--judge", "rules").code == 0
    store = Store(db)

    plain = _export(run_cli, db, tmp_path / "plain")
    assert plain["audit"] == "not audited"

    first = _export(run_cli, db, tmp_path / "a1", "--audit", "10")
    audit = first["audit"]
    assert audit["status"] == "pending" and audit["sample"] == 10 and audit["reviewed"] == 0
    judged = audit["by_source"]["judge-accepted"]
    assert judged["error_rate"] is None and judged["population"] == judged["records_in_export"]
    queued = queue_page(store, RecordFilter(audit=True), limit=100)
    assert len(queued) == 10 and all(row.status == "pending" for row in queued)
    # Stratified: the sample's answer-type mix follows the population's.
    with store.connection() as con:
        population = Counter(
            t
            for (t,) in con.execute(
                "SELECT r.answer_type FROM latest_verdicts v JOIN records r "
                "ON r.uid = v.record_uid WHERE v.judge = 'rules' AND v.verdict = 'correct'"
            ).fetchall()
        )
    expected = allocate(dict(population), 10)
    assert Counter(row.answer_type for row in queued) == Counter(
        {k: v for k, v in expected.items() if v}
    )

    # Running the export again does not draw a second sample.
    again = _export(run_cli, db, tmp_path / "a2", "--audit", "10")
    assert again["audit"]["audit_id"] == audit["audit_id"]

    uids = [row.uid for row in queued]
    decide(store, uids[0], "reject", "ann", reason="wrong")
    decide(store, uids[1], "edit", "ann", edited={"question": "Fixed?"})
    partial = _export(run_cli, db, tmp_path / "a3")["audit"]
    assert partial["status"] == "partial" and partial["reviewed"] == 2
    for uid in uids[2:]:
        decide(store, uid, "accept", "ann")
    done = _export(run_cli, db, tmp_path / "a4")
    audit = done["audit"]
    assert audit["status"] == "complete" and audit["reviewed"] == 10
    judged = audit["by_source"]["judge-accepted"]
    assert judged["errors"] == 2 and judged["error_rate"] == pytest.approx(0.2)
    assert judged["ci"] == wilson(2, 10)
    assert "human-accepted" in audit["by_source"]
    assert (tmp_path / "a4" / "manifest.json").exists()
    assert json.loads((tmp_path / "a4" / "manifest.json").read_text())["audit"] == audit
    text = run_cli(
        "--db",
        db,
        "export",
        tmp_path / "a5",
        "--include-judged-correct",
        "rules",
        "--validation-fraction",
        "0",
        "--target",
        "openai-chat",
    )
    assert text.code == 0 and "judge-accepted error 20.0%" in text.out


def test_audit_filter_survives_a_saved_view() -> None:
    assert filter_from_state({"audit": True}).audit
    assert not filter_from_state({}).audit


def test_an_audit_with_nothing_to_draw_says_why(tmp_path: Path, run_cli: Run) -> None:
    """`--audit N` on an export of records people decided drew nothing and said only "audit:
    not audited", as if the option had not been given: it says why no sample was queued."""
    db = tmp_path / "audit.duckdb"
    assert run_cli("--db", db, "import", SAMPLE_DATA / "sample_train.json").code == 0
    store = Store(db)
    with store.connection() as con:
        uids = [u for (u,) in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    for uid in uids:
        decide(store, uid, "accept", "ann")
    out = tmp_path / "out"
    args = ["export", out, "--validation-fraction", "0", "--target", "openai-chat"]
    result = run_cli("--db", db, *args, "--audit", "10")
    assert result.code == 0, result.err
    assert "audit: nothing to draw for --audit 10: every exported record was decided" in result.out
    assert queue_page(store, RecordFilter(audit=True), limit=100) == []
    assert json.loads((out / "manifest.json").read_text())["audit"] == "not audited"
    plain = run_cli("--db", db, *args)
    assert plain.code == 0 and "  audit: not audited" in plain.out
