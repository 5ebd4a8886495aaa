"""One judge pass: select the work, run it with bounded concurrency, retry, cap cost, store.

The pass streams work from the store page by page (a million-record store is never held in
memory), runs at most `concurrency` judge calls at once, and hands finished verdicts to a writer
that appends them every `flush_seconds` in one short transaction. Its scope is fixed when it
starts (records up to the newest seq then). When a flush fails or stalls, no new call starts
until one succeeds: results are kept until stored, and a pass that waited `store_wait_seconds`
in vain ends with `PassStoreError`, spilling them to a file the next pass stores first.

Because the store is asked for records without a verdict for this exact judge, model, prompt
and record version, a pass killed at any moment and started again requests only what was not
stored; the retry loop here is the only one (the SDK clients have theirs turned off), and
`predict` reuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from curator.domain import JudgeKey, NewVerdict, RecordFilter, StoreError, WorkItem
from curator.faults import fault_point
from curator.judges.reply import parse_judgement
from curator.judges.rules import JUDGE_NAME as RULES_NAME
from curator.judges.rules import RULES_VERSION
from curator.judges.rules import verdict_for as rules_verdict
from curator.llm.answer_journal import (
    PART_MAX_AGE_S,
    PART_SUFFIX,
    AnswerJournal,
    held_by_a_pass,
    journal_folder,
    try_lock,
)
from curator.llm.backends import Backend, BackendError, Completion, estimate_tokens
from curator.llm.prices import Price
from curator.llm.work import WorkCursor
from curator.prompts import (
    DEFAULT_JUDGE_TEMPLATE,
    JudgePrompt,
    JudgeTemplate,
    judge_prompt,
)
from curator.store.db import Store
from curator.store.verdicts import (
    append_verdicts,
    count_work,
    last_seq,
    uids_in_run,
    work_page,
)
from curator.wording import counted

T = TypeVar("T")


# -- retries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: A server's retry-after is honoured up to this many seconds.
    max_retry_after: float = 120.0


class AttemptsExhausted(Exception):
    def __init__(self, last: BackendError, attempts: int) -> None:
        super().__init__(str(last))
        self.last = last
        self.attempts = attempts


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[T, int]:
    """Run `call` until it succeeds; (result, attempts). Raises AttemptsExhausted."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except BackendError as exc:
            if not exc.retryable or attempt >= policy.max_attempts:
                raise AttemptsExhausted(exc, attempt) from exc
            if exc.retry_after is not None:
                delay = min(exc.retry_after, policy.max_retry_after)
            else:
                backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
                delay = backoff * (0.5 + random.random())
            await sleep(delay)


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One model call through the retry loop: the completion (None on failure) and its cost."""

    completion: Completion | None
    attempts: int
    latency_ms: float
    cost_usd: float = 0.0
    error: str = ""


async def call_model(
    backend: Backend, prompt: JudgePrompt, max_tokens: int, retry: RetryPolicy, price: Price | None
) -> ModelCall:
    """Call a model with retries and price the answer; shared by judge passes and predictions."""
    start = time.perf_counter()
    try:
        completion, attempts = await call_with_retries(
            lambda: backend.complete(prompt, max_tokens), retry
        )
    except AttemptsExhausted as exc:
        return ModelCall(
            None, exc.attempts, (time.perf_counter() - start) * 1000, error=str(exc.last)
        )
    cost = (
        price.cost(
            completion.input_tokens,
            completion.output_tokens,
            completion.cache_write_tokens,
            completion.cache_read_tokens,
        )
        if price
        else 0.0
    )
    return ModelCall(completion, attempts, (time.perf_counter() - start) * 1000, cost)


# -- judges ---------------------------------------------------------------------------------


class TaskResult(Protocol):
    """What a pass needs of one result (a verdict, a prediction): how to count it, its usage."""

    @property
    def outcome(self) -> str: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...


class Task(Protocol):
    """A model task a pass runs over records: judging, predicting. `key` names the task (its
    name, model and prompt hash) for resuming and for the store."""

    key: JudgeKey

    def estimate(self, item: WorkItem) -> tuple[int, int, float]:
        """(input tokens, output tokens, cost) expected for one record."""
        ...

    async def run(self, item: WorkItem) -> TaskResult: ...

    async def aclose(self) -> None: ...


class Judge(Protocol):
    """A task whose results are verdicts (stored by the default, judging, source)."""

    key: JudgeKey

    def estimate(self, item: WorkItem) -> tuple[int, int, float]: ...

    async def run(self, item: WorkItem) -> NewVerdict: ...

    async def aclose(self) -> None: ...


class RulesJudge:
    """The offline judge: deterministic, free, needs no key."""

    key = JudgeKey(RULES_NAME, RULES_VERSION, RULES_VERSION)

    def estimate(self, item: WorkItem) -> tuple[int, int, float]:
        return 0, 0, 0.0

    async def run(self, item: WorkItem) -> NewVerdict:
        return rules_verdict(item)

    async def aclose(self) -> None:
        return None


#: Output tokens assumed per verdict when estimating (a short reason and a judgement).
EXPECTED_OUTPUT_TOKENS = 150


class LLMJudge:
    """Claude as judge through a backend: prompt, call with retries, parse, cost."""

    def __init__(
        self,
        backend: Backend,
        *,
        price: Price | None,
        template: JudgeTemplate = DEFAULT_JUDGE_TEMPLATE,
        table_format: str = "markdown",
        max_tokens: int = 1024,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.backend = backend
        self.price = price
        self.template = template
        self.table_format = table_format
        self.max_tokens = max_tokens
        self.retry = retry
        thinking = getattr(backend, "thinking", None)
        # Thinking changes what the model does: verdicts with and without it are not the same.
        suffix = (
            f"+thinking:{thinking.get('type')}:{thinking.get('budget_tokens', 0)}"
            if thinking
            else ""
        )
        self.key = JudgeKey(backend.provider, backend.model, template.hash + suffix)

    def prompt(self, item: WorkItem) -> JudgePrompt:
        return judge_prompt(
            table=item.context.table,
            paragraphs=item.context.paragraphs,
            question=item.question,
            answer=item.answer,
            scale=item.scale,
            template=self.template,
            table_format=self.table_format,
        )

    def estimate(self, item: WorkItem) -> tuple[int, int, float]:
        prompt = self.prompt(item)
        tokens = estimate_tokens(prompt.system + prompt.user)
        cost = self.price.cost(tokens, EXPECTED_OUTPUT_TOKENS, 0, 0) if self.price else 0.0
        return tokens, EXPECTED_OUTPUT_TOKENS, cost

    def cost(self, i: int, o: int, cache_write: int, cache_read: int) -> float:
        return self.price.cost(i, o, cache_write, cache_read) if self.price else 0.0

    async def run(self, item: WorkItem) -> NewVerdict:
        call = await call_model(
            self.backend, self.prompt(item), self.max_tokens, self.retry, self.price
        )
        completion = call.completion
        if completion is None:
            return NewVerdict(
                record_uid=item.uid,
                record_hash=item.record_hash,
                verdict="error",
                error=call.error,
                attempts=call.attempts,
                latency_ms=call.latency_ms,
            )
        parsed = parse_judgement(completion.text, completion.stop_reason)
        return NewVerdict(
            record_uid=item.uid,
            record_hash=item.record_hash,
            verdict=parsed.verdict,
            reason=parsed.reason,
            raw_output=completion.text,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cache_read_tokens=completion.cache_read_tokens,
            cache_write_tokens=completion.cache_write_tokens,
            cost_usd=call.cost_usd,
            latency_ms=call.latency_ms,
            attempts=call.attempts,
        )

    async def aclose(self) -> None:
        await self.backend.aclose()


# -- the pass -------------------------------------------------------------------------------


@dataclass
class PassProgress:
    """What the progress bar shows; updated as results arrive."""

    total: int
    done: int = 0
    #: Results by outcome (verdicts of a judge; answered / error for predictions).
    outcomes: Counter[str] = field(default_factory=Counter)
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


@dataclass
class PassResult:
    run_id: str
    key: JudgeKey
    progress: PassProgress
    stopped_for_cost: bool = False
    #: Answers an interrupted pass had received, stored by this one before its first call.
    recovered: int = 0
    #: The pass stopped because its first calls all failed the same way (see PassOptions).
    stopped_for_errors: bool = False


@dataclass(frozen=True, slots=True)
class PassOptions:
    filt: RecordFilter = RecordFilter()
    limit: int | None = None
    concurrency: int = 8
    max_cost: float | None = None
    rejudge: bool = False
    flush_seconds: float = 0.5
    page_size: int = 256
    #: A flush still waiting for the store after this long pauses new model calls.
    stall_seconds: float = 0.5
    #: How long the pass waits for an unwritable store before it ends with an error.
    store_wait_seconds: float = 120.0
    #: When this many first results are all failures with one same message (a key the
    #: service refuses, a model it does not know, a setting it rejects, a service down), the
    #: pass starts no more calls: every other record would fail the same way, one request (and
    #: one stored `error`) each, a million of them in a big store.
    stop_after_same_failures: int = 20


class PassStoreError(StoreError):
    """The store stopped taking a pass's results: the pass stopped calling the model."""

    def __init__(self, cause: str, kept: int, spilled: Path | None) -> None:
        where = (
            f"kept in {spilled}; the next `curator judge` or `curator predict` on this store "
            "stores them before calling the model"
            if spilled is not None
            else "kept only in memory and lost when this process ends"
        )
        super().__init__(
            f"the store stopped accepting results ({cause}); no more model calls were made; "
            f"{counted(kept, 'answer')} {'was' if kept == 1 else 'were'} not stored yet: {where}"
        )
        self.kept = kept
        self.spilled = spilled


class WorkSource(Protocol):
    """Where a pass gets its records and puts its results (verdicts, or predictions)."""

    def count(self, upto_seq: int | None = None) -> int: ...

    def page(self, after_seq: int, limit: int, upto_seq: int | None = None) -> list[WorkItem]: ...

    def append(self, results: list[Any]) -> None: ...

    def spill_header(self) -> dict[str, Any]: ...


class VerdictSource:
    """A judge pass: records without a verdict from this judge; results are verdicts."""

    def __init__(self, store: Store, key: JudgeKey, options: PassOptions, run_id: str) -> None:
        self.store, self.key, self.options, self.run_id = store, key, options, run_id

    def count(self, upto_seq: int | None = None) -> int:
        return count_work(
            self.store,
            self.key,
            self.options.filt,
            rejudge=self.options.rejudge,
            upto_seq=upto_seq,
        )

    def page(self, after_seq: int, limit: int, upto_seq: int | None = None) -> list[WorkItem]:
        return work_page(
            self.store,
            self.key,
            self.options.filt,
            after_seq=after_seq,
            limit=limit,
            rejudge=self.options.rejudge,
            upto_seq=upto_seq,
        )

    def append(self, results: list[Any]) -> None:
        append_verdicts(self.store, self.key, self.run_id, results)

    def spill_header(self) -> dict[str, Any]:
        return {
            "kind": "verdicts",
            "judge": self.key.judge,
            "model": self.key.model,
            "prompt_hash": self.key.prompt_hash,
            "run_id": self.run_id,
        }


class _Writer:
    """The pass's one writer: appends results in order, and never drops one that failed.

    Results stay in `unsaved` until a flush has committed them. A flush that fails, or that is
    still waiting for the store after `stall_seconds`, clears `writable`: the scheduler stops
    starting model calls until a flush succeeds again (it is retried with backoff), so a pass
    that cannot save stops spending.
    """

    def __init__(self, work: WorkSource, options: PassOptions) -> None:
        self.work = work
        self.options = options
        self.unsaved: list[Any] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.failure = ""
        self.failing_since: float | None = None
        self.stop = asyncio.Event()
        #: At most this many results per write (None, always outside the crash tests: all
        #: that are waiting); what is left waits for the next flush.
        self.most: int | None = None

    @property
    def gave_up(self) -> bool:
        return (
            self.failing_since is not None
            and time.monotonic() - self.failing_since >= self.options.store_wait_seconds
        )

    def _failed(self, why: str) -> None:
        self.failure = why
        self.writable.clear()
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    async def may_go_on(self) -> bool:
        """Wait while the store cannot take results; False once the pass should give up."""
        while not self.writable.is_set():
            if self.gave_up:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.writable.wait(), timeout=0.25)
        return True

    async def flush(self) -> bool:
        if not self.unsaved:
            return True
        batch = self.unsaved[: self.most]
        call = asyncio.ensure_future(asyncio.to_thread(self.work.append, batch))
        try:
            done, _ = await asyncio.wait({call}, timeout=self.options.stall_seconds)
            if not done:
                self._failed("the store is busy; waiting for it")
            await call
        except Exception as exc:
            self._failed(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
            return False
        # Only the saved prefix goes: results that arrived meanwhile were appended after it.
        del self.unsaved[: len(batch)]
        self.failure, self.failing_since = "", None
        self.writable.set()
        return True

    async def run(self) -> None:
        delay = self.options.flush_seconds
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
            ok = await self.flush()
            delay = self.options.flush_seconds if ok else min(max(delay * 2, 0.25), 5.0)


def _spill(store: Store, work: WorkSource, results: list[Any], run_id: str) -> Path | None:
    """Write results the store would not take next to it, for the next pass to store."""
    if not results:
        return None
    folder = store.path.with_name(store.path.name + ".unsaved")
    try:
        folder.mkdir(exist_ok=True)
        path = folder / f"{run_id}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            out.write(json.dumps(work.spill_header()) + "\n")
            for result in results:
                out.write(json.dumps(dataclasses.asdict(result)) + "\n")
            out.flush()
            os.fsync(out.fileno())
    except OSError:
        return None
    return path


def recover_unsaved(store: Store) -> int:
    """Store the answers an earlier pass left beside the store: its spill (`PassStoreError`)
    or the journal of a pass that was killed (`answer_journal`). A journal another running
    pass holds is left alone; answers stored before the kill are skipped. How many stored."""
    folder = journal_folder(store.path)
    if not folder.is_dir():
        return 0
    stored = 0
    for path, lines in _free_journals(folder, take=True):
        stored += _recover_file(store, path, lines)
    for path in folder.glob(f"*.jsonl{PART_SUFFIX}"):
        # A journal whose pass was killed while creating it (it holds no answer yet): nobody
        # holds its lock, and it is not new. One being created now is young, or locked.
        with contextlib.suppress(OSError), path.open("r", encoding="utf-8") as handle:
            if time.time() - path.stat().st_mtime > PART_MAX_AGE_S and try_lock(handle):
                path.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty
    return stored


def _free_journals(folder: Path, *, take: bool) -> Iterator[tuple[Path, list[str]]]:
    """Each journal or spill in `folder` that no running pass holds, with its lines, yielded
    while locked: exclusively when `take` (the caller stores and removes it), else shared (a
    read-only look that takes it from nobody)."""
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        try:
            handle = path.open("r", encoding="utf-8")
        except FileNotFoundError:  # another pass stored it meanwhile
            continue
        except OSError:
            if take:
                raise
            continue  # unreadable: a read-only look has nothing to say about it
        with handle:
            free = try_lock(handle) if take else not held_by_a_pass(handle)
            if free:  # (else the journal of a pass that is running: it stores it)
                yield path, handle.read().splitlines()


def _recover_file(store: Store, path: Path, lines: list[str]) -> int:
    """Store one journal's or spill's answers not stored yet, then delete it."""
    journal = _parse_journal(lines)
    if journal is None:
        path.unlink()  # cut while its first line was written: it holds no answer
        return 0
    header, rows = journal
    answers = _not_stored(store, header, rows)
    if answers is None:
        return 0
    if header["kind"] == "verdicts":
        key = JudgeKey(header["judge"], header["model"], header["prompt_hash"])
        append_verdicts(store, key, header["run_id"], answers)
    else:
        from curator.store.predictions import append_predictions

        append_predictions(store, header["run"], answers)
    path.unlink()
    return len(answers)


def _parse_journal(lines: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """A journal's header and answers; None when it has no header (it holds no answer)."""
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:  # cut while its first line was written
        header = None
    if not isinstance(header, dict):
        return None
    rows = []
    for line in lines[1:]:
        try:
            rows.append(json.loads(line))
        except ValueError:  # the line being written when the process was killed
            continue
    return header, rows


def _not_stored(
    store: Store, header: dict[str, Any], rows: list[dict[str, Any]]
) -> list[Any] | None:
    """The journal's answers the store does not hold yet (the pass stored some before it was
    killed); None for a journal of a kind this curator does not know."""
    uids = [str(r["record_uid"]) for r in rows]
    if header.get("kind") == "verdicts":
        done = uids_in_run(store, header["run_id"], uids) if rows else set()
        return [NewVerdict(**r) for r in rows if r["record_uid"] not in done]
    if header.get("kind") == "predictions":
        # Only now: predictions' module loads pyarrow, a fifth of a second before every pass's
        # first call when imported up front, for answers that are almost never there.
        from curator.store.predictions import NewPrediction, stored_answers

        seen = stored_answers(store, header["run"], uids) if rows else set()
        return [
            NewPrediction(**r)
            for r in rows
            if (r["record_uid"], r["record_hash"], float(r["latency_ms"])) not in seen
        ]
    return None


@dataclass(frozen=True, slots=True)
class UnsavedAnswers:
    """Answers of a killed (or failed) pass waiting beside the store for the next pass."""

    kind: str  # "predictions" or "verdicts"
    run: str  # the predict run's name, or the judge's name
    model: str  # the judge's model ("" for a predict run)
    answers: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "run": self.run, "model": self.model, "answers": self.answers}


def unsaved_answers(store: Store) -> list[UnsavedAnswers]:
    """What `recover_unsaved` would store, read without storing or removing anything (for the
    read-only `eval` and `stats`): one entry per journal or spill that no running pass holds,
    counting only the answers the store lacks."""
    found: list[UnsavedAnswers] = []
    for _path, lines in _free_journals(journal_folder(store.path), take=False):
        journal = _parse_journal(lines)
        if journal is None:
            continue
        header, rows = journal
        answers = _not_stored(store, header, rows)
        if answers:
            verdicts = header["kind"] == "verdicts"
            found.append(
                UnsavedAnswers(
                    kind=header["kind"],
                    run=str(header["judge"] if verdicts else header["run"]),
                    model=str(header["model"]) if verdicts else "",
                    answers=len(answers),
                )
            )
    return found


async def _read(store_wait: float, call: Callable[[], T]) -> T:
    """A store read for the pass, retried while the store is held by others for too long."""
    deadline = time.monotonic() + store_wait
    while True:
        try:
            return await asyncio.to_thread(call)
        except StoreError:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


async def run_pass(
    store: Store,
    task: Task,
    options: PassOptions = PassOptions(),
    *,
    on_progress: Callable[[PassProgress], None] | None = None,
    source: WorkSource | None = None,
) -> PassResult:
    """Run `task` over every record the source says still needs it, storing results as they
    come. The default source is a judge pass (records lacking a verdict from this judge).

    The scope is fixed when the pass starts: records imported meanwhile wait for the next pass.
    """
    run_id = uuid.uuid4().hex[:12]
    work = source or VerdictSource(store, task.key, options, run_id)
    recovered = await _read(options.store_wait_seconds, lambda: recover_unsaved(store))
    upto = await _read(options.store_wait_seconds, lambda: last_seq(store))
    total = await _read(options.store_wait_seconds, lambda: work.count(upto))
    if options.limit is not None:
        total = min(total, options.limit)
    progress = PassProgress(total=total)
    result = PassResult(run_id=run_id, key=task.key, progress=progress, recovered=recovered)
    writer = _Writer(work, options)
    journal = AnswerJournal(store.path, run_id, work.spill_header())
    in_flight_cost = 0.0
    first_errors: set[str] = set()  # the messages of the pass's failures while all failed
    slots = asyncio.Semaphore(max(1, options.concurrency))
    tasks: set[asyncio.Task[None]] = set()

    async def one(item: WorkItem, expected: float) -> None:
        nonlocal in_flight_cost
        try:
            outcome = await task.run(item)
        finally:
            in_flight_cost -= expected
            slots.release()
        # On disk before it counts: a kill from here on loses no paid answer.
        journal.write(outcome)
        writer.unsaved.append(outcome)
        fault_point("model-answer")
        progress.done += 1
        progress.outcomes[outcome.outcome] += 1
        if outcome.outcome == "error" and len(progress.outcomes) == 1:
            first_errors.add(str(getattr(outcome, "error", "")))
            if len(first_errors) == 1 and progress.done >= options.stop_after_same_failures:
                result.stopped_for_errors = True
        progress.cost_usd += outcome.cost_usd
        progress.input_tokens += outcome.input_tokens
        progress.output_tokens += outcome.output_tokens
        if on_progress is not None:
            on_progress(progress)

    async def may_call() -> bool:
        return await writer.may_go_on()

    # A call that raised: its record got no result. Its task leaves `tasks` when it ends, so
    # the failure is kept here, stops scheduling, and ends the pass (never a silent exit 0).
    failures: list[BaseException] = []

    def finished(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            failures.append(error)

    writer_task = asyncio.create_task(writer.run())
    cursor = WorkCursor(
        lambda after, size: work.page(after, size, upto),
        page_size=options.page_size,
        limit=options.limit,
    )
    gave_up = False

    def fetch() -> asyncio.Task[list[WorkItem]]:
        return asyncio.create_task(_read(options.store_wait_seconds, cursor.next_page))

    # The next page is read while this one's calls are scheduled: a store read (slow when the
    # machine is busy) never leaves call slots idle at a page boundary.
    upcoming = fetch()
    try:
        while page := await upcoming:
            upcoming = fetch()
            for item in page:
                # Estimating builds the prompt; only worth it when a cost cap needs it.
                expected = task.estimate(item)[2] if options.max_cost is not None else 0.0
                if options.max_cost is not None and (
                    progress.cost_usd + in_flight_cost + expected > options.max_cost
                ):
                    result.stopped_for_cost = True
                    break
                if not await may_call():
                    gave_up = True
                    break
                await slots.acquire()
                if not await may_call():  # the store failed while we waited for a slot
                    slots.release()
                    gave_up = True
                    break
                if failures or result.stopped_for_errors:  # learnt while waiting for a slot
                    slots.release()
                    break
                in_flight_cost += expected
                call = asyncio.create_task(one(item, expected))
                tasks.add(call)
                call.add_done_callback(finished)
            if result.stopped_for_cost or gave_up or failures or result.stopped_for_errors:
                break
        if tasks:
            await asyncio.gather(*tasks)
        if failures:
            raise failures[0]
    finally:
        # A prefetched page nobody needs (or its error) is dropped, never awaited here.
        upcoming.cancel()
        upcoming.add_done_callback(lambda t: t.cancelled() or t.exception())
        if tasks:
            # Interrupted: let calls already answered be stored, cancel the rest.
            for call in tasks:
                call.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        writer.stop.set()
        await writer_task
        # Every answer is stored before the pass ends, waiting for the store while it is busy.
        while not await writer.flush() and not writer.gave_up:
            await asyncio.sleep(0.5)
        await task.aclose()
        if writer.unsaved:
            kept = len(writer.unsaved)
            # The journal holds every answer (the next pass skips the stored ones); a pass
            # without one spills what is left.
            spilled = journal.keep() if journal.active else None
            spilled = spilled or _spill(store, work, writer.unsaved, run_id)
            raise PassStoreError(writer.failure or "unknown failure", kept, spilled)
        journal.close(remove=True)
    return result


@dataclass(frozen=True, slots=True)
class DryRunEstimate:
    records: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    sample: list[WorkItem]


def estimate_pass(store: Store, judge: Judge, options: PassOptions) -> DryRunEstimate:
    """What a pass would send: records, estimated tokens and cost (nothing is called)."""
    records = tokens_in = tokens_out = 0
    cost = 0.0
    sample: list[WorkItem] = []
    source = VerdictSource(store, judge.key, options, run_id="")
    for item in WorkCursor(source.page, page_size=512, limit=options.limit):
        i, o, c = judge.estimate(item)
        records += 1
        tokens_in += i
        tokens_out += o
        cost += c
        if len(sample) < 10:
            sample.append(item)
    return DryRunEstimate(records, tokens_in, tokens_out, cost, sample)
