"""What a worker process of a rules pass runs (see `curator.judges.rules_pass`).

Kept apart from the pass so that a spawned worker imports the judge and nothing else (not the
store, DuckDB, pyarrow or the model SDKs): a worker starts in a fraction of the time.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence

from curator.domain import NewVerdict, WorkItem
from curator.faults import fault_point
from curator.judges.rules import verdict_for


def judge_chunk(items: Sequence[WorkItem]) -> list[NewVerdict]:
    """Judge consecutive records (in a worker process, or in the pass's own for one worker)."""
    fault_point("rules-worker")
    return [verdict_for(item) for item in items]


def worker_start(parent: int) -> None:
    """Ctrl-C is the parent's to handle (it stops the pass and stores what was judged); and a
    worker whose parent died (`kill -9`) exits instead of waiting forever for work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
