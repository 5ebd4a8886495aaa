"""The export keeps near-duplicate tables on one side and can leave a split's overlap out."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from curator.export.splits import split_by_context
from curator.store import Store
from curator.store.exports import curated_records
from curator.store.reviews import decide_many
from tests.conftest import CliResult, tiny_context, write_json

Run = Callable[..., CliResult]


def table(rng: random.Random, columns: int = 2) -> list[list[str]]:
    years = [str(2019 - i) for i in range(columns)]
    rows = [["", *years]]
    for label in ("Revenue", "Cost of sales", "Gross profit", "Operating expenses", "Net income"):
        rows.append([label, *(f"{rng.randint(1000, 99999):,}" for _ in years)])
    return rows


def context(uid: str, rows: list[list[str]], n_questions: int = 2) -> dict[str, Any]:
    ctx = tiny_context(uid, tuple(f"{uid}-q{i}" for i in range(1, n_questions + 1)))
    ctx["table"]["table"] = rows
    for i, q in enumerate(ctx["questions"], start=1):
        q["question"] = f"What is item {i} of {uid}?"
        q["answer"] = [rows[1][1]]
    return ctx


def copy_of(rows: list[list[str]]) -> list[list[str]]:
    """The same table as another filing lays it out: transposed, no thousands separators."""
    return [list(col) for col in zip(*rows, strict=True)]


def accept_all(db: Path) -> None:
    store = Store(db)
    with store.connection() as con:
        uids = [r[0] for r in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    decide_many(store, uids, "accept", "ana")


@pytest.fixture
def leaky(tmp_path: Path, run_cli: Run) -> Path:
    """60 train contexts, 8 of them with a near-duplicate copy also in train (another uid and
    layout); a test split holding copies of 5 more train tables, and one train question asked
    again (same text and answer) in test about another table."""
    rng = random.Random(7)
    tables = {f"t{i:02d}": table(rng) for i in range(60)}
    train = [context(uid, rows) for uid, rows in tables.items()]
    train += [context(f"{uid}-copy", copy_of(tables[uid])) for uid in list(tables)[:8]]
    test = [context(f"x-{uid}", copy_of(tables[uid]), 1) for uid in list(tables)[20:25]]
    repeat = context("x-other", table(rng), 1)
    repeat["questions"][0].update(question="What is item 1 of t40?", answer=[tables["t40"][1][1]])
    test.append(repeat)
    db = tmp_path / "leaky.duckdb"
    assert run_cli("--db", db, "import", write_json(tmp_path / "train.json", train)).code == 0
    assert run_cli("--db", db, "import", write_json(tmp_path / "test.json", test)).code == 0
    accept_all(db)
    return db


def contexts_of(path: Path) -> set[str]:
    """The context uids in an export file, read back from each example's question."""
    return set(re.findall(r"What is item \d+ of ([\w-]+)\?", path.read_text("utf-8")))


def test_export_never_splits_a_near_duplicate_pair(
    run_cli: Run, leaky: Path, tmp_path: Path
) -> None:
    twins = [(f"t{i:02d}", f"t{i:02d}-copy") for i in range(8)]
    # Splitting by uid alone would separate some pair for some of these seeds...
    records = list(curated_records(Store(leaky)))
    separated = 0
    for seed in range(6):
        _, validation = split_by_context([r for r in records if r.split == "train"], 0.3, seed)
        in_validation = {r.context_uid for r in validation}
        separated += sum((a in in_validation) != (b in in_validation) for a, b in twins)
    assert separated > 0
    # ...the export never does.
    for seed in range(6):
        out = tmp_path / f"out{seed}"
        result = run_cli(
            "--db", leaky, "export", out, "--split", "train", "--target", "openai-chat",
            "--validation-fraction", "0.3", "--seed", str(seed), "--json",
        )  # fmt: skip
        assert result.code == 0, result.err
        in_train = contexts_of(out / "train.jsonl")
        in_validation = contexts_of(out / "validation.jsonl")
        assert in_validation and not in_train & in_validation
        for a, b in twins:
            assert (a in in_train and b in in_train) or (
                a in in_validation and b in in_validation
            ), (
                seed,
                a,
            )
        leaks = json.loads(result.out)["leaks"]
        assert leaks["near_duplicate_clusters"] == 8 and leaks["contexts_in_clusters"] == 16
        assert leaks["cross_split_pairs"] == 0 and leaks["exclude_overlap_with"] is None
        assert "dropped" not in leaks


def test_exclude_overlap_with_test_keeps_its_tables_out(
    run_cli: Run, leaky: Path, tmp_path: Path
) -> None:
    out = tmp_path / "clean"
    result = run_cli(
        "--db", leaky, "export", out, "--target", "openai-chat", "--exclude-overlap-with", "test"
    )
    assert result.code == 0, result.err
    assert "dropped 17 records overlapping split 'test'" in result.out
    exported = contexts_of(out / "train.jsonl") | contexts_of(out / "validation.jsonl")
    assert not {c for c in exported if c.startswith("x-")}  # nothing of the test split
    assert not exported & {f"t{i}" for i in range(20, 25)}  # no table of the test file
    assert "t40" in exported
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    dropped = manifest["leaks"]["dropped"]
    # 6 test records, 5 train tables x 2 questions that test copies, 1 repeated question.
    assert (dropped["in_split"], dropped["near_duplicate_table"]) == (6, 10)
    assert dropped["repeated_question"] == 1 and dropped["records"] == 17
    assert "t40-q1" in dropped["uids"] and "t40-q2" not in dropped["uids"]
    assert manifest["leaks"]["cross_split_pairs"] == 0
    assert manifest["leaks"]["pairs_with_excluded_split"] == 0


def test_exclude_overlap_with_an_unknown_split_is_refused(
    run_cli: Run, leaky: Path, tmp_path: Path
) -> None:
    result = run_cli("--db", leaky, "export", tmp_path / "o", "--exclude-overlap-with", "tset")
    assert result.code == 2 and "unknown split 'tset'" in result.err
    assert not (tmp_path / "o").exists()
