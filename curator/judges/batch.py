"""Batch judging: Anthropic Message Batches and Bedrock batch inference.

A batch pass has two halves, and one command does both: it first collects every batch this judge
submitted earlier (polling its status; storing its verdicts once it has ended), then submits the
records that still need a verdict and are in no open batch. Batch ids and the record version each
custom id stands for live in the store, so a run that is stopped, or a machine that restarts,
never submits the same records twice and never loses a batch that was paid for.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any, TypeVar

from curator.domain import BadInput, CuratorError, NewVerdict, WorkItem
from curator.judges.reply import parse_judgement
from curator.llm.backends import (
    Completion,
    anthropic_call,
    boto_call,
    completion_from_message,
    messages_body,
)
from curator.llm.passes import (
    AttemptsExhausted,
    Judge,
    LLMJudge,
    PassOptions,
    RetryPolicy,
    call_with_retries,
)
from curator.settings import JudgeConfig
from curator.store.db import Store
from curator.store.verdicts import (
    BatchRecord,
    batch_items,
    collect_batch,
    open_batches,
    pending_in_batches,
    save_batch,
    set_batch_status,
    work_page,
)

#: Requests per submitted batch (both APIs allow more; smaller batches finish and fail alone).
BATCH_SIZE = 10_000
#: Bedrock refuses batch jobs with fewer records than this.
BEDROCK_MIN_RECORDS = 100

Echo = Callable[[str], None]
T = TypeVar("T")


class ServiceError(CuratorError):
    """A batch control call kept failing (service down, throttled, network gone)."""

    exit_code = 3


async def _control(what: str, call: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """One batch control call through the pass runner's retry loop (the only one): 429 with
    retry-after, 529, 5xx, throttling and lost connections back off and retry."""
    try:
        result, _ = await call_with_retries(call, policy)
    except AttemptsExhausted as exc:
        raise ServiceError(f"{what}: failed after {exc.attempts} attempt(s): {exc.last}") from exc
    return result


def _aws(what: str, call: Callable[[], T], policy: RetryPolicy) -> Awaitable[T]:
    """A boto3 call (blocking) in a worker thread, through `_control`."""
    return _control(what, lambda: asyncio.to_thread(boto_call, call), policy)


def _anthropic(what: str, call: Callable[[], Awaitable[T]], policy: RetryPolicy) -> Awaitable[T]:
    return _control(what, lambda: anthropic_call(call), policy)


def custom_id(item: WorkItem) -> str:
    """A batch-safe id (letters, digits, - and _, at most 64) for one record version."""
    return "r" + hashlib.sha256(f"{item.uid}\x1f{item.record_hash}".encode()).hexdigest()[:40]


def _verdict(
    item_uid: str, record_hash: str, judge: LLMJudge, completion: Completion
) -> NewVerdict:
    parsed = parse_judgement(completion.text, completion.stop_reason)
    # Batches cost half the live price on both platforms.
    cost = 0.5 * judge.cost(
        completion.input_tokens,
        completion.output_tokens,
        completion.cache_write_tokens,
        completion.cache_read_tokens,
    )
    return NewVerdict(
        record_uid=item_uid,
        record_hash=record_hash,
        verdict=parsed.verdict,
        reason=parsed.reason,
        raw_output=completion.text,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        cache_read_tokens=completion.cache_read_tokens,
        cache_write_tokens=completion.cache_write_tokens,
        cost_usd=cost,
    )


def _pending_work(store: Store, judge: LLMJudge, options: PassOptions) -> Iterator[WorkItem]:
    skip = pending_in_batches(store, judge.key.judge, judge.key)
    after = 0
    sent = 0
    while options.limit is None or sent < options.limit:
        page = work_page(
            store, judge.key, options.filt, after_seq=after, limit=1000, rejudge=options.rejudge
        )
        if not page:
            return
        after = page[-1].seq
        for item in page:
            if item.uid in skip:
                continue
            if options.limit is not None and sent >= options.limit:
                return
            sent += 1
            yield item


def _chunks(items: Iterator[WorkItem], size: int) -> Iterator[list[WorkItem]]:
    chunk: list[WorkItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- Anthropic Message Batches --------------------------------------------------------------


async def _anthropic_collect(
    store: Store, judge: LLMJudge, client: Any, echo: Echo, wait: float | None
) -> Counter[str]:
    counts: Counter[str] = Counter()
    retry = judge.retry
    for batch in open_batches(store, "anthropic", judge.key):
        batch_id = batch.batch_id

        def retrieve(batch_id: str = batch_id) -> Awaitable[Any]:
            return _anthropic(
                f"batch {batch_id}: status",
                lambda: client.messages.batches.retrieve(batch_id),
                retry,
            )

        status = await retrieve()
        deadline = time.monotonic() + (wait or 0)
        while status.processing_status != "ended" and time.monotonic() < deadline:
            await asyncio.sleep(min(30.0, max(0.05, wait or 0) / 10))
            status = await retrieve()
        if status.processing_status != "ended":
            set_batch_status(store, batch_id, status.processing_status)
            echo(f"batch {batch_id}: {status.processing_status}; run again to collect")
            counts["waiting"] += 1
            continue

        async def results(batch_id: str = batch_id) -> list[Any]:
            # Read the whole result file in one attempt: a retry starts it again.
            return [entry async for entry in await client.messages.batches.results(batch_id)]

        entries = await _anthropic(f"batch {batch_id}: results", results, retry)
        items = batch_items(store, batch_id)
        verdicts = []
        for entry in entries:
            if entry.custom_id not in items:
                continue
            uid, record_hash = items.pop(entry.custom_id)
            if entry.result.type == "succeeded":
                completion = completion_from_message(entry.result.message.model_dump())
                verdicts.append(_verdict(uid, record_hash, judge, completion))
            else:
                # errored, canceled or expired: an error verdict, which the next pass retries.
                verdicts.append(
                    NewVerdict(uid, record_hash, "error", error=_result_error(entry.result))
                )
        for uid, record_hash in items.values():
            verdicts.append(NewVerdict(uid, record_hash, "error", error="missing from batch"))
        collect_batch(store, judge.key, batch_id, batch.run_id, verdicts)
        counts.update(v.verdict for v in verdicts)
        echo(f"batch {batch_id}: collected {len(verdicts):,} verdicts")
    return counts


def _result_error(result: Any) -> str:
    """`batch result errored: invalid_request_error: …` from a batch result that failed."""
    text = f"batch result {result.type}"
    error = getattr(getattr(result, "error", None), "error", None)
    if error is not None:
        text += f": {getattr(error, 'type', '')}: {getattr(error, 'message', '')}"
    return text[:500]


async def _anthropic_submit(
    store: Store, judge: LLMJudge, client: Any, options: PassOptions, run_id: str, echo: Echo
) -> int:
    submitted = 0
    backend = judge.backend
    for chunk in _chunks(_pending_work(store, judge, options), BATCH_SIZE):
        requests = [
            {
                "custom_id": custom_id(item),
                "params": {
                    "model": backend.model,
                    **messages_body(
                        judge.prompt(item),
                        judge.max_tokens,
                        getattr(backend, "cache_min_tokens", 1024),
                        getattr(backend, "thinking", None),
                    ),
                },
            }
            for item in chunk
        ]
        created = await _anthropic(
            f"submitting a batch of {len(requests):,} requests",
            partial(client.messages.batches.create, requests=requests),
            judge.retry,
        )
        save_batch(
            store,
            BatchRecord(
                created.id,
                "anthropic",
                judge.key.judge,
                judge.key.model,
                judge.key.prompt_hash,
                run_id,
                created.processing_status,
                {"requests": len(requests)},
            ),
            [(custom_id(i), i.uid, i.record_hash) for i in chunk],
        )
        submitted += len(chunk)
        echo(f"submitted batch {created.id} with {len(chunk):,} records")
    return submitted


async def _run_anthropic(
    store: Store, judge: LLMJudge, options: PassOptions, echo: Echo, wait: float | None
) -> dict[str, Any]:
    client = judge.backend.client  # type: ignore[attr-defined]
    run_id = uuid.uuid4().hex[:12]
    try:
        collected = await _anthropic_collect(store, judge, client, echo, None)
        submitted = await _anthropic_submit(store, judge, client, options, run_id, echo)
        if wait and submitted:
            collected += await _anthropic_collect(store, judge, client, echo, wait)
    finally:
        await judge.aclose()
    return {"submitted": submitted, "collected": dict(collected)}


# -- Bedrock batch inference ----------------------------------------------------------------


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise CuratorError(f"{uri}: expected s3://bucket/prefix")
    bucket, prefix = uri[5:].split("/", 1)
    return bucket, prefix.rstrip("/")


#: Job states after which a Bedrock batch job's output (if any) is final.
_BEDROCK_ENDED = ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")


def _bedrock_chunks(work: list[WorkItem]) -> list[list[WorkItem]]:
    """Jobs of at most BATCH_SIZE records, none under the service minimum: 10,050 records
    become 5,025 + 5,025, never 10,000 + 50 (a job of 50 would be refused)."""
    jobs = -(-len(work) // BATCH_SIZE)
    size = -(-len(work) // jobs) if jobs else 0
    return [work[i : i + size] for i in range(0, len(work), size)] if size else []


async def _run_bedrock(
    store: Store,
    judge: LLMJudge,
    options: PassOptions,
    judge_config: JudgeConfig,
    echo: Echo,
    wait: float | None,
) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    # CURATOR_BATCH_S3 / CURATOR_BATCH_ROLE_ARN are applied over the file by settings.load().
    s3_uri = judge_config.batch_s3 or ""
    role_arn = judge_config.batch_role_arn or ""
    region = judge.backend.client.meta.region_name  # type: ignore[attr-defined]
    # Retries off in botocore: the one retry loop is ours (see `_control`).
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    bedrock = boto3.client("bedrock", region_name=region, config=config)
    s3 = boto3.client("s3", region_name=region, config=config)
    retry = judge.retry
    run_id = uuid.uuid4().hex[:12]
    counts: Counter[str] = Counter()

    async def job_status(arn: str) -> dict[str, Any]:
        job: dict[str, Any] = await _aws(
            f"job {arn}: status",
            lambda: bedrock.get_model_invocation_job(jobIdentifier=arn),
            retry,
        )
        return job

    async def job_verdicts(batch: BatchRecord, job: dict[str, Any]) -> list[NewVerdict]:
        status = job["status"]
        items = batch_items(store, batch.batch_id)
        verdicts: list[NewVerdict] = []
        if status in ("Completed", "PartiallyCompleted"):
            out_bucket, out_prefix = _split_s3(batch.details["output_s3"])
            job_id = batch.batch_id.rsplit("/", 1)[-1]
            key = f"{out_prefix}/{job_id}/{batch.details['input_name']}.out"

            def read() -> str:
                body = s3.get_object(Bucket=out_bucket, Key=key)["Body"].read()
                return str(body.decode("utf-8"))

            text = await _aws(f"job {batch.batch_id}: s3://{out_bucket}/{key}", read, retry)
            for line in text.splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                found = items.pop(row.get("recordId", ""), None)
                if found is None:
                    continue
                output = row.get("modelOutput")
                if output:
                    verdicts.append(
                        _verdict(found[0], found[1], judge, completion_from_message(output))
                    )
                else:
                    # A per-record error line: keep the good records, retry this one next pass.
                    error = json.dumps(row.get("error", "no output"))[:300]
                    verdicts.append(NewVerdict(found[0], found[1], "error", error=error))
        reason = f"job {status}" + (f": {job['message']}"[:300] if job.get("message") else "")
        for uid, record_hash in items.values():
            verdicts.append(NewVerdict(uid, record_hash, "error", error=reason))
        return verdicts

    async def collect(wait_for: float | None) -> None:
        for batch in open_batches(store, "bedrock", judge.key):
            job = await job_status(batch.batch_id)
            deadline = time.monotonic() + (wait_for or 0)
            while job["status"] not in _BEDROCK_ENDED and time.monotonic() < deadline:
                await asyncio.sleep(min(30.0, max(0.05, (wait_for or 0) / 10)))
                job = await job_status(batch.batch_id)
            status = job["status"]
            if status not in _BEDROCK_ENDED:
                set_batch_status(store, batch.batch_id, status)
                echo(f"job {batch.batch_id}: {status}; run again to collect")
                counts["waiting"] += 1
                continue
            verdicts = await job_verdicts(batch, job)
            collect_batch(store, judge.key, batch.batch_id, batch.run_id, verdicts)
            counts.update(v.verdict for v in verdicts)
            echo(f"job {batch.batch_id}: {status}, collected {len(verdicts):,} verdicts")

    await collect(None)
    submitted = 0
    work = list(_pending_work(store, judge, options))
    if work and (not s3_uri or not role_arn):
        raise CuratorError(
            'Bedrock batch inference needs [judge] batch_s3 = "s3://bucket/prefix" and '
            "batch_role_arn in the config (or CURATOR_BATCH_S3 / CURATOR_BATCH_ROLE_ARN)"
        )
    if 0 < len(work) < BEDROCK_MIN_RECORDS:
        problem = (
            f"{len(work)} records need a verdict, but a Bedrock batch job needs at least "
            f"{BEDROCK_MIN_RECORDS}; judge them live (without --batch)"
        )
        if not counts:
            raise BadInput("--batch", "", problem)
        # This run collected (or found running) jobs: report that, and say why nothing new went.
        echo(f"note: {problem}")
        return {"submitted": 0, "collected": dict(counts), "not_submitted": len(work)}
    bucket, prefix = _split_s3(s3_uri) if work else ("", "")
    for number, chunk in enumerate(_bedrock_chunks(work)):
        name = f"curator-{run_id}-{number:03d}"
        input_name = f"{name}.jsonl"
        lines = [
            json.dumps(
                {
                    "recordId": custom_id(item),
                    "modelInput": {
                        "anthropic_version": "bedrock-2023-05-31",
                        **messages_body(
                            judge.prompt(item),
                            judge.max_tokens,
                            getattr(judge.backend, "cache_min_tokens", 1024),
                            getattr(judge.backend, "thinking", None),
                        ),
                    },
                }
            )
            for item in chunk
        ]
        input_key = f"{prefix}/input/{input_name}"
        payload = ("\n".join(lines) + "\n").encode()
        await _aws(
            f"s3://{bucket}/{input_key}",
            partial(s3.put_object, Bucket=bucket, Key=input_key, Body=payload),
            retry,
        )
        request = {
            "jobName": name,
            "roleArn": role_arn,
            "modelId": judge.key.model,
            # The same token on every attempt: a retried create never starts a second job.
            "clientRequestToken": uuid.uuid4().hex,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/{input_key}"}},
            "outputDataConfig": {
                "s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/{prefix}/output/"}
            },
        }
        job = await _aws(
            f"creating job {name}",
            partial(bedrock.create_model_invocation_job, **request),
            retry,
        )
        save_batch(
            store,
            BatchRecord(
                job["jobArn"],
                "bedrock",
                judge.key.judge,
                judge.key.model,
                judge.key.prompt_hash,
                run_id,
                "Submitted",
                {"output_s3": f"s3://{bucket}/{prefix}/output", "input_name": input_name},
            ),
            [(custom_id(i), i.uid, i.record_hash) for i in chunk],
        )
        submitted += len(chunk)
        echo(f"submitted job {job['jobArn']} with {len(chunk):,} records")
    if wait and submitted:
        await collect(wait)
    return {"submitted": submitted, "collected": dict(counts)}


def run_batch(
    store: Store,
    judge: Judge,
    options: PassOptions,
    *,
    judge_config: JudgeConfig,
    echo: Echo,
    wait: float | None = None,
) -> dict[str, Any]:
    """Collect finished batches, then submit what still needs a verdict. Returns counts."""
    if not isinstance(judge, LLMJudge):
        raise CuratorError("--batch needs --judge anthropic or --judge bedrock")
    if judge.key.judge == "anthropic":
        return asyncio.run(_run_anthropic(store, judge, options, echo, wait))
    return asyncio.run(_run_bedrock(store, judge, options, judge_config, echo, wait))
