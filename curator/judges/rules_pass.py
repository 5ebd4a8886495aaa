"""The rules judge on every core: a pass whose judging runs in a pool of worker processes.

The rules judge is CPU-bound Python, so one process judges at the speed of one core. Here the
pass reads keyset pages from the store as plain rows, with each context's table and paragraphs
once per page as JSON text (`curator.store.work_rows`), cuts them into chunks of consecutive
records and hands each chunk, with the contexts it refers to, to one of `workers` processes,
which judges the rows and sends back (verdict, reason, latency, evidence) per record. The
workers start while the first page is read; chunks are large while much is left (so the
queued ones keep the workers busy while the pass reads or writes) and shrink towards the end
(so the workers finish together), see `chunk_for`.
The pass builds no objects it does not need and pickles only strings: its own CPU, which the
workers share the cores with, stays a small part of the judging's. It takes the results back
in the order the chunks were handed out, and its one writer appends them in that order, in
writes of `FLUSH_RECORDS` (one turn on the file each, which costs the same small sum of
opening and checkpointing whatever it holds). The verdicts stored are therefore those of a
single-process pass, in the same order and with the same content (only `latency_ms` differs).

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
import contextlib
import dataclasses
import functools
import multiprocessing
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from curator.domain import EnvironmentFailure, NewVerdict
from curator.faults import fault_point
from curator.judges.rules_worker import Judged, judge_rows, worker_ready, worker_start
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
from curator.store.work_rows import WorkRow, work_rows
from curator.wording import counted
from curator.work_rows import CONTEXT_UID, RECORD_HASH, SEQ, UID

#: A page of work: its records as rows, and the contexts they refer to (as JSON text).
Page = tuple[list[WorkRow], dict[str, tuple[str, str]]]

#: Records read from the store at a time (one keyset page; the next is read meanwhile): one
#: turn on the file of ~0.1 s on an idle machine.
PAGE_SIZE = 8192
#: Records handed to a worker at a time near the end of a pass: small enough that every
#: worker stays busy to the end (see `chunk_for`).
CHUNK_SIZE = 256
#: ... and at most, while much is left: each chunk ~0.2 s of judging, so that the queued
#: chunks keep a worker busy through the pass's own pauses (a page read holds the GIL, and
#: with it the handing out and taking back of chunks, for tens of milliseconds at a time).
MAX_CHUNK_SIZE = 1024
#: Chunks handed out and not yet taken back, per worker (bounds memory, keeps workers fed).
IN_FLIGHT_PER_WORKER = 3
#: The writer stores verdicts once this many are waiting, or when the oldest has waited
#: `FLUSH_SECONDS`: a write's turn on the file costs ~40 ms of opening and checkpointing
#: whatever it stores, so few large writes (each still a short turn, ~0.1 s idle) instead of
#: one every half second.
FLUSH_RECORDS = 8192
FLUSH_SECONDS = 2.0


class RulesWorkerError(EnvironmentFailure):
    """A worker process of a rules pass died; nothing after its work was stored."""


class _RulesWriter(_Writer):
    """The pass's writer, storing by volume: `flush_records` at a time, or what is waiting
    after `FLUSH_SECONDS` (a failed write is retried with backoff, as by every pass)."""

    def __init__(self, work: VerdictSource, options: PassOptions, flush_records: int) -> None:
        super().__init__(work, options)
        self.flush_records = flush_records

    async def run(self) -> None:
        due = time.monotonic() + FLUSH_SECONDS
        backoff = 0.0
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=0.1)
            now = time.monotonic()
            if not self.unsaved:
                due = now + FLUSH_SECONDS
            elif now >= due or (not backoff and len(self.unsaved) >= self.flush_records):
                if await self.flush():
                    backoff, due = 0.0, time.monotonic() + FLUSH_SECONDS
                else:
                    backoff = min(max(backoff * 2, 0.25), 5.0)
                    due = time.monotonic() + backoff


def chunk_for(left: int, workers: int, smallest: int) -> int:
    """How many records to hand out next when `left` are still to be handed out: a share of
    what is left (guided self-scheduling), between `smallest` and `MAX_CHUNK_SIZE`. Large
    chunks while much is left cost the pass little to hand out and take back; the last ones
    shrink, so the workers finish together instead of one judging a large last chunk alone."""
    return max(smallest, min(MAX_CHUNK_SIZE, left // (IN_FLIGHT_PER_WORKER * workers)))


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
    flush_records: int = FLUSH_RECORDS,
    write_most: int | None = None,
) -> PassResult:
    """Judge every record the rules have no verdict for (on its current version) with
    `workers` processes (default: one per core; 1 judges in this process).

    `write_most` caps each write at that many verdicts (default: none, every verdict waiting
    goes in one write). How many writes a pass makes otherwise depends on when the chunks come
    back; with a cap a pass of N records makes at least ceil(N / write_most), which the crash
    tests rely on to kill it in the middle of a given write (`CURATOR_FAULT_AT=verdicts-write:k`).
    """
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
    # A slow write (a busy store) pauses handing out work only after a while: judging is
    # free, and what waits is bounded by the chunks in flight and `FLUSH_RECORDS`.
    writer = _RulesWriter(
        work,
        dataclasses.replace(options, stall_seconds=max(options.stall_seconds, 5.0)),
        flush_records,
    )
    writer.most = write_most
    writer_task = asyncio.create_task(writer.run())
    # A pass of one chunk is not worth starting processes for.
    pool: ProcessPoolExecutor | None = (
        start_pool(count) if count > 1 and total > chunk_size else None
    )
    loop = asyncio.get_running_loop()
    in_flight: deque[tuple[asyncio.Future[list[Judged]], list[WorkRow]]] = deque()
    broken: list[bool] = []  # the pool broke (a worker died): its futures end on their own
    reading: asyncio.Future[Page] | None = None

    def read(after: int) -> asyncio.Future[Page]:
        return asyncio.ensure_future(
            _read(
                wait,
                functools.partial(
                    work_rows,
                    store,
                    judge.key,
                    options.filt,
                    after_seq=after,
                    limit=page_size,
                    rejudge=options.rejudge,
                    upto_seq=upto,
                ),
            )
        )

    async def take_oldest() -> None:
        future, rows = in_flight.popleft()
        try:
            judged = await future
        except BrokenProcessPool:
            broken.append(True)
            raise RulesWorkerError(
                "a rules judge worker process ended unexpectedly (killed, or out of memory); "
                f"the {counted(progress.done, 'verdict')} judged before its work "
                f"{'was' if progress.done == 1 else 'were'} stored and "
                "nothing after it; run the pass again to continue"
            ) from None
        writer.unsaved.extend(
            NewVerdict(
                record_uid=row[UID],
                record_hash=row[RECORD_HASH],
                verdict=verdict,
                reason=reason,
                latency_ms=latency_ms,
                evidence=evidence,
            )
            for row, (verdict, reason, latency_ms, evidence) in zip(rows, judged, strict=True)
        )
        progress.done += len(judged)
        progress.outcomes.update(j[0] for j in judged)
        if on_progress is not None:
            on_progress(progress)
        fault_point("rules-pass")

    try:
        left = total if options.limit is not None else None
        handed = 0
        current = reading = read(0)
        if pool is not None:
            # The workers start (a fresh interpreter each, importing the judge) while the
            # first page is read, not after it.
            for _ in range(count):
                pool.submit(worker_ready)
        stop = False
        while not stop:
            page, contexts = await current
            reading = None
            if not page:
                break
            if left is not None:
                page = page[:left]
                left -= len(page)
            if left != 0:
                # The next page is read while this one is judged.
                current = reading = read(page[-1][SEQ])
            start = 0
            while start < len(page):
                if not await writer.may_go_on():
                    stop = True
                    break
                while len(in_flight) >= IN_FLIGHT_PER_WORKER * count:
                    await take_oldest()
                size = chunk_for(total - handed, count, chunk_size)
                chunk = page[start : start + size]
                start += len(chunk)
                handed += len(chunk)
                # Each context once per chunk, with the records that refer to it.
                needed = {row[CONTEXT_UID]: contexts[row[CONTEXT_UID]] for row in chunk}
                future: asyncio.Future[list[Judged]]
                if pool is None:
                    future = asyncio.ensure_future(asyncio.to_thread(judge_rows, chunk, needed))
                else:
                    future = loop.run_in_executor(pool, judge_rows, chunk, needed)
                in_flight.append((future, chunk))
            if left == 0:
                break
        while in_flight:
            await take_oldest()
    finally:
        # A broken pool's manager thread fails every pending future itself; cancelling them
        # meanwhile made its set_exception raise InvalidStateError (CPython 3.11), which killed
        # that thread and left shutdown waiting forever.
        await _abandon(reading, in_flight, cancel=not broken)
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=not broken)
        writer.stop.set()
        await writer_task
        # Every verdict taken back is stored before the pass ends (in as many writes as
        # `write_most` takes), waiting while the store is busy.
        while True:
            if await writer.flush():
                if not writer.unsaved:
                    break
            elif writer.gave_up:
                break
            else:
                await asyncio.sleep(0.5)
        if writer.unsaved:
            kept = len(writer.unsaved)
            spilled = _spill(store, work, writer.unsaved, run_id)
            raise PassStoreError(writer.failure or "unknown failure", kept, spilled)
    return result


async def _abandon(
    reading: asyncio.Future[Page] | None,
    in_flight: deque[tuple[asyncio.Future[list[Judged]], list[WorkRow]]],
    *,
    cancel: bool = True,
) -> None:
    """Drop work not taken back (after a failure or an interruption): its results are never
    stored, so the next pass judges those records; their errors are not reported twice."""
    pending: list[asyncio.Future[Any]] = [f for f, _ in in_flight]
    if reading is not None:
        pending.append(reading)
    in_flight.clear()
    for future in pending:
        if cancel or future is reading:
            future.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
