"""`curator note UID TEXT` and `--status flagged` from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from curator.store import Store
from curator.store.journal import journal_for
from curator.store.reviews import decide, record_detail
from tests.conftest import SAMPLE_DATA, CliResult

Run = Callable[..., CliResult]


@pytest.fixture
def db(tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CURATOR_CONFIG", "/dev/null")
    path = tmp_path / "notes.duckdb"
    result = run_cli("--db", path, "import", SAMPLE_DATA / "sample_train.json", "--split", "train")
    assert result.code == 0, result.err
    return path


def _first_uids(run_cli: Run, db: Path, n: int) -> list[str]:
    result = run_cli("--db", db, "list", "--json", "--limit", str(n))
    return [row["uid"] for row in result.json_lines()]


def test_note_is_stored_in_the_records_history(run_cli: Run, db: Path) -> None:
    (uid,) = _first_uids(run_cli, db, 1)
    result = run_cli("--db", db, "note", uid, "check the 2019 column", "--reviewer", "ana")
    assert result.code == 0, result.err
    assert uid in result.out and "event #" in result.out
    result = run_cli("--db", db, "note", uid, "second look", "--reviewer", "bo", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["note"] == "second look"
    detail = record_detail(Store.open(db), uid)
    assert detail is not None
    assert [(e.action, e.reviewer, e.note) for e in detail.events] == [
        ("note", "ana", "check the 2019 column"),
        ("note", "bo", "second look"),
    ]
    assert detail.status == "pending"


def test_note_refuses_empty_text_and_unknown_records(run_cli: Run, db: Path) -> None:
    (uid,) = _first_uids(run_cli, db, 1)
    result = run_cli("--db", db, "note", uid, "   ")
    assert result.code == 2 and "needs some text" in result.err
    result = run_cli("--db", db, "note", "no-such-record", "hello")
    assert result.code == 2 and "no record" in result.err
    detail = record_detail(Store.open(db), uid)
    assert detail is not None and detail.events == ()


def test_status_flagged_filters_list_and_export_leaves_flagged_out(
    run_cli: Run, db: Path, tmp_path: Path
) -> None:
    uids = _first_uids(run_cli, db, 40)
    store = Store.open(db)
    store.open_session()  # as the TUI: one open file for the 40 decisions, not one each
    for uid in uids[:39]:
        decide(store, uid, "accept", "ana")
    decide(store, uids[0], "flag", "bo", reason="scale?")
    assert journal_for(store).wait_stored(timeout=60)  # every decision in the file
    journal_for(store).close()  # and the emptied journal gone: a closed template
    store.close()
    result = run_cli("--db", db, "list", "--status", "flagged", "--json")
    assert result.code == 0, result.err
    assert [(r["uid"], r["status"]) for r in result.json_lines()] == [(uids[0], "flagged")]
    stats = json.loads(run_cli("--db", db, "stats", "--json").out)
    assert "flagged" in json.dumps(stats)
    out = tmp_path / "out"
    result = run_cli(
        "--db", db, "export", out, "--target", "openai-chat", "--validation-fraction", "0"
    )
    assert result.code == 0, result.err
    exported = (out / "train.uids.txt").read_text().split()
    assert uids[0] not in exported and uids[1] in exported and len(exported) == 38
