"""`curator calibrate`: corruption detection per kind, agreement with reviewers with bootstrap
intervals, and a recommended policy; on the demo data and on a store a reviewer decided."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from curator.judges.calibrate import Pair, agreement, human_pairs, recommend
from curator.store import Store
from curator.store.reviews import decide
from curator.store.verdicts import verdicts_for
from tests.conftest import SAMPLE_DATA, CliResult

Run = Callable[..., CliResult]


def test_agreement_numbers_by_hand() -> None:
    pairs = (
        [Pair(f"a{i}", "span", "correct", "correct") for i in range(40)]
        + [Pair(f"b{i}", "span", "incorrect", "correct") for i in range(10)]
        + [Pair(f"c{i}", "span", "incorrect", "incorrect") for i in range(30)]
        + [Pair(f"d{i}", "span", "correct", "incorrect") for i in range(20)]
        + [Pair("e", "span", "correct", "uncertain")]
    )
    out = agreement(pairs, seed=1)
    assert out["n"] == 101 and out["abstained"] == 1
    assert out["confusion"]["human_correct"] == {"judge_correct": 40, "judge_incorrect": 20}
    assert out["confusion"]["human_incorrect"] == {"judge_correct": 10, "judge_incorrect": 30}
    assert out["precision_correct"]["value"] == pytest.approx(0.8)
    lo, hi = out["precision_correct"]["ci"]
    assert lo < 0.8 < hi and hi - lo < 0.3
    # p_o = 0.7; p_e = 0.6*0.5 + 0.4*0.5 = 0.5; kappa = 0.4
    assert out["kappa"]["value"] == pytest.approx(0.4)
    klo, khi = out["kappa"]["ci"]
    assert klo < 0.4 < khi


def test_recommendation_needs_enough_evidence() -> None:
    good = {"precision_correct": {"value": 1.0, "ci": [0.99, 1.0], "n": 400}}
    weak = {"precision_correct": {"value": 0.9, "ci": [0.8, 0.97], "n": 200}}
    few = {"precision_correct": {"value": 1.0, "ci": [1.0, 1.0], "n": 5}}
    rec = recommend({"n": 605}, {"arithmetic": good, "span": weak, "count": few}, {}, 0.02)
    assert rec["auto_accept_correct"] == ["arithmetic"]
    assert rec["review"] == ["count", "span"]
    assert "arithmetic" in rec["text"]


def _store(tmp_path: Path, run_cli: Run) -> Path:
    db = tmp_path / "cal.duckdb"
    for name in ("sample_train.json", "sample_dev.json"):
        assert run_cli("--db", db, "import", SAMPLE_DATA / name).code == 0
    assert run_cli("--db", db, "judge", "--judge", "rules").code == 0
    return db


def test_calibrate_on_demo_data_with_a_split_as_gold(tmp_path: Path, run_cli: Run) -> None:
    db = _store(tmp_path, run_cli)
    result = run_cli("--db", db, "calibrate", "--judge", "rules", "--assume-gold", "dev", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert set(report) >= {"corruptions", "human", "precision_correct", "recommendation"}
    kinds = report["corruptions"]
    assert kinds and all(
        row["n"] == row["caught"] + row["passed"] + row["uncertain"] for row in kinds.values()
    )
    assert {"perturbed number", "wrong scale", "swapped span"} <= set(kinds)
    assert sum(row["caught"] for row in kinds.values()) > 0.5 * sum(r["n"] for r in kinds.values())
    assert report["human"]["n"] == 0 and report["precision_correct"]["value"] is None
    assert "review a random sample" in report["recommendation"]["text"]
    text = run_cli("--db", db, "calibrate", "--judge", "rules", "--assume-gold", "dev")
    assert text.code == 0 and "perturbed number" in text.out and "recommendation" in text.out


def test_calibrate_against_a_reviewer(tmp_path: Path, run_cli: Run) -> None:
    db = _store(tmp_path, run_cli)
    store = Store(db)
    with store.connection() as con:
        uids = [u for (u,) in con.execute("SELECT uid FROM records ORDER BY seq").fetchall()]
    verdict = {u: verdicts_for(store, u)[0].verdict for u in uids}
    judged_correct = [u for u in uids if verdict[u] == "correct"]
    judged_incorrect = [u for u in uids if verdict[u] == "incorrect"]
    # The reviewer accepts 20 the judge called correct, rejects 3 of them (judge wrong there),
    # rejects the ones it called incorrect, edits the answer of one it called correct and
    # only rewords the question of another (the judge was not wrong there).
    for u in judged_correct[:20]:
        decide(store, u, "accept", "ann")
    for u in judged_correct[20:23]:
        decide(store, u, "reject", "ann", reason="wrong")
    for u in judged_incorrect[:5]:
        decide(store, u, "reject", "ann", reason="wrong")
    decide(store, judged_correct[23], "edit", "ann", edited={"answer": ["another answer"]})
    decide(store, judged_correct[24], "edit", "ann", edited={"question": "Reworded?"})
    pairs = human_pairs(store, "rules")
    assert len(pairs) == 20 + 3 + len(judged_incorrect[:5]) + 2
    edited = next(p for p in pairs if p.uid == judged_correct[23])
    # The judge's verdict on the version the reviewer edited, not a later one.
    assert (edited.human, edited.verdict) == ("incorrect", "correct")
    reworded = next(p for p in pairs if p.uid == judged_correct[24])
    assert (reworded.human, reworded.verdict) == ("correct", "correct")

    result = run_cli("--db", db, "calibrate", "--judge", "rules", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    human = report["human"]
    assert human["confusion"]["human_correct"]["judge_correct"] == 21
    assert human["confusion"]["human_incorrect"]["judge_correct"] == 4
    assert report["precision_correct"]["value"] == pytest.approx(21 / 25, abs=1e-4)
    lo, hi = report["precision_correct"]["ci"]
    assert lo <= 21 / 25 <= hi
    assert human["by_answer_type"]
    # Corruptions come from what the reviewer accepted or edited (22 records).
    assert report["gold"]["records"] == 22
    assert sum(row["n"] for row in report["corruptions"].values()) > 0
    assert report["recommendation"]["auto_accept_correct"] == []


def test_the_advice_without_human_decisions_is_a_command_that_runs(
    tmp_path: Path, run_cli: Run
) -> None:
    """The advice named `curator export --audit 100`, which has no destination and, without
    --include-judged-correct, nothing to export from a store nobody reviewed: it is run here."""
    db = _store(tmp_path, run_cli)
    text = recommend({"n": 0}, {}, {}, 0.02)["text"]
    command = re.search(r"`curator (export [^`]*)`", text)
    assert command is not None, text
    args = command.group(1).replace("JUDGE", "rules").replace("out/", str(tmp_path / "out"))
    result = run_cli("--db", db, *args.split(), "--validation-fraction", "0.3")
    assert result.code == 0, result.err
    assert "audit #1: 0/100 reviewed" in result.out
