"""The journal of a model pass's answers: what a killed pass received is stored by the next pass,
once, and a running pass's journal is left to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curator.domain import JudgeKey, NewVerdict
from curator.llm.answer_journal import AnswerJournal, journal_folder
from curator.llm.passes import recover_unsaved
from curator.store import Store
from curator.store.verdicts import append_verdicts
from tests.builders import import_sample_dev
from tests.templates import store_copy

KEY = JudgeKey("anthropic", "claude-sonnet-5-5", "p1")


def _store(tmp_path: Path) -> tuple[Store, list[tuple[str, str]]]:
    store = Store(store_copy("sample-dev", import_sample_dev, tmp_path / "j.duckdb"))
    with store.connection() as con:
        rows = con.execute("SELECT uid, content_hash FROM records ORDER BY uid LIMIT 5").fetchall()
    return store, [(str(u), str(h)) for u, h in rows]


def _verdict(uid: str, record_hash: str, latency: float) -> NewVerdict:
    return NewVerdict(uid, record_hash, "correct", reason="ok", latency_ms=latency)


def _stored(store: Store) -> list[tuple[str, str, float]]:
    with store.connection() as con:
        rows = con.execute(
            "SELECT record_uid, run_id, latency_ms FROM verdicts ORDER BY verdict_id"
        ).fetchall()
    return [(str(u), str(r), float(latency)) for u, r, latency in rows]


def _header(run_id: str) -> dict[str, str]:
    return {"kind": "verdicts", "judge": KEY.judge, "model": KEY.model,
            "prompt_hash": KEY.prompt_hash, "run_id": run_id}  # fmt: skip


def test_a_killed_pass_journal_is_stored_once_skipping_what_was_stored(tmp_path: Path) -> None:
    store, records = _store(tmp_path)
    journal = AnswerJournal(store.path, "run1", _header("run1"))
    answers = [_verdict(uid, h, float(i + 1)) for i, (uid, h) in enumerate(records)]
    for answer in answers:
        journal.write(answer)
    append_verdicts(store, KEY, "run1", answers[:2])  # the pass's last write before the kill
    journal.path.open("a").write('{"record_uid": "torn')  # the line being written at the kill
    journal.close(remove=False)  # the process died: its lock went with it
    assert recover_unsaved(store) == 3
    assert _stored(store) == [(uid, "run1", float(i + 1)) for i, (uid, _) in enumerate(records)]
    assert not journal_folder(store.path).exists()
    assert recover_unsaved(store) == 0 and len(_stored(store)) == 5


def test_a_running_pass_journal_is_left_alone(tmp_path: Path) -> None:
    store, records = _store(tmp_path)
    running = AnswerJournal(store.path, "run2", _header("run2"))
    running.write(_verdict(*records[0], 1.0))
    assert recover_unsaved(store) == 0  # held by the pass that writes it
    assert _stored(store) == [] and running.path.exists()
    running.close(remove=True)
    assert not journal_folder(store.path).exists()


def test_a_journal_cut_in_its_first_line_holds_nothing_and_goes(tmp_path: Path) -> None:
    """A journal whose header was being written when the machine stopped held no answer; it
    made every later pass fail while reading it."""
    store, _ = _store(tmp_path)
    folder = journal_folder(store.path)
    folder.mkdir()
    (folder / "cut.jsonl").write_text('{"kind": "verd')
    (folder / "empty.jsonl").write_text("")
    assert recover_unsaved(store) == 0
    assert not folder.exists() and _stored(store) == []


def test_a_killed_predict_pass_journal_is_stored_once(tmp_path: Path) -> None:
    from curator.store.predictions import NewPrediction, append_predictions, ensure_run

    store, records = _store(tmp_path)
    ensure_run(store, "p1", source="model", model="claude-sonnet-5-5")
    journal = AnswerJournal(store.path, "run3", {"kind": "predictions", "run": "p1"})
    answers = [
        NewPrediction(uid, h, "42", latency_ms=float(i + 1)) for i, (uid, h) in enumerate(records)
    ]
    for answer in answers:
        journal.write(answer)
    append_predictions(store, "p1", answers[:3])
    journal.close(remove=False)
    assert recover_unsaved(store) == 2
    with store.connection() as con:
        rows = con.execute("SELECT record_uid FROM predictions ORDER BY record_uid").fetchall()
    assert sorted(r[0] for r in rows) == sorted(uid for uid, _ in records)


def test_a_journal_appears_locked_and_with_its_header_and_a_killed_creation_goes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Another pass's recovery running while a journal is created must not see it empty (it
    removed it) nor unlocked (it stored a running pass's answers, which that pass stored again):
    the journal is created as `.part`, locked, given its header, then renamed."""
    import os

    from curator.llm.answer_journal import PART_MAX_AGE_S, PART_SUFFIX, try_lock

    store, records = _store(tmp_path)
    seen: list[int] = []
    real_replace = os.replace

    def replace_after_a_recovery(src: Any, dst: Any) -> None:
        seen.append(recover_unsaved(store))  # another pass, in that very instant
        assert Path(src).exists()  # left alone: young and locked
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_after_a_recovery)
    journal = AnswerJournal(store.path, "run3", _header("run3"))
    journal.write(_verdict(*records[0], 1.0))
    monkeypatch.undo()
    assert seen == [0]
    with journal.path.open("r", encoding="utf-8") as other:
        assert not try_lock(other)  # held by its pass from the moment it has its name
        assert other.readline().startswith('{"kind": "verdicts"')
    assert list(journal_folder(store.path).glob(f"*{PART_SUFFIX}")) == []
    assert recover_unsaved(store) == 0 and journal.path.exists()
    journal.close(remove=True)

    # A `.part` its pass left when killed while creating it: unlocked and old, it goes.
    folder = journal_folder(store.path)
    folder.mkdir(exist_ok=True)
    left = folder / f"run4.jsonl{PART_SUFFIX}"
    left.write_text('{"kind": "verdicts"}\n')
    young = folder / f"run5.jsonl{PART_SUFFIX}"
    young.write_text("")
    old = left.stat().st_mtime - PART_MAX_AGE_S - 5
    os.utime(left, (old, old))
    assert recover_unsaved(store) == 0
    assert not left.exists() and young.exists()


def test_stats_and_eval_say_which_answers_wait_and_store_none(tmp_path: Path, run_cli: Any) -> None:
    """After a killed `predict` or live `judge` pass its answers wait in `<store>.unsaved/`
    until the next pass stores them; `eval` (which does not score them) and `stats` (which does
    not count them) said nothing. They say how many of which run, and store nothing; so do
    `check` and an export that lets a judge's verdicts choose records."""
    from curator.store.predictions import NewPrediction, append_predictions, ensure_run

    store, records = _store(tmp_path)
    ensure_run(store, "p1", source="model", model="claude-sonnet-5-5")
    killed_predict = AnswerJournal(store.path, "run4", {"kind": "predictions", "run": "p1"})
    answers = [
        NewPrediction(uid, h, "42", latency_ms=float(i + 1)) for i, (uid, h) in enumerate(records)
    ]
    for answer in answers:
        killed_predict.write(answer)
    append_predictions(store, "p1", answers[:3])  # stored before the kill: not waiting
    killed_predict.close(remove=False)
    killed_judge = AnswerJournal(store.path, "run5", _header("run5"))
    for i, (uid, h) in enumerate(records[:4]):
        killed_judge.write(_verdict(uid, h, float(i + 1)))
    killed_judge.close(remove=False)
    running = AnswerJournal(store.path, "run6", {"kind": "predictions", "run": "other"})
    running.write(NewPrediction(*records[0], "7", latency_ms=1.0))  # its own pass stores it
    folder = journal_folder(store.path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    waiting_predict = (
        f"note: 2 answers of predict run 'p1' wait in {folder}/ (its pass ended before storing "
        "them) and are not counted here: the next `curator predict` or `curator judge` on this "
        "store stores them"
    )
    waiting_judge = "note: 4 answers of judge 'anthropic' ('claude-sonnet-5-5') wait in"
    for command in (("stats",), ("stats", "--json"), ("eval", "p1"), ("eval", "p1", "--json")):
        result = run_cli("--db", store.path, *command)
        assert result.code == 0, result.err
        notes = result.err.splitlines()
        assert len(notes) == 2 and waiting_predict in notes, (command, result.err)
        assert any(n.startswith(waiting_judge) for n in notes), (command, result.err)
        assert " wait in " not in result.out  # stdout stays the report (JSON stays JSON)
    checked = run_cli("--db", store.path, "check")  # the store is whole; answers still wait
    assert checked.code == 0 and waiting_predict in checked.err.splitlines(), checked.err
    exported = run_cli(  # the judge's waiting verdicts would choose records: said first
        "--db", store.path, "export", tmp_path / "out", "--include-judged-correct", "anthropic"
    )
    assert any(n.startswith(waiting_judge) for n in exported.err.splitlines()), exported.err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing stored
    assert _stored(store) == []
    running.close(remove=True)  # its pass ended and stored it
    assert recover_unsaved(store) == 2 + 4
    quiet = run_cli("--db", store.path, "eval", "p1")
    assert (quiet.code, quiet.err) == (0, "")
