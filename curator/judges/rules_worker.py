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

from curator.faults import fault_point
from curator.judges.rules import verdict_for
from curator.work_rows import work_items

#: What a worker sends back per record: (verdict, reason, latency in ms, evidence JSON). The
#: pass pairs it with the record's uid and version, which it kept: nothing else need travel.
Judged = tuple[str, str, float, str]


def judge_rows(
    rows: Sequence[Sequence[Any]], contexts: Mapping[str, tuple[str, str]]
) -> list[Judged]:
    """Judge consecutive records handed over as plain rows (see `curator.store.work_rows`), in
    a worker process, or in the pass's own thread for one worker."""
    fault_point("rules-worker")
    out: list[Judged] = []
    for item in work_items(rows, contexts):
        verdict = verdict_for(item)
        out.append((verdict.verdict, verdict.reason, verdict.latency_ms, verdict.evidence))
    return out


def worker_start(parent: int) -> None:
    """Ctrl-C is the parent's to handle (it stops the pass and stores what was judged); and a
    worker whose parent died (`kill -9`) exits instead of waiting forever for work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
