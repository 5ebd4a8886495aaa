"""The rules judge on every core: a pass whose judging runs in a pool of worker processes.

The rules judge is CPU-bound Python, so one process judges at the speed of one core. Here the
pass reads keyset pages from the store (each context once per page, shared by its records),
cuts them into chunks of consecutive records and hands the chunks to `workers` processes; it
takes the results back in the order the chunks were handed out, and its one writer appends
them in that order. The verdicts stored are therefore those of a single-process pass, in the
same order and with the same content (only `latency_ms` differs).

Everything else is the pass of `curator.llm.passes`, reused: the scope is fixed at start
(records imported meanwhile wait for the next pass), a record with a verdict of this rules
version on its current version is never read again (so a pass killed at any moment, `kill -9`
included, is resumed by running it again), the writer keeps every result until it is stored,
and while the store refuses them no new chunk is handed out; a pass that waited in vain spills
what it holds and ends with `PassStoreError`.

A worker that dies (killed, out of memory) breaks the pool: the pass stops handing out work,
stores the verdicts of the chunks before the lost one (complete, and in order), stores nothing
after it, and ends with `RulesWorkerError` (exit 3), so the next pass continues exactly there.
A worker that raises (a bug in a rule) ends the pass with that exception, as in one process.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from curator.domain import EnvironmentFailure, NewVerdict, WorkItem
from curator.faults import fault_point
from curator.judges.rules_worker import judge_chunk, worker_start
from curator.llm.passes import (
    PassOptions,
    PassProgress,
    PassResult,
    PassStoreError,
    RulesJudge,
    VerdictSource,
    _read,
    _spill,
    _Writer,
    recover_unsaved,
)
from curator.store.db import Store
from curator.store.verdicts import last_seq

#: Records read from the store at a time (one keyset page; the next is read meanwhile).
PAGE_SIZE = 4096
#: Records handed to a worker at a time: large enough that handing out costs little, small
#: enough that every worker stays busy to the end of a page.
CHUNK_SIZE = 256
#: Chunks handed out and not yet taken back, per worker (bounds memory, keeps workers fed).
IN_FLIGHT_PER_WORKER = 3


class RulesWorkerError(EnvironmentFailure):
    """A worker process of a rules pass died; nothing after its work was stored."""


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def start_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes, each a fresh interpreter (spawned).

    Never `fork`: the pass's process has DuckDB's threads running, and a child forked from a
    multi-threaded process may inherit a lock one of them held. Workers are the pass's own
    children, so each notices when the pass is gone and exits.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_start,
        initargs=(os.getpid(),),
    )


async def run_rules_pass(
    store: Store,
    options: PassOptions | None = None,
    *,
    workers: int | None = None,
    on_progress: Callable[[PassProgress], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    page_size: int = PAGE_SIZE,
) -> PassResult:
    """Judge every record the rules have no verdict for (on its current version) with
    `workers` processes (default: one per core; 1 judges in this process)."""
    options = options or PassOptions()
    count = default_workers() if workers is None else max(1, workers)
    judge = RulesJudge()
    run_id = uuid.uuid4().hex[:12]
    work = VerdictSource(store, judge.key, options, run_id)
    wait = options.store_wait_seconds
    await _read(wait, lambda: recover_unsaved(store))
    upto = await _read(wait, lambda: last_seq(store))
    total = await _read(wait, lambda: work.count(upto))
    if options.limit is not None:
        total = min(total, options.limit)
    progress = PassProgress(total=total)
    result = PassResult(run_id=run_id, key=judge.key, progress=progress)
    if total == 0:
        return result
    writer = _Writer(work, options)
    writer_task = asyncio.create_task(writer.run())
    # A pass of one chunk is not worth starting processes for.
    pool: Executor | None = start_pool(count) if count > 1 and total > chunk_size else None
    loop = asyncio.get_running_loop()
    in_flight: deque[asyncio.Future[list[NewVerdict]]] = deque()
    reading: asyncio.Future[list[WorkItem]] | None = None

    def read(after: int) -> asyncio.Future[list[WorkItem]]:
        return asyncio.ensure_future(
            _read(wait, functools.partial(work.page, after, page_size, upto))
        )

    async def take_oldest() -> None:
        try:
            verdicts = await in_flight.popleft()
        except BrokenProcessPool:
            raise RulesWorkerError(
                "a rules judge worker process ended unexpectedly (killed, or out of memory); "
                f"the {progress.done:,} verdicts judged before its work were stored and "
                "nothing after it; run the pass again to continue"
            ) from None
        writer.unsaved.extend(verdicts)
        progress.done += len(verdicts)
        for verdict in verdicts:
            progress.outcomes[verdict.verdict] += 1
        if on_progress is not None:
            on_progress(progress)
        fault_point("rules-pass")

    try:
        left = total if options.limit is not None else None
        current = reading = read(0)
        stop = False
        while not stop:
            page = await current
            reading = None
            if not page:
                break
            if left is not None:
                page = page[:left]
                left -= len(page)
            if left != 0:
                # The next page is read while this one is judged.
                current = reading = read(page[-1].seq)
            for start in range(0, len(page), chunk_size):
                if not await writer.may_go_on():
                    stop = True
                    break
                while len(in_flight) >= IN_FLIGHT_PER_WORKER * count:
                    await take_oldest()
                chunk = page[start : start + chunk_size]
                if pool is None:
                    in_flight.append(asyncio.ensure_future(asyncio.to_thread(judge_chunk, chunk)))
                else:
                    in_flight.append(loop.run_in_executor(pool, judge_chunk, chunk))
            if left == 0:
                break
        while in_flight:
            await take_oldest()
    finally:
        await _abandon(reading, in_flight)
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
        writer.stop.set()
        await writer_task
        # Every verdict taken back is stored before the pass ends, waiting while it is busy.
        while not await writer.flush() and not writer.gave_up:
            await asyncio.sleep(0.5)
        if writer.unsaved:
            kept = len(writer.unsaved)
            spilled = _spill(store, work, writer.unsaved, run_id)
            raise PassStoreError(writer.failure or "unknown failure", kept, spilled)
    return result


async def _abandon(
    reading: asyncio.Future[list[WorkItem]] | None,
    in_flight: deque[asyncio.Future[list[NewVerdict]]],
) -> None:
    """Drop work not taken back (after a failure or an interruption): its results are never
    stored, so the next pass judges those records; their errors are not reported twice."""
    pending = [f for f in (reading, *in_flight) if f is not None]
    in_flight.clear()
    for future in pending:
        future.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
