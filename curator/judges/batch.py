"""Batch judging: Anthropic Message Batches and Bedrock batch inference, at any size.

One command does both halves of a batch pass. It first settles every chunk this judge recorded
but may not have submitted (a run killed at the wrong moment), then collects every submitted
batch that has ended, in whatever order they end, then cuts the records that still need a
verdict into as many provider-sized chunks as the limits need (`batch_chunks.py`) and submits
them one by one, streaming each request body from a file.

Nothing is paid for twice, wherever a run is killed:

- a chunk's intent (its key, its body file, and the record version each custom id stands for)
  is committed to the store *before* anything is sent; the provider's id is recorded after;
- the next run finds a chunk whose intent has no provider id yet: Bedrock jobs carry the
  intent's `clientRequestToken` and a name made from its key, so creating again returns the
  same job (or listing by name finds it); Anthropic batch creation has no idempotency token, so
  the run lists the account's batches created since the intent and adopts the one with the
  chunk's request count whose results carry the chunk's custom-id prefix; only when none exists
  is the same body submitted again;
- a batch's verdicts are stored, and the batch marked collected, in one transaction.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii as encode_string
from pathlib import Path
from typing import Any, Protocol, TypeVar

from curator.aws_ids import check_role_arn
from curator.domain import BadInput, BadOption, CuratorError, NewVerdict, WorkItem
from curator.judges.batch_chunks import (
    ANTHROPIC_FRAMING,
    JSONL_FRAMING,
    Chunk,
    ChunkLimits,
    Framing,
    anthropic_limits,
    bedrock_limits,
    even_target,
    memory_limit_mb,
    spool_chunks,
)
from curator.judges.batch_work import BatchRow, RowLines, batch_rows
from curator.judges.reply import parse_judgement
from curator.llm.backends import (
    CHARS_PER_TOKEN,
    Completion,
    anthropic_call,
    boto_call,
    completion_from_message,
    estimate_tokens,
    messages_body,
)
from curator.llm.passes import (
    AttemptsExhausted,
    LLMJudge,
    PassOptions,
    RetryPolicy,
    call_with_retries,
)
from curator.prompts import JudgePrompt
from curator.settings import JudgeConfig
from curator.stand_ins import cut_at
from curator.store.db import Store
from curator.store.verdicts import (
    BatchRecord,
    batch_items,
    collect_batch,
    count_batch_work,
    drop_batch,
    intent_bodies,
    known_provider_ids,
    open_batches,
    pending_in_batches,
    save_batch,
    set_batch_status,
    update_batch,
)
from curator.wording import counted

Echo = Callable[[str], None]
#: Called with the name of each durable step a run passes ("intent-recorded", "submitted",
#: "results-read"); tests raise from it to stop a run exactly there, as a kill would.
StageHook = Callable[[str], None]
T = TypeVar("T")

#: Records read from the store per page while chunks are being written.
PAGE_SIZE = 20_000
#: An Anthropic batch created this long before its intent was recorded is not ours (clock skew).
CLOCK_SLACK = timedelta(minutes=10)


class ServiceError(CuratorError):
    """A batch control call kept failing (service down, throttled, network gone)."""

    exit_code = 3


async def _control(what: str, call: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """One batch control call through the pass runner's retry loop (the only one): 429 with
    retry-after, 529, 5xx, throttling and lost connections back off and retry."""
    try:
        result, _ = await call_with_retries(call, policy)
    except AttemptsExhausted as exc:
        tries = counted(exc.attempts, "attempt")
        raise ServiceError(f"{what}: failed after {tries}: {exc.last}") from exc
    return result


def _aws(what: str, call: Callable[[], T], policy: RetryPolicy) -> Awaitable[T]:
    """A boto3 call (blocking) in a worker thread, through `_control`."""
    return _control(what, lambda: asyncio.to_thread(boto_call, call), policy)


def _verdict(uid: str, record_hash: str, judge: LLMJudge, completion: Completion) -> NewVerdict:
    parsed = parse_judgement(completion.text, completion.stop_reason)
    # Batches cost half the live price on both platforms.
    cost = 0.5 * judge.cost(
        completion.input_tokens,
        completion.output_tokens,
        completion.cache_write_tokens,
        completion.cache_read_tokens,
    )
    return NewVerdict(
        record_uid=uid,
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


def provider_id(batch: BatchRecord) -> str:
    """The provider's batch id / job ARN (stores before chunked batches used it as our id)."""
    return str(batch.details.get("provider_id") or batch.batch_id)


#: One result line: its custom id, and the model's reply or why there is none.
Outcome = tuple[str, Completion | str]


class Provider(Protocol):
    """What the engine needs of a batch service."""

    name: str
    limits: ChunkLimits
    framing: Framing
    #: The request lines (`line` is `lines`); a batch pass writes them from rows (`RowLines`).
    lines: RequestLines

    def line(self, cid: str, item: WorkItem) -> bytes:
        """One request, as it goes into the body."""
        ...

    def intent_details(self, key: str) -> dict[str, Any]:
        """What a resumed run needs to submit or find this chunk again (names, tokens)."""
        ...

    async def find(self, batch: BatchRecord) -> tuple[str, str] | None:
        """(id, status) of the batch this intent already created, if the service has one."""
        ...

    async def submit(self, batch: BatchRecord, body: Path) -> tuple[str, str]:
        """Send the body; (id, status)."""
        ...

    async def poll(self, batch: BatchRecord) -> tuple[bool, str, dict[str, Any]]:
        """(ended, status, what collecting needs to know)."""
        ...

    async def results(self, batch: BatchRecord, job: dict[str, Any]) -> list[Outcome]: ...

    def missing(self, job: dict[str, Any]) -> str:
        """Why a record of an ended batch has no result line."""
        ...

    async def aclose(self) -> None: ...


class RequestLines:
    """A batch body's request lines: `json.dumps(wrap(custom_id, messages_body(prompt)))`,
    byte for byte, at a fraction of the cost.

    The questions of a context share everything in their request but the custom id and the
    record's text, so the line is serialised once per context with two stand-ins, cut at them,
    and each record's line is that template with its two strings encoded into it (JSON's own
    string encoder). The body still comes from `messages_body` (the one prompt format); a
    context whose template would not cut cleanly, and a record with no text of its own, take
    the plain `json.dumps` path. `plain` is that path, kept for tests to compare against.
    """

    def __init__(
        self, judge: LLMJudge, wrap: Callable[[str, dict[str, Any]], dict[str, Any]], end: bytes
    ) -> None:
        backend = judge.backend
        self._judge = judge
        self._wrap = wrap
        self._end = end.decode()
        self._cache_min = int(getattr(backend, "cache_min_tokens", 1024))
        self._thinking = getattr(backend, "thinking", None)
        # Random, so no record can carry them; a template is used only if each occurs once.
        nonce = uuid.uuid4().hex
        self._cid_mark, self._text_mark = f"\x00cid{nonce}", f"\x00text{nonce}"
        self._context_mark = f"\x00context{nonce}"
        self._frames: dict[Any, tuple[str, str, str, str] | None] = {}
        self._shared: tuple[str, str, tuple[tuple[str, str], ...]] | None = None
        self._template: tuple[str, str, str] | None = None

    def _dumps(self, cid: str, prompt: JudgePrompt) -> str:
        body = messages_body(prompt, self._judge.max_tokens, self._cache_min, self._thinking)
        return json.dumps(self._wrap(cid, body), separators=(",", ":")) + self._end

    def plain(self, cid: str, item: WorkItem) -> bytes:
        return self._dumps(cid, self._judge.prompt(item)).encode()

    def cut(self, prompt: JudgePrompt) -> tuple[str, str, str] | None:
        """The line of `prompt` as the text before the custom id, between it and the record's
        part of the user turn, and after that (None: no clean cut; take the plain path)."""
        frame = self._frame(prompt)
        if frame is None:
            return self._cut(prompt)
        before, between, after, tail = frame
        return before, between + encode_string(prompt.context_part) + after, tail

    def _frame(self, prompt: JudgePrompt) -> tuple[str, str, str, str] | None:
        """What `_cut` gives every context of one shape (its system text, examples, and whether
        its context block is long enough to be cached) around the context's text, which goes
        JSON-encoded between the second and third part: so a context's template costs one
        encoding of its text instead of a request serialised and searched. Made once per shape
        and checked there against `_cut` of the context that first needs it."""
        if not prompt.context_part or not prompt.record_part:
            return None
        cached = estimate_tokens(prompt.system + prompt.context_part) >= self._cache_min
        shape = (prompt.system, prompt.examples, cached)
        if shape in self._frames:
            return self._frames[shape]
        self._frames[shape] = frame = self._make_frame(prompt, cached)
        if frame is not None:
            before, between, after, tail = frame
            made = (before, between + encode_string(prompt.context_part) + after, tail)
            if made != self._cut(prompt):
                self._frames[shape] = frame = None
        return frame

    def _make_frame(self, prompt: JudgePrompt, cached: bool) -> tuple[str, str, str, str] | None:
        # A stand-in context as long as the cache decision needs (never longer than ~4 MB).
        mark = self._context_mark
        if cached:
            need = self._cache_min * CHARS_PER_TOKEN - len(prompt.system) - len(mark) + 8
            if need > 1 << 22:
                return None
            mark += "x" * max(0, int(need))
        stand_in = replace(prompt, context_part=mark, record_part=self._text_mark)
        if (estimate_tokens(prompt.system + mark) >= self._cache_min) != cached:
            return None
        text = self._dumps(self._cid_mark, stand_in)
        return cut_at(
            text,
            (encode_string(self._cid_mark), encode_string(mark), encode_string(self._text_mark)),
        )

    def _cut(self, prompt: JudgePrompt) -> tuple[str, str, str] | None:
        text = self._dumps(self._cid_mark, replace(prompt, record_part=self._text_mark))
        return cut_at(text, (encode_string(self._cid_mark), encode_string(self._text_mark)))

    def __call__(self, cid: str, item: WorkItem) -> bytes:
        prompt = self._judge.prompt(item)
        if not prompt.record_part:
            return self._dumps(cid, prompt).encode()
        shared = (prompt.system, prompt.context_part, prompt.examples)
        if shared != self._shared:
            self._shared, self._template = shared, self._cut(prompt)
        if self._template is None:
            return self._dumps(cid, prompt).encode()
        head, middle, tail = self._template
        return (
            head + encode_string(cid) + middle + encode_string(prompt.record_part) + tail
        ).encode()


# -- Anthropic Message Batches --------------------------------------------------------------


class AnthropicBatches:
    name = "anthropic"
    framing = ANTHROPIC_FRAMING

    def __init__(self, judge: LLMJudge, store: Store, limits: ChunkLimits) -> None:
        self.judge = judge
        self.store = store
        self.limits = limits
        self.client: Any = judge.backend.client  # type: ignore[attr-defined]
        self.retry = judge.retry
        model = judge.backend.model
        self.lines = RequestLines(
            judge, lambda cid, body: {"custom_id": cid, "params": {"model": model, **body}}, b""
        )

    def line(self, cid: str, item: WorkItem) -> bytes:
        return self.lines(cid, item)

    def intent_details(self, key: str) -> dict[str, Any]:
        return {}

    async def _find_once(self, batch: BatchRecord) -> tuple[str, str] | None:
        since = datetime.fromisoformat(batch.details["created"]) - CLOCK_SLACK
        known = known_provider_ids(self.store, self.name)
        candidates: list[Any] = []
        async for found in self.client.messages.batches.list(limit=100):
            created = found.created_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            if created < since:
                break  # newest first: everything further is older
            counts = found.request_counts
            total = (
                counts.processing
                + counts.succeeded
                + counts.errored
                + counts.canceled
                + counts.expired
            )
            if found.id not in known and total == batch.details["records"]:
                candidates.append(found)
        prefix = f"{batch.batch_id}n"
        for found in sorted(candidates, key=lambda b: b.created_at):
            if found.processing_status == "ended":
                first = await self._first_custom_id(found.id)
                if first is not None and not first.startswith(prefix):
                    continue  # someone else's batch of the same size
            return found.id, found.processing_status
        return None

    async def _first_custom_id(self, batch_id: str) -> str | None:
        async with self.client.messages.batches.with_streaming_response.results(batch_id) as r:
            async for text in r.iter_lines():
                if text.strip():
                    return str(json.loads(text).get("custom_id", ""))
        return None

    async def find(self, batch: BatchRecord) -> tuple[str, str] | None:
        return await _control(
            f"batch {batch.batch_id}: looking for it at the service",
            lambda: anthropic_call(lambda: self._find_once(batch)),
            self.retry,
        )

    async def submit(self, batch: BatchRecord, body: Path) -> tuple[str, str]:
        from anthropic.types.messages import MessageBatch

        size = body.stat().st_size
        attempts = 0

        async def blocks() -> Any:
            with body.open("rb") as fh:
                while block := fh.read(1 << 20):
                    yield block

        async def once() -> tuple[str, str]:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                # The last attempt may have created the batch before its answer was lost.
                found = await anthropic_call(lambda: self._find_once(batch))
                if found is not None:
                    return found
            created = await anthropic_call(
                lambda: self.client.post(
                    "/v1/messages/batches",
                    cast_to=MessageBatch,
                    content=blocks(),
                    options={
                        "headers": {"content-type": "application/json", "content-length": str(size)}
                    },
                )
            )
            return str(created.id), str(created.processing_status)

        return await _control(
            f"submitting a batch of {batch.details['records']:,} requests", once, self.retry
        )

    async def poll(self, batch: BatchRecord) -> tuple[bool, str, dict[str, Any]]:
        pid = provider_id(batch)
        status = await _control(
            f"batch {pid}: status",
            lambda: anthropic_call(lambda: self.client.messages.batches.retrieve(pid)),
            self.retry,
        )
        if getattr(status, "archived_at", None) is not None:
            # 29 days after creation the results are gone: nothing to read, every record of
            # the batch becomes an `error` verdict, which the next pass retries.
            return True, "archived", {"archived": True}
        return status.processing_status == "ended", str(status.processing_status), {}

    async def results(self, batch: BatchRecord, job: dict[str, Any]) -> list[Outcome]:
        pid = provider_id(batch)
        if job.get("archived"):
            return []

        async def read() -> list[Outcome]:
            # The whole result file in one attempt, parsed line by line as it streams in.
            out: list[Outcome] = []
            async with self.client.messages.batches.with_streaming_response.results(pid) as r:
                async for text in r.iter_lines():
                    if text.strip():
                        entry = json.loads(text)
                        out.append((str(entry.get("custom_id", "")), _anthropic_outcome(entry)))
            return out

        return await _control(f"batch {pid}: results", lambda: anthropic_call(read), self.retry)

    def missing(self, job: dict[str, Any]) -> str:
        if job.get("archived"):
            return "batch archived by the service before its results were collected"
        return "missing from batch"

    async def aclose(self) -> None:
        await self.judge.aclose()


def _anthropic_outcome(entry: dict[str, Any]) -> Completion | str:
    result = entry.get("result") or {}
    if result.get("type") == "succeeded":
        return completion_from_message(result.get("message") or {})
    # errored, canceled or expired: an error verdict, which the next pass retries.
    text = f"batch result {result.get('type', 'unknown')}"
    error = (result.get("error") or {}).get("error")
    if isinstance(error, dict):
        text += f": {error.get('type', '')}: {error.get('message', '')}"
    return text[:500]


# -- Bedrock batch inference ----------------------------------------------------------------


#: Where `batch_s3` comes from, as an error names it (the environment overrides the file).
BATCH_S3_SETTING = "[judge] batch_s3 (or CURATOR_BATCH_S3)"
BATCH_ROLE_SETTING = "[judge] batch_role_arn (or CURATOR_BATCH_ROLE_ARN)"


def _split_s3(uri: str) -> tuple[str, str]:
    """Bucket and prefix of `batch_s3` (or of a location built from it); anything that is not
    s3://bucket/prefix is bad input (exit 2) naming the setting."""
    bucket, slash, prefix = uri[5:].partition("/")
    if not uri.startswith("s3://") or not bucket or not slash:
        raise BadInput(BATCH_S3_SETTING, "", f"{uri[:200]!r}: expected s3://bucket/prefix")
    return bucket, prefix.rstrip("/")


def _s3_join(bucket: str, *parts: str) -> str:
    """s3://bucket/a/b: an empty prefix (`s3://bucket/`) adds no empty segment (a key that
    starts with '/', which the S3 console shows as a folder named '')."""
    return f"s3://{bucket}/" + "/".join(p.strip("/") for p in parts if p.strip("/"))


#: Job states after which a Bedrock batch job's output (if any) is final.
_BEDROCK_ENDED = ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")


class BedrockJobs:
    name = "bedrock"
    framing = JSONL_FRAMING

    def __init__(self, judge: LLMJudge, limits: ChunkLimits, s3_uri: str, role_arn: str) -> None:
        import boto3
        from botocore.config import Config

        self.judge = judge
        self.limits = limits
        self.s3_uri = s3_uri
        self.role_arn = role_arn
        region = judge.backend.client.meta.region_name  # type: ignore[attr-defined]
        # Retries off in botocore: the one retry loop is ours (see `_control`).
        config = Config(retries={"max_attempts": 1, "mode": "standard"})
        self.bedrock: Any = boto3.client("bedrock", region_name=region, config=config)
        self.s3: Any = boto3.client("s3", region_name=region, config=config)
        self.retry = judge.retry
        self.lines = RequestLines(
            judge,
            lambda cid, body: {
                "recordId": cid,
                "modelInput": {"anthropic_version": "bedrock-2023-05-31", **body},
            },
            b"\n",
        )

    def line(self, cid: str, item: WorkItem) -> bytes:
        return self.lines(cid, item)

    def intent_details(self, key: str) -> dict[str, Any]:
        bucket, prefix = _split_s3(self.s3_uri)
        name = f"curator-{key}"
        return {
            "job_name": name,
            # The same token on every attempt and every resumed run: creating again returns
            # the job the first create started, never a second one.
            "token": uuid.uuid4().hex,
            "input_s3": _s3_join(bucket, prefix, "input", f"{name}.jsonl"),
            "input_name": f"{name}.jsonl",
            "output_s3": _s3_join(bucket, prefix, "output"),
        }

    async def find(self, batch: BatchRecord) -> tuple[str, str] | None:
        name = batch.details["job_name"]
        listed = await _aws(
            f"job {name}: looking for it at the service",
            lambda: self.bedrock.list_model_invocation_jobs(nameContains=name),
            self.retry,
        )
        for job in listed.get("invocationJobSummaries", []):
            if job.get("jobName") == name:
                return str(job["jobArn"]), str(job.get("status", "Submitted"))
        return None

    async def submit(self, batch: BatchRecord, body: Path) -> tuple[str, str]:
        details = batch.details
        bucket, key = details["input_s3"][5:].split("/", 1)

        def upload() -> Any:
            with body.open("rb") as fh:  # streamed from the file, never read whole
                return self.s3.put_object(Bucket=bucket, Key=key, Body=fh)

        await _aws(f"s3://{bucket}/{key}", upload, self.retry)
        request = {
            "jobName": details["job_name"],
            "roleArn": self.role_arn,
            "modelId": self.judge.key.model,
            "clientRequestToken": details["token"],
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": details["input_s3"]}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": details["output_s3"] + "/"}},
        }
        job = await _aws(
            f"creating job {details['job_name']}",
            lambda: self.bedrock.create_model_invocation_job(**request),
            self.retry,
        )
        return str(job["jobArn"]), "Submitted"

    async def poll(self, batch: BatchRecord) -> tuple[bool, str, dict[str, Any]]:
        arn = provider_id(batch)
        job: dict[str, Any] = await _aws(
            f"job {arn}: status",
            lambda: self.bedrock.get_model_invocation_job(jobIdentifier=arn),
            self.retry,
        )
        return job["status"] in _BEDROCK_ENDED, str(job["status"]), job

    async def results(self, batch: BatchRecord, job: dict[str, Any]) -> list[Outcome]:
        if job["status"] not in ("Completed", "PartiallyCompleted"):
            return []
        out_bucket, out_prefix = _split_s3(batch.details["output_s3"])
        job_id = provider_id(batch).rsplit("/", 1)[-1]
        key = f"{out_prefix}/{job_id}/{batch.details['input_name']}.out"

        def read() -> list[Outcome]:
            out: list[Outcome] = []
            body = self.s3.get_object(Bucket=out_bucket, Key=key)["Body"]
            for raw in body.iter_lines():  # streamed, line by line
                if not raw.strip():
                    continue
                row = json.loads(raw)
                output = row.get("modelOutput")
                if output:
                    out.append((str(row.get("recordId", "")), completion_from_message(output)))
                else:
                    # A per-record error line: keep the good records, retry this one next pass.
                    out.append(
                        (
                            str(row.get("recordId", "")),
                            json.dumps(row.get("error", "no output"))[:300],
                        )
                    )
            return out

        return await _aws(f"job {job_id}: s3://{out_bucket}/{key}", read, self.retry)

    def missing(self, job: dict[str, Any]) -> str:
        status = job.get("status", "")
        return f"job {status}" + (f": {job['message']}"[:300] if job.get("message") else "")

    async def aclose(self) -> None:
        await self.judge.aclose()


# -- the engine -----------------------------------------------------------------------------


#: A spooled body this old that no recorded chunk names was left by a killed run.
ORPHAN_BODY_SECONDS = 600.0


def spool_folder(store: Store) -> Path:
    """Where chunk bodies wait between being written and being accepted (beside the store)."""
    return store.path.with_name(store.path.name + ".batches")


class BatchEngine:
    """Settle intents, collect ended batches, submit the rest in provider-sized chunks."""

    def __init__(
        self,
        provider: Provider,
        store: Store,
        judge: LLMJudge,
        options: PassOptions,
        echo: Echo,
        on_stage: StageHook | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.judge = judge
        self.options = options
        self.echo = echo
        self.stage = on_stage or (lambda _name: None)
        self.run_id = uuid.uuid4().hex[:12]
        self.folder = spool_folder(store)
        self.counts: Counter[str] = Counter()
        #: Records of chunks an earlier, killed run recorded, submitted (or found) by this one.
        self.resumed = 0
        #: Time spent reading work and writing request bodies (not sending them).
        self.prepare_seconds = 0.0

    def remove_orphan_bodies(self) -> None:
        """Delete request bodies a killed run spooled but never recorded (it died between
        writing a chunk and committing its intent): no run would ever send them, and at scale
        each is up to a provider's batch size (256 MB). A body younger than
        `ORPHAN_BODY_SECONDS` may be another run's, about to be recorded, and is kept."""
        if not self.folder.is_dir():
            return
        needed = intent_bodies(self.store)
        removed = size = 0
        now = time.time()
        for body in self.folder.glob("*.body"):
            try:
                stat = body.stat()
                if body.name in needed or now - stat.st_mtime < ORPHAN_BODY_SECONDS:
                    continue
                body.unlink()
            except OSError:
                continue
            removed += 1
            size += stat.st_size
        if removed:
            self.echo(
                f"removed {counted(removed, 'request body', 'request bodies')} a killed run "
                f"left unsent ({size / 1e6:,.1f} MB)"
            )

    def _open(self) -> list[BatchRecord]:
        return open_batches(self.store, self.provider.name, self.judge.key)

    async def settle_intents(self) -> None:
        """Chunks recorded but maybe never sent: find what the service has, else send them."""
        for batch in self._open():
            if batch.status != "intent":
                continue
            found = await self.provider.find(batch)
            body = self.folder / batch.details["body"]
            if found is None and not body.exists():
                drop_batch(self.store, batch.batch_id)
                self.echo(f"chunk {batch.batch_id}: never submitted and its body is gone; dropped")
                continue
            if found is None:
                found = await self._send(batch, body)
                self.stage("submitted")
            self._submitted(batch, *found)
            self.resumed += int(batch.details["records"])
            self.echo(f"chunk {batch.batch_id}: submitted as {found[0]} (resumed)")

    async def _send(self, batch: BatchRecord, body: Path) -> tuple[str, str]:
        """Submit a recorded chunk. One the service refused outright (too big, invalid) was
        never created: it is forgotten, so its records are not left waiting on nothing."""
        try:
            return await self.provider.submit(batch, body)
        except ServiceError as exc:
            cause = exc.__cause__
            if isinstance(cause, AttemptsExhausted) and not cause.last.retryable:
                drop_batch(self.store, batch.batch_id)
                body.unlink(missing_ok=True)
            raise

    def _submitted(self, batch: BatchRecord, pid: str, status: str) -> None:
        update_batch(self.store, batch.batch_id, status, {**batch.details, "provider_id": pid})
        (self.folder / batch.details["body"]).unlink(missing_ok=True)

    async def collect(self, wait: float | None, *, report: bool = True) -> None:
        """Collect every ended batch, in the order they end; poll the rest until `wait` ends.
        With `report` False, batches still running are left for a later, waiting collect
        (not said to wait for the next run, nor counted)."""
        deadline = time.monotonic() + (wait or 0)
        waiting = [b for b in self._open() if b.status != "intent"]
        while waiting:
            still: list[tuple[BatchRecord, str]] = []
            for batch in waiting:
                ended, status, job = await self.provider.poll(batch)
                if ended:
                    await self._collect_one(batch, status, job)
                else:
                    still.append((batch, status))
            if not still or time.monotonic() >= deadline:
                for batch, status in still:
                    if status != batch.status:
                        set_batch_status(self.store, batch.batch_id, status)
                    if not report:
                        continue
                    self.echo(f"batch {provider_id(batch)}: {status}; run again to collect")
                    self.counts["waiting"] += 1
                return
            waiting = [b for b, _ in still]
            await asyncio.sleep(min(30.0, max(0.05, (wait or 0) / 10)))

    async def _collect_one(self, batch: BatchRecord, status: str, job: dict[str, Any]) -> None:
        lines = await self.provider.results(batch, job)
        items = batch_items(self.store, batch.batch_id)
        verdicts: list[NewVerdict] = []
        for cid, outcome in lines:
            found = items.pop(cid, None)
            if found is None:
                continue  # not ours, or a line repeated
            uid, record_hash = found
            if isinstance(outcome, str):
                verdicts.append(NewVerdict(uid, record_hash, "error", error=outcome))
            else:
                verdicts.append(_verdict(uid, record_hash, self.judge, outcome))
        missing = self.provider.missing(job)
        verdicts.extend(
            NewVerdict(uid, record_hash, "error", error=missing)
            for uid, record_hash in items.values()
        )
        self.stage("results-read")
        collect_batch(self.store, self.judge.key, batch.batch_id, batch.run_id, verdicts)
        self.counts.update(v.verdict for v in verdicts)
        self.echo(
            f"batch {provider_id(batch)}: {status}, collected {counted(len(verdicts), 'verdict')}"
        )

    def _work(self, skip: set[str]) -> Generator[BatchRow, None, None]:
        """The records to submit, in store order, read in large windows (`batch_work`)."""
        options = self.options
        return batch_rows(
            self.store,
            self.judge.key,
            options.filt,
            rejudge=options.rejudge,
            limit=options.limit,
            skip=skip,
        )

    def pending_total(self) -> int:
        """Records that still need submitting (for even chunk sizes and the minimum check)."""
        total = count_batch_work(
            self.store,
            self.provider.name,
            self.judge.key,
            self.options.filt,
            rejudge=self.options.rejudge,
        )
        return total if self.options.limit is None else min(total, self.options.limit)

    async def submit(self, total: int, skip: set[str]) -> tuple[int, int]:
        """Submit every record still needing a verdict; (submitted, left for later)."""
        limits = self.provider.limits
        work = self._work(skip)
        chunks = spool_chunks(
            work,
            RowLines(self.provider.lines, self.judge),
            self.folder,
            limits,
            self.provider.framing,
            target=even_target(total, limits),
        )
        try:
            return await self._submit_chunks(chunks)
        finally:
            # Now, not when the traceback lets go: no page read outlives the run, killed or not.
            chunks.close()
            work.close()

    async def _submit_chunks(self, chunks: Iterator[Chunk]) -> tuple[int, int]:
        limits = self.provider.limits
        submitted = 0
        while True:
            started = time.perf_counter()
            chunk = next(chunks, None)
            self.prepare_seconds += time.perf_counter() - started
            if chunk is None:
                break
            n = len(chunk.items)
            if n < limits.min_records:
                # Only a last chunk cut short by the byte limit can be this small.
                chunk.path.unlink(missing_ok=True)
                self.echo(
                    f"note: {n} records left for a later pass: a job needs at least "
                    f"{limits.min_records}"
                )
                return submitted, n
            batch = BatchRecord(
                chunk.key,
                self.provider.name,
                self.judge.key.judge,
                self.judge.key.model,
                self.judge.key.prompt_hash,
                self.run_id,
                "intent",
                {
                    "body": chunk.path.name,
                    "records": n,
                    "bytes": chunk.size,
                    "created": datetime.now(UTC).isoformat(),
                    **self.provider.intent_details(chunk.key),
                },
            )
            save_batch(self.store, batch, chunk.items)
            self.stage("intent-recorded")
            pid, status = await self._send(batch, chunk.path)
            self.stage("submitted")
            self._submitted(batch, pid, status)
            submitted += n
            self.echo(
                f"submitted batch {pid} with {counted(n, 'record')} ({counted(chunk.size, 'byte')})"
            )
        return submitted, 0


async def _run(
    engine: BatchEngine, wait: float | None, check_minimum: bool, needs_config: Callable[[], None]
) -> dict[str, Any]:
    try:
        engine.remove_orphan_bodies()
        await engine.settle_intents()
        # With --wait, batches an earlier run submitted are waited for too (below), with this
        # run's: only the ended ones are collected now.
        await engine.collect(None, report=not wait)
        skip = pending_in_batches(engine.store, engine.provider.name, engine.judge.key)
        total = engine.pending_total()
        minimum = engine.provider.limits.min_records
        summary: dict[str, Any] = {}
        if total:
            needs_config()
        if check_minimum and 0 < total < minimum:
            problem = (
                f"{counted(total, 'record')} {'needs' if total == 1 else 'need'} a verdict, but a "
                f"Bedrock batch job needs at least "
                f"{minimum}; judge them live (without --batch)"
            )
            if wait:
                await engine.collect(wait)
            if not engine.counts and not engine.resumed:
                raise BadInput("--batch", "", problem)
            # This run collected, resumed or found running jobs: report that, say why no more.
            engine.echo(f"note: {problem}")
            return {
                "submitted": engine.resumed,
                "collected": dict(engine.counts),
                "not_submitted": total,
            }
        submitted, left = await engine.submit(total, skip) if total else (0, 0)
        submitted += engine.resumed
        if left:
            summary["not_submitted"] = left
        if submitted > engine.resumed:
            # How fast requests were prepared (read, built, spooled), apart from sending them.
            summary["prepared_per_second"] = round(
                (submitted - engine.resumed) / max(engine.prepare_seconds, 1e-9)
            )
        if wait:
            await engine.collect(wait)
    finally:
        await engine.provider.aclose()
    return {"submitted": submitted, "collected": dict(engine.counts), **summary}


def run_batch(
    store: Store,
    judge: Any,
    options: PassOptions,
    *,
    judge_config: JudgeConfig,
    echo: Echo,
    wait: float | None = None,
    on_stage: StageHook | None = None,
) -> dict[str, Any]:
    """Settle, collect, then submit what still needs a verdict. Returns counts.

    DuckDB's memory is capped for the pass (`[judge] batch_memory_limit_mb`), then restored."""
    if not isinstance(judge, LLMJudge):
        raise BadOption("--batch needs --judge anthropic or --judge bedrock")
    settings = store.duckdb_settings
    before = dict(settings)
    settings["memory_limit"] = f"{memory_limit_mb(judge_config)}MB"
    try:
        return _run_batch(store, judge, options, judge_config, echo, wait, on_stage)
    finally:
        settings.clear()
        settings.update(before)


def _run_batch(
    store: Store,
    judge: LLMJudge,
    options: PassOptions,
    judge_config: JudgeConfig,
    echo: Echo,
    wait: float | None,
    on_stage: StageHook | None,
) -> dict[str, Any]:
    if judge.key.judge == "anthropic":
        provider: Provider = AnthropicBatches(judge, store, anthropic_limits(judge_config))
        engine = BatchEngine(provider, store, judge, options, echo, on_stage)
        return asyncio.run(_run(engine, wait, False, lambda: None))
    # CURATOR_BATCH_S3 / CURATOR_BATCH_ROLE_ARN are applied over the file by settings.load().
    s3_uri = judge_config.batch_s3 or ""
    role_arn = judge_config.batch_role_arn or ""
    if s3_uri:
        _split_s3(s3_uri)  # a malformed setting is refused before anything is done
    if role_arn:
        check_role_arn(role_arn, BATCH_ROLE_SETTING)

    def needs_config() -> None:
        if not s3_uri or not role_arn:
            raise BadOption(
                'Bedrock batch inference needs [judge] batch_s3 = "s3://bucket/prefix" and '
                "batch_role_arn in the config (or CURATOR_BATCH_S3 / CURATOR_BATCH_ROLE_ARN)"
            )

    provider = BedrockJobs(
        judge, bedrock_limits(judge_config), s3_uri or "s3://unset/unset", role_arn
    )
    engine = BatchEngine(provider, store, judge, options, echo, on_stage)
    return asyncio.run(_run(engine, wait, True, needs_config))
