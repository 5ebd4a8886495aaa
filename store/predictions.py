"""Prediction runs: what a model answered, per record, and the gold answers to score against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from curator.domain import AnswerValue, BadOption, RecordFilter, WorkItem, answer_from_json
from curator.store.db import Store
from curator.store.records import CURATED_VALUES_SQL
from curator.store.verdicts import RECORD_HASH_SQL, count_pending, pending_page

#: A record the run has no finished answer for, for the record as it is now: an answer given
#: before its question, gold or context changed (an edit, a re-import) is asked again.
_PENDING = (
    "NOT EXISTS (SELECT 1 FROM predictions p WHERE p.run_name = ? AND p.record_uid = r.uid "
    f"AND p.error = '' AND p.record_hash = {RECORD_HASH_SQL})"
)


#: How the `error` of an answer the model did not finish begins (stop reason `max_tokens`): it is
#: kept (raw text, tokens, cost), scored as no answer, counted apart by eval, and asked again.
TRUNCATED = "answer cut off by max_tokens"


def is_truncated(error: str) -> bool:
    return error.startswith(TRUNCATED)


@dataclass(frozen=True, slots=True)
class NewPrediction:
    record_uid: str
    record_hash: str
    answer_text: str
    raw_output: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    attempts: int = 1
    error: str = ""
    answer_json: str | None = None  # {"answer", "scale"} of a structured import

    @property
    def outcome(self) -> str:
        """What a pass counts this prediction as: answered, truncated or error."""
        if is_truncated(self.error):
            return "truncated"
        return "error" if self.error else "answered"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_run(
    store: Store,
    name: str,
    *,
    source: str,
    backend: str = "",
    model: str = "",
    prompt_hash: str = "",
    options: dict[str, Any] | None = None,
) -> None:
    """Create the run, or check that an existing run of that name is the same kind of run."""
    with store.transaction() as con:
        _ensure_run(con, name, source, backend, model, prompt_hash, options)


def _ensure_run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: str,
    backend: str,
    model: str,
    prompt_hash: str,
    options: dict[str, Any] | None,
) -> None:
    rows = con.execute(
        "SELECT source, backend, model, prompt_hash FROM prediction_runs WHERE name = ?",
        [name],
    ).fetchall()
    if rows:
        if rows[0] != (source, backend, model, prompt_hash):
            raise BadOption(
                f"run {name!r} already exists with {rows[0][1] or rows[0][0]} "
                f"{rows[0][2]}; choose another --name"
            )
        return
    con.execute(
        "INSERT INTO prediction_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [name, source, backend, model, prompt_hash, json.dumps(options or {}), _now()],
    )


def count_prediction_work(
    store: Store, run: str, filt: RecordFilter, *, upto_seq: int | None = None
) -> int:
    return count_pending(store, filt, _PENDING, [run], upto_seq=upto_seq)


def prediction_page(
    store: Store,
    run: str,
    filt: RecordFilter,
    *,
    after_seq: int = 0,
    limit: int = 200,
    upto_seq: int | None = None,
) -> list[WorkItem]:
    return pending_page(
        store, filt, _PENDING, [run], after_seq=after_seq, limit=limit, upto_seq=upto_seq
    )


def append_predictions(store: Store, run: str, predictions: list[NewPrediction]) -> None:
    if not predictions:
        return
    with store.transaction() as con:
        _insert(con, run, predictions)


def _insert(con: duckdb.DuckDBPyConnection, run: str, predictions: list[NewPrediction]) -> None:
    now = _now()
    table = pa.table(
        {
            "run_name": [run] * len(predictions),
            "record_uid": [p.record_uid for p in predictions],
            "record_hash": [p.record_hash for p in predictions],
            "answer_text": [p.answer_text for p in predictions],
            "raw_output": [p.raw_output for p in predictions],
            "input_tokens": pa.array([p.input_tokens for p in predictions], pa.int64()),
            "output_tokens": pa.array([p.output_tokens for p in predictions], pa.int64()),
            "cost_usd": pa.array([p.cost_usd for p in predictions], pa.float64()),
            "latency_ms": pa.array([p.latency_ms for p in predictions], pa.float64()),
            "attempts": pa.array([p.attempts for p in predictions], pa.int32()),
            "error": [p.error for p in predictions],
            "answer_json": pa.array([p.answer_json for p in predictions], pa.string()),
            "created_at": pa.array([now] * len(predictions), pa.timestamp("us")),
        }
    )
    con.register("incoming_predictions", table)
    try:
        con.execute("INSERT INTO predictions BY NAME SELECT * FROM incoming_predictions")
    finally:
        con.unregister("incoming_predictions")


def last_error(store: Store, run: str) -> str:
    """The message of the run's latest failed call ('' when none failed; an answer cut off by
    max_tokens is not a failed call), for the CLI to say why calls failed."""
    with store.connection() as con:
        row = con.execute(
            "SELECT error FROM predictions WHERE run_name = ? AND error <> '' "
            "AND NOT starts_with(error, ?) ORDER BY created_at DESC LIMIT 1",
            [run, TRUNCATED],
        ).fetchone()
    return str(row[0]) if row else ""


def stored_answers(store: Store, run: str, uids: list[str]) -> set[tuple[str, str, float]]:
    """(record uid, record hash, latency) of the run's stored predictions for `uids`: a call's
    measured latency tells the answers of a killed pass's journal that were stored already
    from a later call's answer for the same record."""
    with store.connection() as con:
        rows = con.execute(
            "SELECT record_uid, record_hash, latency_ms FROM predictions WHERE run_name = ? "
            "AND record_uid IN (SELECT unnest(?::VARCHAR[]))",
            [run, uids],
        ).fetchall()
    return {(str(u), str(h), float(latency)) for u, h, latency in rows}


def known_uids(store: Store, uids: list[str]) -> set[str]:
    with store.connection() as con:
        rows = con.execute(
            "SELECT uid FROM records WHERE uid IN (SELECT unnest(?::VARCHAR[]))", [uids]
        ).fetchall()
    return {r[0] for r in rows}


def replace_imported(
    store: Store, run: str, predictions: list[NewPrediction], options: dict[str, Any]
) -> None:
    """An imported run is registered (or checked) and replaced whole by a new import of the same
    name, in one transaction: a failed or killed import leaves the old answers (it deleted them
    and committed before storing the new ones, which a kill or a failure then lost)."""
    from curator.faults import fault_point

    with store.transaction() as con:
        _ensure_run(con, run, "import", "", "", "", options)
        con.execute("DELETE FROM predictions WHERE run_name = ?", [run])
        fault_point("predictions-import")  # the crash test's kill between delete and insert
        if predictions:
            _insert(con, run, predictions)
            # A file's answers are for the records as they are now: stamped with each record's
            # version, eval says which ones an edit or a re-import made outdated later (with
            # no version, every imported answer was called outdated).
            con.execute(
                f"UPDATE predictions p SET record_hash = v.hash FROM (SELECT r.uid, "
                f"{RECORD_HASH_SQL} AS hash FROM records r JOIN contexts c "
                "ON c.uid = r.context_uid LEFT JOIN record_state s ON s.record_uid = r.uid) v "
                "WHERE p.run_name = ? AND p.record_uid = v.uid",
                [run],
            )


@dataclass(frozen=True, slots=True)
class ScoredRow:
    """A record with its gold (curated) answer and one run's prediction (None: no answer)."""

    run: str
    uid: str
    question: str
    gold: AnswerValue
    scale: str
    answer_type: str
    answer_from: str
    prediction: str | None
    output_tokens: int
    error: str
    answer_json: str | None = None
    split: str = ""
    #: The answer was given for an earlier version of the record (edited or re-imported since).
    outdated: bool = False


def run_names(store: Store) -> list[str]:
    with store.connection() as con:
        rows = con.execute("SELECT name FROM prediction_runs ORDER BY created_at").fetchall()
    return [r[0] for r in rows]


def run_options(store: Store, run: str) -> dict[str, Any]:
    """The options a run was registered with ({} for an unknown run or unreadable options)."""
    with store.connection() as con:
        rows = con.execute("SELECT options FROM prediction_runs WHERE name = ?", [run]).fetchall()
    try:
        options = json.loads(rows[0][0]) if rows and rows[0][0] else {}
    except ValueError:
        return {}
    return options if isinstance(options, dict) else {}


def scored_rows(
    store: Store, run: str, splits: tuple[str, ...] = (), uids: tuple[str, ...] = ()
) -> tuple[list[ScoredRow], int]:
    """Every record the run is scored on, with its latest answer (None when it has none), in
    record order, and how many rejected records were left out.

    The records scored are those of `splits` and `uids` (an export file's records), by default
    the splits the run answered anything in: a question of those without an answer is scored as
    missing (0), as the official TAT-QA script scores a question missing from the prediction
    file.
    """
    with store.connection() as con:
        exists = con.execute("SELECT 1 FROM prediction_runs WHERE name = ?", [run]).fetchall()
        if not exists:
            names = [
                r[0] for r in con.execute("SELECT name FROM prediction_runs ORDER BY 1").fetchall()
            ]
            have = f"the store has: {', '.join(names)}" if names else "the store has none"
            raise BadOption(f"no prediction run named {run!r} ({have}); see `curator predict`")
        if not splits and not uids:
            splits = tuple(
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT r.split FROM predictions p JOIN records r "
                    "ON r.uid = p.record_uid WHERE p.run_name = ? ORDER BY 1",
                    [run],
                ).fetchall()
            )
        curated = CURATED_VALUES_SQL
        rows = con.execute(
            f"SELECT r.uid, {curated['question']}, {curated['answer_json']}, "
            f"{curated['scale']}, r.answer_type, r.answer_from, p.answer_text, p.output_tokens, "
            "p.error, coalesce(s.status, 'pending'), p.answer_json, r.split, "
            # '' = no version stored (answers an older curator imported): not known outdated
            f"p.record_uid IS NOT NULL, p.record_hash NOT IN ('', {RECORD_HASH_SQL}) "
            "FROM records r JOIN contexts c ON c.uid = r.context_uid LEFT JOIN ("
            "SELECT * FROM predictions WHERE run_name = ? "
            "QUALIFY row_number() OVER (PARTITION BY record_uid ORDER BY created_at DESC, "
            "error = '' DESC) = 1) p ON r.uid = p.record_uid "
            "LEFT JOIN record_state s ON s.record_uid = r.uid "
            "WHERE r.split IN (SELECT unnest(?::VARCHAR[])) "
            "OR r.uid IN (SELECT unnest(?::VARCHAR[])) ORDER BY r.seq",
            [run, list(splits), list(uids)],
        ).fetchall()
    out, rejected = [], 0
    for (
        uid,
        question,
        gold,
        scale,
        kind,
        source,
        text,
        tokens,
        error,
        status,
        answer_json,
        split,
        has_row,
        outdated,
    ) in rows:
        if status == "rejected":
            rejected += 1
            continue
        answered = has_row and not error
        out.append(
            ScoredRow(
                run,
                uid,
                question,
                answer_from_json(gold),
                scale,
                kind,
                source,
                text if answered else None,
                int(tokens) if answered else 0,
                error or "",
                answer_json if answered else None,
                split,
                bool(answered and outdated),
            )
        )
    return out, rejected
