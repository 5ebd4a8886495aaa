"""Judge panels: export only what every listed judge calls correct; triage puts records where
the judges disagree right after those judged incorrect."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from curator.domain import JudgeKey, NewVerdict, RecordFilter
from curator.store import Store
from curator.store.exports import curated_records
from curator.store.reviews import decide, queue_page
from curator.store.verdicts import append_verdicts, work_item
from tests.builders import export_args
from tests.conftest import SAMPLE_DATA, CliResult

Run = Callable[..., CliResult]
SECOND = JudgeKey("anthropic", "test-model", "p1")


def _store(tmp_path: Path, run_cli: Run) -> tuple[Store, list[str], dict[str, str]]:
    db = tmp_path / "panel.duckdb"
    assert run_cli("--db", db, "import", SAMPLE_DATA / "sample_dev.json").code == 0
    assert run_cli("--db", db, "judge", "--judge", "rules").code == 0
    store = Store(db)
    with store.connection() as con:
        rows = con.execute(
            "SELECT v.record_uid, v.verdict FROM latest_verdicts v JOIN records r "
            "ON r.uid = v.record_uid WHERE v.judge = 'rules' ORDER BY r.seq"
        ).fetchall()
    rules = dict(rows)
    return store, [u for u, _ in rows], rules


def _second_opinion(store: Store, verdicts: dict[str, str]) -> None:
    items = {u: work_item(store, u) for u in verdicts}
    append_verdicts(
        store,
        SECOND,
        "run-2",
        [NewVerdict(u, items[u].record_hash, v, "test") for u, v in verdicts.items()],  # type: ignore[union-attr]
    )


def test_panel_export_takes_only_what_every_judge_calls_correct(
    tmp_path: Path, run_cli: Run
) -> None:
    store, uids, rules = _store(tmp_path, run_cli)
    correct = [u for u in uids if rules[u] == "correct"]
    # The second judge agrees on all but three of the rules judge's correct records.
    second = {u: "correct" for u in correct}
    for u in correct[:3]:
        second[u] = "incorrect"
    second[next(u for u in uids if rules[u] != "correct")] = "correct"
    _second_opinion(store, second)

    one = {r.uid for r in curated_records(store, include_judged_correct="rules")}
    both = {r.uid for r in curated_records(store, include_judged_correct="rules+anthropic")}
    assert one == set(correct)
    assert both == set(correct[3:])
    assert all(
        r.source == "judged:rules+anthropic"
        for r in curated_records(store, include_judged_correct="rules+anthropic")
    )
    # An edit after the verdicts: the panel's verdicts were on another version, so it is out
    # of the unreviewed set (and in as a reviewed record, since a person edited it).
    decide(store, correct[5], "edit", "ann", edited={"question": "Changed?"})
    rows = {r.uid: r for r in curated_records(store, include_judged_correct="rules+anthropic")}
    assert rows[correct[5]].source == "reviewed"

    result = run_cli("--db", store.path, *export_args(tmp_path / "out", "rules+anthropic"))
    assert result.code == 0, result.err
    manifest = json.loads(result.out)
    assert manifest["splits"]["train"]["source"] == {
        "judged:rules+anthropic": len(both) - 1,
        "reviewed": 1,
    }
    typo = run_cli(
        "--db", store.path, "export", tmp_path / "o2", "--include-judged-correct", "rules+antropic"
    )
    # A bad option (README's exit-code table: 2), not an internal error.
    assert typo.code == 2 and "'antropic' has no verdicts" in typo.err
    malformed = run_cli(
        "--db", store.path, "export", tmp_path / "o3", "--include-judged-correct", "rules+"
    )
    assert malformed.code == 2 and "expected JUDGE or JUDGE+JUDGE" in malformed.err


def test_triage_puts_disagreements_right_after_incorrect(tmp_path: Path, run_cli: Run) -> None:
    store, uids, rules = _store(tmp_path, run_cli)
    correct = [u for u in uids if rules[u] == "correct"]
    incorrect = [u for u in uids if rules[u] == "incorrect"]
    uncertain = [u for u in uids if rules[u] == "uncertain"]
    assert correct and incorrect
    _second_opinion(
        store,
        {correct[0]: "incorrect", correct[1]: "uncertain", correct[2]: "correct"},
    )
    order = queue_page(store, RecordFilter(), sort="triage", limit=1000)
    ranks = {row.uid: row.rank for row in order}
    assert [row.rank for row in order] == sorted(row.rank for row in order)
    assert all(ranks[u] == 0 for u in incorrect)
    assert ranks[correct[0]] == 1 and ranks[correct[1]] == 1
    assert ranks[correct[2]] == 3
    assert all(ranks[u] == 2 for u in uncertain)
    first_disagreement = next(i for i, row in enumerate(order) if row.rank == 1)
    assert all(row.rank == 0 for row in order[:first_disagreement])
    disagree = queue_page(store, RecordFilter(disagree=True), limit=1000)
    assert {row.uid for row in disagree} == {correct[0], correct[1]}
