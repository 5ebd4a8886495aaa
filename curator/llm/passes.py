"""One judge pass: select the work, run it with bounded concurrency, retry, cap cost, store.

The pass streams work from the store page by page (a million-record store is never held in
memory), runs at most `concurrency` judge calls at once, and hands finished verdicts to a writer
that appends them every `flush_seconds` in one short transaction. Because the store is asked
for records without a verdict for this exact judge, model, prompt and record version, a pass
killed at any moment and started again requests only what was not stored; the retry loop here is
the only one (the SDK clients have theirs turned off), and `predict` will reuse it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from curator.domain import RecordFilter
from curator.judges.reply import parse_judgement
from curator.judges.rules import JUDGE_NAME as RULES_NAME
from curator.judges.rules import RULES_VERSION
from curator.judges.rules import judge as rules_judge
from curator.llm.backends import Backend, BackendError, Completion, estimate_tokens
from curator.llm.prices import Price
from curator.prompts import (
    DEFAULT_JUDGE_TEMPLATE,
    JudgePrompt,
    JudgeTemplate,
    judge_prompt,
)
from curator.store.db import Store
from curator.store.verdicts import (
    JudgeKey,
    NewVerdict,
    WorkItem,
    append_verdicts,
    count_work,
    work_page,
)

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


class Judge(Protocol):
    key: JudgeKey

    def estimate(self, item: WorkItem) -> tuple[int, int, float]:
        """(input tokens, output tokens, cost) expected for one record."""
        ...

    async def judge(self, item: WorkItem) -> Any: ...

    async def aclose(self) -> None: ...


class RulesJudge:
    """The offline judge: deterministic, free, needs no key."""

    key = JudgeKey(RULES_NAME, RULES_VERSION, RULES_VERSION)

    def estimate(self, item: WorkItem) -> tuple[int, int, float]:
        return 0, 0, 0.0

    async def judge(self, item: WorkItem) -> NewVerdict:
        start = time.perf_counter()
        result = rules_judge(
            question=item.question,
            answer=item.answer,
            answer_type=item.answer_type,
            answer_from=item.answer_from,
            derivation=item.derivation,
            scale=item.scale,
            table=item.table,
            paragraphs=item.paragraphs,
        )
        return NewVerdict(
            record_uid=item.uid,
            record_hash=item.record_hash,
            verdict=result.verdict,
            reason=result.reason,
            latency_ms=(time.perf_counter() - start) * 1000,
            evidence=json.dumps([e.to_json() for e in result.evidence]) if result.evidence else "",
        )

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
            table=item.table,
            paragraphs=item.paragraphs,
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

    async def judge(self, item: WorkItem) -> NewVerdict:
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
    """What the progress bar shows; updated as verdicts arrive."""

    total: int
    done: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
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


@dataclass(frozen=True, slots=True)
class PassOptions:
    filt: RecordFilter = RecordFilter()
    limit: int | None = None
    concurrency: int = 8
    max_cost: float | None = None
    rejudge: bool = False
    flush_seconds: float = 0.5
    page_size: int = 256


class WorkSource(Protocol):
    """Where a pass gets its records and puts its results (verdicts, or predictions)."""

    def count(self) -> int: ...

    def page(self, after_seq: int, limit: int) -> list[WorkItem]: ...

    def append(self, results: list[Any]) -> None: ...


class VerdictSource:
    """A judge pass: records without a verdict from this judge; results are verdicts."""

    def __init__(self, store: Store, key: JudgeKey, options: PassOptions, run_id: str) -> None:
        self.store, self.key, self.options, self.run_id = store, key, options, run_id

    def count(self) -> int:
        return count_work(self.store, self.key, self.options.filt, rejudge=self.options.rejudge)

    def page(self, after_seq: int, limit: int) -> list[WorkItem]:
        return work_page(
            self.store,
            self.key,
            self.options.filt,
            after_seq=after_seq,
            limit=limit,
            rejudge=self.options.rejudge,
        )

    def append(self, results: list[Any]) -> None:
        append_verdicts(self.store, self.key, self.run_id, results)


async def run_pass(
    store: Store,
    judge: Judge,
    options: PassOptions = PassOptions(),
    *,
    on_progress: Callable[[PassProgress], None] | None = None,
    source: WorkSource | None = None,
) -> PassResult:
    """Run `judge` over every record the source says still needs it, storing results as they
    come. The default source is a judge pass (records lacking a verdict from this judge)."""
    run_id = uuid.uuid4().hex[:12]
    work = source or VerdictSource(store, judge.key, options, run_id)
    total = await asyncio.to_thread(work.count)
    if options.limit is not None:
        total = min(total, options.limit)
    progress = PassProgress(total=total)
    result = PassResult(run_id=run_id, key=judge.key, progress=progress)
    unflushed: list[Any] = []
    in_flight_cost = 0.0
    slots = asyncio.Semaphore(max(1, options.concurrency))
    tasks: set[asyncio.Task[None]] = set()

    async def flush() -> None:
        if unflushed:
            batch = unflushed[:]
            del unflushed[:]
            await asyncio.to_thread(work.append, batch)

    async def writer(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=options.flush_seconds)
            await flush()

    async def one(item: WorkItem, expected: float) -> None:
        nonlocal in_flight_cost
        try:
            verdict = await judge.judge(item)
        finally:
            in_flight_cost -= expected
            slots.release()
        unflushed.append(verdict)
        progress.done += 1
        progress.verdicts[verdict.verdict] += 1
        progress.cost_usd += verdict.cost_usd
        progress.input_tokens += verdict.input_tokens
        progress.output_tokens += verdict.output_tokens
        if on_progress is not None:
            on_progress(progress)

    stop = asyncio.Event()
    writer_task = asyncio.create_task(writer(stop))
    scheduled = 0
    after = 0
    try:
        while options.limit is None or scheduled < options.limit:
            page = await asyncio.to_thread(work.page, after, options.page_size)
            if not page:
                break
            after = page[-1].seq
            for item in page:
                if options.limit is not None and scheduled >= options.limit:
                    break
                # Estimating builds the prompt; only worth it when a cost cap needs it.
                expected = judge.estimate(item)[2] if options.max_cost is not None else 0.0
                if options.max_cost is not None and (
                    progress.cost_usd + in_flight_cost + expected > options.max_cost
                ):
                    result.stopped_for_cost = True
                    break
                await slots.acquire()
                in_flight_cost += expected
                task = asyncio.create_task(one(item, expected))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                scheduled += 1
            if result.stopped_for_cost:
                break
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        if tasks:
            # Interrupted: let calls already answered be stored, cancel the rest.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        stop.set()
        await writer_task
        await flush()
        await judge.aclose()
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
    after = 0
    while options.limit is None or records < options.limit:
        page = work_page(
            store, judge.key, options.filt, after_seq=after, limit=512, rejudge=options.rejudge
        )
        if not page:
            break
        after = page[-1].seq
        for item in page:
            if options.limit is not None and records >= options.limit:
                break
            i, o, c = judge.estimate(item)
            records += 1
            tokens_in += i
            tokens_out += o
            cost += c
            if len(sample) < 10:
                sample.append(item)
    return DryRunEstimate(records, tokens_in, tokens_out, cost, sample)
