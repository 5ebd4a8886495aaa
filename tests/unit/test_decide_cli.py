"""`curator decide`: counts, --dry-run writes nothing, --yes writes one batch, undo as one,
and every bad input is one line with exit 2 and the store unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from curator.domain import JudgeKey, NewVerdict
from curator.store import Store
from curator.store.importer import import_file
from curator.store.reviews import decide
from curator.store.verdicts import append_verdicts, work_item
from tests.conftest import CliResult, tiny_context, write_json

Run = Callable[..., CliResult]
UIDS = ("q1", "q2", "q3", "q4", "q5")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "decide.duckdb"
    store = Store.open(path, create=True)
    ctx = tiny_context("c", UIDS)
    ctx["questions"][4]["answer_type"] = "multi-span"
    import_file(store, write_json(tmp_path / "f.json", [ctx]), "dev")
    verdicts = {"q1": "correct", "q2": "correct", "q3": "correct", "q4": "incorrect"}
    batch = []
    for uid, verdict in {**verdicts, "q5": "correct"}.items():
        item = work_item(store, uid)
        assert item is not None
        batch.append(NewVerdict(uid, item.record_hash, verdict))
    append_verdicts(store, JudgeKey("rules", "rules-v1", "p"), "t", batch)
    store.close()
    return path


def decisions(db: Path) -> list[tuple[str, str, str]]:
    with Store(db).connection() as con:
        rows = con.execute(
            "SELECT record_uid, action, reviewer FROM review_events ORDER BY event_id"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_dry_run_counts_and_writes_nothing(run_cli: Run, db: Path) -> None:
    args = ("--db", db, "decide", "accept", "--verdict", "correct", "--judge", "rules")
    result = run_cli(*args, "--dry-run")
    assert result.code == 0, result.err
    assert result.out.strip() == "would accept 4 pending records: rules says correct"
    typed = run_cli(*args, "--dry-run", "--answer-type", "span", "--json").json_lines()[0]
    assert typed["count"] == 3 and typed["dry_run"] is True and typed["batch"] is None
    assert decisions(db) == []


def test_yes_writes_one_batch_and_undo_reverts_it(run_cli: Run, db: Path) -> None:
    run_cli("--db", db, "decide", "reject", "--verdict", "incorrect", "--judge", "rules", "--yes")
    result = run_cli(
        "--db", db, "decide", "accept", "--verdict", "correct", "--judge", "rules",
        "--status", "pending", "--reviewer", "ana", "--yes", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    report = result.json_lines()[0]
    assert (report["count"], report["decided"], report["skipped"]) == (4, 4, 0)
    assert decisions(db)[1:] == [(u, "accept", "ana") for u in ("q1", "q2", "q3", "q5")]
    again = run_cli(
        "--db", db, "decide", "accept", "--verdict", "correct", "--judge", "rules", "--yes"
    )
    assert again.code == 0 and again.out.startswith("nothing to accept")
    assert "4 already decided" in again.out

    undone = run_cli("--db", db, "decide", "undo", "--batch", report["batch"], "--reviewer", "ana")
    assert undone.code == 0, undone.err
    assert undone.out.strip() == f"undid 4 decisions of batch {report['batch']}"
    assert [d[1] for d in decisions(db)].count("undo") == 4
    stats = run_cli("--db", db, "stats", "--json").json_lines()[0]
    assert stats["statuses"]["pending"] == 4 and stats["statuses"]["rejected"] == 1
    twice = run_cli("--db", db, "decide", "undo", "--batch", report["batch"])
    assert twice.code == 2 and "already undone" in twice.err


def test_without_yes_a_script_is_refused(run_cli: Run, db: Path) -> None:
    # stdin is not a terminal under pytest: nothing to confirm with, so nothing is written.
    result = run_cli("--db", db, "decide", "accept", "--verdict", "correct", "--judge", "rules")
    assert result.code == 2
    assert result.err.strip() == (
        "curator: error: accept 4 records: confirm with --yes (or count with --dry-run)"
    )
    assert decisions(db) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--status", "done"), "decide accept: Invalid value for '--status': 'done'"),
        (("--answer-type", "essay"), "Invalid value for '--answer-type'"),
        (("--judge", "nobody"), "judge 'nobody' has no verdicts in this store"),
        (("--verdict", "incorrect"), "accept goes with --verdict correct, not 'incorrect'"),
        (("--verdict", "maybe"), "Invalid value for '--verdict'"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    run_cli: Run, db: Path, args: tuple[str, ...], message: str
) -> None:
    base = ["--verdict", "correct", "--judge", "rules"]
    for option in args[::2]:
        if option in base:
            index = base.index(option)
            del base[index : index + 2]
    result = run_cli("--db", db, "decide", "accept", *base, *args, "--yes")
    assert result.code == 2, result.err
    assert result.err.startswith("curator: error: ") and message in result.err
    assert result.err.count("\n") == 1 and "Usage" not in result.err
    assert decisions(db) == []


def test_missing_judge_and_unknown_batch(run_cli: Run, db: Path) -> None:
    result = run_cli("--db", db, "decide", "accept", "--verdict", "correct", "--yes")
    assert result.code == 2 and "Missing option '--judge'" in result.err
    assert result.err.count("\n") == 1
    unknown = run_cli("--db", db, "decide", "undo", "--batch", "nope")
    assert (
        unknown.code == 2 and unknown.err.strip() == "curator: error: no batch 'nope' in this store"
    )


def test_counts_are_exact_in_the_singular_and_the_plural(run_cli: Run, db: Path) -> None:
    """Every count `decide` prints takes its noun in the right number ("1 record", "3 records"),
    never a hedged "record(s)"; a verb that goes with a count agrees with it too."""
    accept = ("--db", db, "decide", "accept", "--verdict", "correct", "--judge", "rules")
    one = ("--answer-type", "multi-span")  # q5 only
    dry = run_cli(*accept, *one, "--dry-run")
    assert dry.out.strip() == "would accept 1 pending record: rules says correct"
    refused = run_cli(*accept, *one)
    assert refused.code == 2 and refused.err.strip() == (
        "curator: error: accept 1 record: confirm with --yes (or count with --dry-run)"
    )
    single = run_cli(*accept, *one, "--yes").out.splitlines()
    batch = single[0].removeprefix("accepted 1 record as batch ")
    assert single[0] == f"accepted 1 record as batch {batch}"
    again = run_cli(*accept, *one, "--dry-run")
    assert again.out.strip() == (
        "would accept 0 pending records: rules says correct (1 more already decided, left as it is)"
    )
    undone = run_cli("--db", db, "decide", "undo", "--batch", batch)
    assert undone.out.strip() == f"undid 1 decision of batch {batch}"

    several = run_cli(*accept, "--answer-type", "span", "--yes").out.splitlines()
    batch = several[0].removeprefix("accepted 3 records as batch ")
    assert several[0] == f"accepted 3 records as batch {batch}"
    store = Store(db)
    decide(store, "q1", "reject", "ana")  # decided after the batch: the undo leaves it
    store.close()
    assert run_cli(*accept, "--answer-type", "span", "--dry-run").out.strip() == (
        "would accept 0 pending records: rules says correct (3 more already decided, "
        "left as they are)"
    )
    kept = run_cli("--db", db, "decide", "undo", "--batch", batch)
    assert kept.out.strip() == (
        f"undid 3 decisions of batch {batch}; 1 record keeps a decision made after the batch"
    )
    several = run_cli(*accept, "--answer-type", "span", "--yes").out.splitlines()
    batch = several[0].removeprefix("accepted 2 records as batch ")
    assert several[0] == f"accepted 2 records as batch {batch}"
    store = Store(db)
    for uid in ("q2", "q3"):
        decide(store, uid, "reject", "ana")
    store.close()
    kept = run_cli("--db", db, "decide", "undo", "--batch", batch)
    assert kept.out.strip() == (
        f"undid 2 decisions of batch {batch}; 2 records keep a decision made after the batch"
    )
