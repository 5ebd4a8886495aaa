"""What a worker process of a rules pass runs (see `curator.judges.rules_pass`).

Kept apart from the pass so that a spawned worker imports the judge and nothing else (not the
store, DuckDB, pyarrow or the model SDKs): a worker starts in a fraction of the time.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from curator.domain import Paragraph, answer_from_json
from curator.faults import fault_point
from curator.judges.rules import evidence_json, judge
from curator.work_rows import (
    ANSWER_FROM,
    ANSWER_JSON,
    ANSWER_TYPE,
    CONTEXT_UID,
    DERIVATION,
    QUESTION,
    SCALE,
    context_parts,
)

#: What a worker sends back per record: (verdict, reason, latency in ms, evidence JSON). The
#: pass pairs it with the record's uid and version, which it kept: nothing else need travel.
Judged = tuple[str, str, float, str]


def judge_rows(
    rows: Sequence[Sequence[Any]], contexts: Mapping[str, tuple[str, str]]
) -> list[Judged]:
    """Judge consecutive records handed over as plain rows (see `curator.store.work_rows`), in
    a worker process, or in the pass's own thread for one worker.

    The verdicts of `rules.verdict_for` on the `WorkItem`s `curator.work_rows.work_items`
    builds from the same rows, without building those items or `NewVerdict`s (objects of a
    dozen fields each, a tenth of the judging's cost): the same values reach `rules.judge`,
    and each context's table and paragraphs are built once per chunk, shared by its records.
    """
    fault_point("rules-worker")
    out: list[Judged] = []
    built: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[Paragraph, ...]]] = {}
    clock = time.perf_counter
    # The fields' positions (`WORK_ROW_FIELDS`, shared with `row_work_item`) as locals: the loop
    # indexes the rows as fast as with literal numbers.
    context_at, question_at, answer_at = CONTEXT_UID, QUESTION, ANSWER_JSON
    type_at, from_at, derivation_at, scale_at = ANSWER_TYPE, ANSWER_FROM, DERIVATION, SCALE
    for row in rows:
        context_uid = row[context_at]
        parts = built.get(context_uid)
        if parts is None:
            parts = built[context_uid] = context_parts(*contexts[context_uid])
        start = clock()
        result = judge(
            question=row[question_at],
            answer=answer_from_json(row[answer_at]),
            answer_type=row[type_at],
            answer_from=row[from_at],
            derivation=row[derivation_at],
            scale=row[scale_at],
            table=parts[0],
            paragraphs=parts[1],
        )
        out.append((result.verdict, result.reason, (clock() - start) * 1000, evidence_json(result)))
    return out


def worker_ready() -> None:
    """Nothing: handed to each worker as the pass starts, so that the pool starts its
    processes (which import the judge) while the pass reads its first page."""


def worker_start(parent: int) -> None:
    """Ctrl-C is the parent's to handle (it stops the pass and stores what was judged); and a
    worker whose parent died (`kill -9`) exits instead of waiting forever for work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
